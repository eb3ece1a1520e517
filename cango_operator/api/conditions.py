"""The one rule for writing standard conditions (``metav1.Condition``).

A writer states what it observes now as :class:`Observation`\\ s; :func:`settle_conditions`
turns them into conditions. A condition whose status did not change keeps its
``lastTransitionTime``, so writing the same observation twice produces the same status
and no API write. :func:`merge_conditions` adds the conditions of other writers, as read.
The operator's builders, the site power model and the node agent all go through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cango_operator.api.enums import ConditionStatus
from cango_operator.api.meta import Condition, parse_rfc3339, rfc3339

#: A condition as the writer holds it: parsed, or as read from the API server.
StoredCondition = Condition | Mapping[str, Any]


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


def condition_status(status: bool | None) -> ConditionStatus:
    """``True``, ``False`` or ``Unknown`` (``None``)."""
    if status is None:
        return ConditionStatus.UNKNOWN
    return ConditionStatus.TRUE if status else ConditionStatus.FALSE


def settle_conditions(
    existing: Iterable[StoredCondition],
    observed: Iterable[Observation],
    *,
    now: datetime,
    generation: int | None = None,
) -> list[Condition]:
    """The ``observed`` conditions, in order; each keeps the ``lastTransitionTime`` of the
    ``existing`` one of its type when their statuses are the same, else it is dated at the
    observation's ``since`` or ``now``. Existing conditions of other types are left out.

    Built as observed, without validation: the API server checks them when written.
    """
    before = _transitions(existing)
    out = []
    for obs in observed:
        status = condition_status(obs.status)
        old = before.get(obs.type)
        since = old[1] if old is not None and old[0] == status.value else obs.since or now
        out.append(
            Condition.model_construct(
                type=obs.type,
                status=status,
                observed_generation=generation,
                last_transition_time=since,
                reason=obs.reason,
                message=obs.message,
            )
        )
    return out


def merge_conditions(
    existing: Iterable[StoredCondition],
    observed: Iterable[Observation],
    *,
    now: datetime,
    generation: int | None = None,
    others_first: bool = False,
) -> list[dict[str, Any]]:
    """The conditions to write: the settled ``observed`` ones in order, then (or, with
    ``others_first``, before them) the existing ones of other types as read."""
    existing = list(existing)
    mine = [
        condition_json(c)
        for c in settle_conditions(existing, observed, now=now, generation=generation)
    ]
    types = {c["type"] for c in mine}
    others = [_as_json(c) for c in existing if _type_of(c) not in types]
    return others + mine if others_first else mine + others


def condition_json(condition: Condition) -> dict[str, Any]:
    """A condition as written into a status; its time as :func:`rfc3339` writes it."""
    out: dict[str, Any] = {
        "type": condition.type,
        "status": ConditionStatus(condition.status).value,
        "reason": condition.reason,
        "message": condition.message,
        "lastTransitionTime": rfc3339(condition.last_transition_time),
    }
    if condition.observed_generation is not None:
        out["observedGeneration"] = condition.observed_generation
    return out


def _type_of(condition: StoredCondition) -> Any:
    return condition.type if isinstance(condition, Condition) else condition.get("type")


def _as_json(condition: StoredCondition) -> dict[str, Any]:
    if isinstance(condition, Condition):
        return condition.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dict(condition)


def _transitions(existing: Iterable[StoredCondition]) -> dict[str, tuple[str, datetime]]:
    """Each existing condition's type -> (status, lastTransitionTime); one read from the
    API server without a usable time has none to keep."""
    out: dict[str, tuple[str, datetime]] = {}
    for cond in existing:
        if isinstance(cond, Condition):
            out[cond.type] = (ConditionStatus(cond.status).value, cond.last_transition_time)
            continue
        when = parse_rfc3339(cond.get("lastTransitionTime"))
        if when is not None and "type" in cond:
            out[str(cond["type"])] = (str(cond.get("status")), when)
    return out
