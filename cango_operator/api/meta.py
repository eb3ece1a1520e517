"""What all three resources share: object metadata, the standard condition, and the one
way times are written into a status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from cango_operator.api.base import CamelModel, StatusModel
from cango_operator.api.enums import ConditionStatus

#: `metav1.Condition`'s patterns, so conditions look and validate like every other's.
CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
MAX_CONDITIONS = 16


class ObjectMeta(CamelModel):
    """The parts of `metadata` the project reads; everything else is kept as given."""

    model_config = ConfigDict(extra="allow")

    name: str
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None


class Condition(StatusModel):
    """One observation of the object's state, in the shape of `metav1.Condition`."""

    type: Annotated[str, Field(max_length=316, pattern=CONDITION_TYPE_PATTERN)]
    """Type of condition in CamelCase, e.g. `Ready`, `PowerFeedHealthy`, `Placed`."""
    status: ConditionStatus
    """Status of the condition: True, False or Unknown."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The `.metadata.generation` the condition was set from."""
    last_transition_time: datetime
    """When the condition last changed from one status to another."""
    reason: Annotated[str, Field(min_length=1, max_length=1024, pattern=CONDITION_REASON_PATTERN)]
    """Machine-readable CamelCase reason for the last transition."""
    message: Annotated[str, Field(max_length=32768)]
    """Human-readable details of the transition; may be empty."""


def rfc3339(moment: datetime) -> str:
    """``2026-11-22T15:04:05Z``: whole seconds in UTC, as Kubernetes writes its own times.
    Every time the operator, the power feeds and the agent write goes through here."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: object) -> datetime | None:
    """A time as Kubernetes writes it (``2026-11-22T15:04:05Z``), in UTC when it names no
    zone; ``None`` when ``value`` is not such a time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def conditions_field() -> Any:
    """How every status declares `conditions`: a list-type map keyed by `type`."""
    return Field(
        default_factory=list,
        max_length=MAX_CONDITIONS,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
