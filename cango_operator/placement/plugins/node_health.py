"""NodeHealth: only Ready and Degraded nodes take new replicas (Degraded on its healthy GPUs)."""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.snapshot import NodePhase
from cango_operator.placement.table import NODE_PHASES, FleetTable, IntArray


class NodeHealth(StaticFilterKind):
    name: ClassVar[str] = "NodeHealth"
    evicts_running: ClassVar[bool] = False

    def reads(self, shape: JobShape) -> None:
        return None

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        phase = fleet.node_phase[nodes]
        return FilterResult.reject(
            *(
                (phase == NODE_PHASES.index(p), f"node {p.value}")
                for p in (NodePhase.UNHEALTHY, NodePhase.UNKNOWN)
            )
        )
