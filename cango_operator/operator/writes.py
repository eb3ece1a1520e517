"""A status or Node write the round wants to make, and how to tell it would change nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Write:
    """Merge-patch ``body`` into the status of ``kind``/``name`` (into the Node itself for
    kind ``Node``). ``version`` is the resourceVersion the decision was made from."""

    kind: str
    name: str
    namespace: str | None
    version: str
    body: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)


def differs(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether merge-patching ``desired`` into ``current`` would change anything.

    Nested mappings merge (only the keys we set count); lists and scalars compare whole;
    ``None`` in ``desired`` means "absent", as it does in a merge patch.
    """
    current = current or {}
    for key, want in desired.items():
        have = current.get(key)
        if want is None:
            if have is not None:
                return True
        elif isinstance(want, Mapping):
            if not isinstance(have, Mapping) or differs(want, have):
                return True
        elif want != have:
            return True
    return False
