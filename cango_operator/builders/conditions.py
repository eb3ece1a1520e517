"""Standard conditions (``metav1.Condition``) that keep their transition time.

A condition whose status did not change keeps its ``lastTransitionTime``, so writing the
same observation twice produces the same status and no API write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cango_operator.api import Condition, rfc3339


@dataclass(frozen=True)
class Observation:
    """One condition as observed now, before transition times are settled."""

    type: str
    status: bool | None  # None: Unknown
    reason: str
    message: str = ""
    #: When the observed fact itself last changed, when a source says so (OCM's lease
    #: lapsed at a time of its own); else the transition is dated when first observed.
    since: datetime | None = None


def merge_conditions(
    existing: Sequence[Condition],
    observed: Iterable[Observation],
    *,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The conditions to write: ``observed`` ones in order, then untouched existing ones."""
    before = {c.type: c for c in existing}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for obs in observed:
        seen.add(obs.type)
        status = "Unknown" if obs.status is None else "True" if obs.status else "False"
        old = before.get(obs.type)
        if old is not None and old.status == status:
            since = old.last_transition_time
        else:
            since = obs.since or now
        item: dict[str, Any] = {
            "type": obs.type,
            "status": status,
            "reason": obs.reason,
            "message": obs.message,
            "lastTransitionTime": rfc3339(since),
        }
        if generation is not None:
            item["observedGeneration"] = generation
        out.append(item)
    for cond in existing:
        if cond.type not in seen:
            out.append(cond.model_dump(by_alias=True, exclude_none=True, mode="json"))
    return out
