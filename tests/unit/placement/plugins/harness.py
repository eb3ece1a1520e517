"""Calling one plugin directly: a fleet table, a plan state and a job turn from a snapshot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cango_operator.placement import (
    ExistingPlacement,
    FilterResult,
    JobRequest,
    JobShape,
    JobTurn,
    NodeState,
    SiteState,
    Snapshot,
)
from cango_operator.placement.shapes import ShapeCache
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


@dataclass
class Bench:
    fleet: FleetTable
    state: PlanState
    turn: JobTurn

    @property
    def all_nodes(self) -> IntArray:
        return np.arange(self.fleet.n_nodes, dtype=np.int64)

    def names(self, mask: np.ndarray) -> list[str]:  # type: ignore[type-arg]
        return [self.fleet.nodes[i].name for i in np.flatnonzero(mask)]

    def rejected(self, result: FilterResult) -> dict[str, list[str]]:
        """reason -> names of the nodes it rules out."""
        return {r.reason: self.names(r.mask) for r in result.rejections}

    def by_name(self, scores: IntArray) -> dict[str, int]:
        return {self.fleet.nodes[i].name: int(s) for i, s in enumerate(scores)}


def bench(
    sites: list[SiteState],
    nodes: list[NodeState],
    job: JobRequest,
    placements: list[ExistingPlacement] | None = None,
) -> Bench:
    snapshot = Snapshot(
        sites=tuple(sites), nodes=tuple(nodes), jobs=(job,), placements=tuple(placements or ())
    )
    fleet = FleetTable.build(snapshot)
    state = PlanState(fleet, {job.key: job}, snapshot.placements)
    arrays = ShapeCache(fleet, ()).arrays(JobShape.of(job))
    return Bench(fleet, state, JobTurn(job, arrays, state.site_count_array(job.key)))
