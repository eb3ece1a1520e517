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
from cango_operator.api.conditions import Observation, merge_conditions
from cango_operator.builders.deployment import selector

PLACED = "Placed"
READY = "Ready"
VALID = "SpecValid"
#: Whether every replica is at a site the hub can reach (written once one was not).
REACHABLE = "ReplicasReachable"


@dataclass(frozen=True)
class Shortfall:
    """Replicas the plan could not place, and the engine's counted explanation."""

    missing: int
    message: str


@dataclass(frozen=True)
class Unreached:
    """A job's replicas at sites the hub cannot reach (see ``operator.partitions``)."""

    unknown: int
    """Replicas there, replaced or not."""
    replaced: Sequence[JobPlacement] = ()
    """Rows there that were replaced elsewhere."""
    waiting: Sequence[str] = ()
    """Sites whose rows are kept, not replaced (yet)."""


def _reachable_observation(job: InferenceJob, unreached: Unreached) -> Observation:
    if unreached.unknown == 0:
        return Observation(REACHABLE, True, "AllSitesReachable", "")
    failover = job.spec.failover
    sites = sorted({r.site for r in unreached.replaced} | set(unreached.waiting))
    parts = [f"{unreached.unknown} replicas at unreachable sites ({', '.join(sites)})"]
    if unreached.replaced:
        parts.append(f"{sum(r.replicas for r in unreached.replaced)} replaced elsewhere")
    if unreached.waiting:
        parts.append(
            "the rest replaced once a site has been unreachable for "
            f"{failover.replace_after_seconds} s"
            if failover.replace
            else "not replaced (failover.replace: false)"
        )
    return Observation(REACHABLE, False, "SiteUnreachable", "; ".join(parts))


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


def waiting_for_power(placements: Sequence[JobPlacement]) -> str:
    """Which replicas wait for a site's meter to show their power, in words; "" if none."""
    by_site: dict[str, int] = {}
    for p in placements:
        if p.held_replicas:
            by_site[p.site] = by_site.get(p.site, 0) + p.held_replicas
    if not by_site:
        return ""
    parts = ", ".join(f"{n} at {site}" for site, n in sorted(by_site.items()))
    return f"{parts} wait for the meter to show the mining shed for them"


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
    unreached: Unreached | None = None,
    queued: str = "",
    endpoint: str | None = None,
) -> dict[str, Any]:
    """The whole status the operator owns for a job it could read; ``unreached``: its
    replicas at sites out of reach, if it has or had any; ``queued``: why some of its
    replicas wait for their tenant's quota ("" when none does); ``endpoint``: the URL it
    is served at through the gateway (None: none known)."""
    wanted = job.spec.replicas
    placed = sum(p.replicas for p in placements)
    held = sum(p.held_replicas or 0 for p in placements)
    ready = min(ready, placed - held)
    phase = job_phase(wanted, placed, ready)
    message = shortfall.message if shortfall is not None and shortfall.missing > 0 else ""
    if queued:
        # Replicas beyond the quota are not the engine's to place: say so first.
        message = f"{queued}; {message}" if message else queued
        if placed == 0:
            phase = JobPhase.QUEUED
    if phase is JobPhase.UNSCHEDULABLE and not message:
        message = f"0/{wanted} replicas placed"
    waiting = waiting_for_power(placements)
    if waiting and not message:
        message = waiting
    if phase in (JobPhase.PLACING, JobPhase.RUNNING):
        placed_obs = Observation(PLACED, True, "AllReplicasPlaced", f"{placed}/{wanted} placed")
    else:
        reason = "PartiallyPlaced" if placed else phase.value
        placed_obs = Observation(PLACED, False, reason, message)
    if ready >= wanted:
        ready_reason = "AllReplicasReady"
    else:
        ready_reason = "WaitingForPower" if held else "ReplicasNotReady"
    ready_note = f"{ready}/{wanted} replicas ready" + (f"; {waiting}" if waiting else "")
    ready_obs = Observation(READY, ready >= wanted, ready_reason, ready_note)
    existing: list[Condition] = job.status.conditions if job.status is not None else []
    observed = [placed_obs, ready_obs, Observation(VALID, True, "Valid")]
    if unreached is not None or any(c.type == REACHABLE for c in existing):
        observed.append(_reachable_observation(job, unreached or Unreached(0)))
    generation = job.metadata.generation
    unknown = unreached.unknown if unreached is not None else 0
    replaced = unreached.replaced if unreached is not None else ()
    return {
        "phase": phase.value,
        "observedGeneration": generation,
        "replicas": placed,
        "readyReplicas": ready,
        "unknownReplicas": unknown or None,
        "placements": placement_dicts(placements),
        "unreachablePlacements": placement_dicts(replaced) or None,
        "sites": sorted({p.site for p in placements if p.replicas > 0}),
        "latencyMs": worst_latency(placements, latency_by_site),
        "message": message,
        "selector": selector(job),
        "endpoint": endpoint,
        "conditions": merge_conditions(existing, observed, generation=generation, now=now),
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
