"""The engine's output: where every replica runs, what moves and why, what could not fit.

``Plan.to_json()`` is a stable contract for scripts (see the ``plan`` command): keys may be
added, none renamed. ``placements`` is the whole desired state (kept and new replicas);
``newReplicas`` says how many of a row's replicas this plan adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Placement:
    """Replicas of one job on one node. ``power_w`` is their estimated draw, before PUE."""

    job: str
    site: str
    node: str
    replicas: int
    gpus: int
    power_w: float
    new_replicas: int = 0


@dataclass(frozen=True, slots=True)
class Eviction:
    """Running replicas to stop (and re-place if the job still wants them)."""

    job: str
    node: str
    replicas: int
    reason: str


@dataclass(frozen=True, slots=True)
class Unschedulable:
    """A job with replicas (or spread) the plan could not give it, with reasons counted.

    ``reasons`` maps a short reason to the number of nodes it ruled out; ``missing`` is
    how many replicas stay unplaced.
    """

    job: str
    reasons: Mapping[str, int]
    message: str
    missing: int


@dataclass(frozen=True, slots=True)
class SiteBudget:
    """A site's power before and after the plan, and the mining load it should drop to."""

    name: str
    available_kw_before: float
    available_kw_after: float
    mining_target_kw: float
    #: the share of maxPowerW the site's GPUs are to be capped to; None: not capped
    gpu_power_cap_share: float | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the engine decided from one snapshot."""

    placements: tuple[Placement, ...]
    evictions: tuple[Eviction, ...]
    unschedulable: tuple[Unschedulable, ...]
    sites: tuple[SiteBudget, ...]

    def placements_of(self, job: str) -> tuple[Placement, ...]:
        """The rows of one job (``namespace/name``)."""
        return tuple(p for p in self.placements if p.job == job)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (plain dicts, lists and numbers)."""
        return {
            "placements": [
                {
                    "job": p.job,
                    "site": p.site,
                    "node": p.node,
                    "replicas": p.replicas,
                    "gpus": p.gpus,
                    "powerW": _number(p.power_w),
                    "newReplicas": p.new_replicas,
                }
                for p in self.placements
            ],
            "unschedulable": [
                {
                    "job": u.job,
                    "reasons": dict(u.reasons),
                    "message": u.message,
                    "missingReplicas": u.missing,
                }
                for u in self.unschedulable
            ],
            "evictions": [
                {"job": e.job, "node": e.node, "replicas": e.replicas, "reason": e.reason}
                for e in self.evictions
            ],
            "sites": [
                {
                    "name": s.name,
                    "availableKwBefore": _number(s.available_kw_before),
                    "availableKwAfter": _number(s.available_kw_after),
                    "miningTargetKw": _number(s.mining_target_kw),
                    **(
                        {"gpuPowerCapShare": _number(s.gpu_power_cap_share)}
                        if s.gpu_power_cap_share is not None
                        else {}
                    ),
                }
                for s in self.sites
            ],
        }


def _number(value: float) -> float | int:
    """Whole numbers print as integers (1300, not 1300.0); others keep three decimals."""
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded
