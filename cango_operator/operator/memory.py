"""What the operator wrote, remembered until its own watch shows it.

kopf's indexes lag the API server by one watch event. Without this memory, a round that
starts right after another would see the old status of a job it just placed, plan it
again, and write (or move) it twice. Each entry remembers the object's resourceVersion
*before* our write: while the index still shows that version, our write is the truth;
once the index shows any other version, the watch has caught up (events of one object
arrive in order) and the entry is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

#: A write the watch has not shown after this many seconds is forgotten: by then the
#: object is gone, or something is wrong enough that writing again is the right thing.
MAX_AGE_SECONDS = 120.0


@dataclass(frozen=True)
class _Written:
    before: str
    fingerprint: str
    value: Any
    at: float


class WriteMemory:
    """Per-object memory of the last write: ``(kind, key) -> what was written``."""

    def __init__(self, max_age: float = MAX_AGE_SECONDS) -> None:
        self._entries: dict[Hashable, _Written] = {}
        self._max_age = max_age

    def recall(self, key: Hashable, indexed_version: str) -> Any | None:
        """What we wrote, if the index has not caught up with it yet; else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.before != indexed_version:
            del self._entries[key]
            return None
        return entry.value

    def already_written(self, key: Hashable, indexed_version: str, fingerprint: str) -> bool:
        """Whether exactly this was written and the index has not caught up yet."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        if entry.before != indexed_version:
            del self._entries[key]
            return False
        return entry.fingerprint == fingerprint

    def remember(self, key: Hashable, indexed_version: str, fingerprint: str, value: Any) -> None:
        self._entries[key] = _Written(indexed_version, fingerprint, value, time.monotonic())

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def expire(self, now: float) -> None:
        """Forget writes older than the maximum age (``now`` from ``time.monotonic()``)."""
        for key in [k for k, e in self._entries.items() if now - e.at > self._max_age]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
