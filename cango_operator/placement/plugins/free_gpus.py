"""FreeGpus: the node must have a replica's GPUs free (healthy, not already given out)."""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import DynamicFilterKind, FilterResult, JobTurn
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class FreeGpus(DynamicFilterKind):
    name: ClassVar[str] = "FreeGpus"

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult:
        short = state.free_gpus[nodes] < job.job.gpu_count
        return FilterResult.reject((short, "not enough free GPUs"))
