"""The status the operator writes: a job's from its placements and readiness, a failed
job's from its validation error, a site's aggregates from its nodes and placements.

Pure functions of their inputs (``now`` included), so the same observation always gives
the same status and the operator can skip writes that would change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cango_operator.api import Condition, InferenceJob, JobPhase, JobPlacement
from cango_operator.builders.conditions import Observation, merge_conditions
from cango_operator.builders.deployment import selector

PLACED = "Placed"
READY = "Ready"
VALID = "SpecValid"


@dataclass(frozen=True)
class Shortfall:
    """Replicas the plan could not place, and the engine's counted explanation."""

    missing: int
    message: str


def job_phase(replicas: int, placed: int, ready: int) -> JobPhase:
    """Unschedulable: nothing placed. Degraded: some placed, not all. Placing: all placed,
    not all ready yet. Running: all placed and ready."""
    if placed == 0:
        return JobPhase.UNSCHEDULABLE
    if placed < replicas:
        return JobPhase.DEGRADED
    if ready < replicas:
        return JobPhase.PLACING
    return JobPhase.RUNNING


def worst_latency(
    placements: Sequence[JobPlacement], latency_by_site: Mapping[str, int | None]
) -> int | None:
    """The highest known latency among the sites the job runs at."""
    known = [latency_by_site.get(p.site) for p in placements if p.replicas > 0]
    values = [v for v in known if v is not None]
    return max(values) if values else None


def placement_dicts(placements: Sequence[JobPlacement]) -> list[dict[str, Any]]:
    """Placements as written to the API, in a stable order (site, node)."""
    rows = sorted((p for p in placements if p.replicas > 0), key=lambda p: (p.site, p.node))
    return [p.model_dump(by_alias=True, exclude_none=True, mode="json") for p in rows]


def job_status(
    job: InferenceJob,
    placements: Sequence[JobPlacement],
    *,
    ready: int,
    shortfall: Shortfall | None,
    latency_by_site: Mapping[str, int | None],
    now: datetime,
) -> dict[str, Any]:
    """The whole status the operator owns for a job it could read."""
    wanted = job.spec.replicas
    placed = sum(p.replicas for p in placements)
    ready = min(ready, placed)
    phase = job_phase(wanted, placed, ready)
    message = shortfall.message if shortfall is not None and shortfall.missing > 0 else ""
    if phase is JobPhase.UNSCHEDULABLE and not message:
        message = f"0/{wanted} replicas placed"
    if phase in (JobPhase.PLACING, JobPhase.RUNNING):
        placed_obs = Observation(PLACED, True, "AllReplicasPlaced", f"{placed}/{wanted} placed")
    else:
        reason = "Unschedulable" if placed == 0 else "PartiallyPlaced"
        placed_obs = Observation(PLACED, False, reason, message)
    ready_obs = Observation(
        READY,
        ready >= wanted,
        "AllReplicasReady" if ready >= wanted else "ReplicasNotReady",
        f"{ready}/{wanted} replicas ready",
    )
    existing: list[Condition] = job.status.conditions if job.status is not None else []
    generation = job.metadata.generation
    return {
        "phase": phase.value,
        "observedGeneration": generation,
        "replicas": placed,
        "readyReplicas": ready,
        "placements": placement_dicts(placements),
        "sites": sorted({p.site for p in placements if p.replicas > 0}),
        "latencyMs": worst_latency(placements, latency_by_site),
        "message": message,
        "selector": selector(job),
        "conditions": merge_conditions(
            existing,
            [placed_obs, ready_obs, Observation(VALID, True, "Valid")],
            generation=generation,
            now=now,
        ),
    }


def failed_status(
    *,
    generation: int | None,
    message: str,
    existing: Sequence[Condition],
    now: datetime,
) -> dict[str, Any]:
    """The status of a job whose spec can never work as written."""
    return {
        "phase": JobPhase.FAILED.value,
        "observedGeneration": generation,
        "replicas": 0,
        "readyReplicas": 0,
        "placements": [],
        "sites": [],
        "message": message[:4096],
        "conditions": merge_conditions(
            existing,
            [Observation(VALID, False, "InvalidSpec", message[:32768])],
            generation=generation,
            now=now,
        ),
    }
