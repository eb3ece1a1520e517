"""Kubernetes-style status conditions, with transition times kept across updates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cango_operator.api import rfc3339

MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str
    last_transition_time: datetime

    def to_dict(self) -> dict[str, str]:
        message = self.message
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 3] + "..."
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": message,
            "lastTransitionTime": rfc3339(self.last_transition_time),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition | None:
        """A condition read back from the API; ``None`` when it is not one we can use."""
        try:
            when = datetime.fromisoformat(str(data["lastTransitionTime"]).replace("Z", "+00:00"))
            return cls(
                type=str(data["type"]),
                status=str(data["status"]),
                reason=str(data.get("reason", "")),
                message=str(data.get("message", "")),
                last_transition_time=when if when.tzinfo else when.replace(tzinfo=UTC),
            )
        except (KeyError, ValueError):
            return None


def keep_transition_times(
    current: Iterable[Condition], previous: Iterable[Condition]
) -> tuple[Condition, ...]:
    """``current``, but a condition whose status did not change keeps its old transition time."""
    before = {condition.type: condition for condition in previous}
    merged = []
    for condition in current:
        old = before.get(condition.type)
        if old is not None and old.status == condition.status:
            merged.append(replace(condition, last_transition_time=old.last_transition_time))
        else:
            merged.append(condition)
    return tuple(merged)
