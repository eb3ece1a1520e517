"""FreeGpus: the node must have a replica's GPUs free (healthy, not already given out).

A node with fewer usable GPUs than a replica needs cannot be opened by preemption; one
whose GPUs are taken by running work can, by the GPUs missing.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import (
    DynamicFilterKind,
    FilterResult,
    JobTurn,
    Shortfall,
)
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class FreeGpus(DynamicFilterKind):
    name: ClassVar[str] = "FreeGpus"

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult:
        count = job.job.gpu_count
        short = state.free_gpus[nodes] < count
        return FilterResult.reject(
            (short, "not enough free GPUs"), unresolvable=fleet.node_usable[nodes] < count
        )

    def capacity(self, job: JobTurn, fleet: FleetTable, state: PlanState, node: int) -> int:
        return int(state.free_gpus[node]) // job.job.gpu_count

    def shortfall(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> Shortfall:
        gpus: IntArray = np.maximum(0, job.job.gpu_count - state.free_gpus[nodes])
        return Shortfall(gpus=gpus, watts=np.zeros(nodes.size, dtype=np.int64))
