"""NodeUnschedulable: a cordoned node (``spec.unschedulable``) takes no new replicas."""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.table import FleetTable, IntArray


class NodeUnschedulable(StaticFilterKind):
    name: ClassVar[str] = "NodeUnschedulable"
    evicts_running: ClassVar[bool] = False

    def reads(self, shape: JobShape) -> None:
        return None

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        return FilterResult.reject((fleet.node_unschedulable[nodes], "node unschedulable"))
