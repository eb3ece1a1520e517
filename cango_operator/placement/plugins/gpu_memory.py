"""GpuMemory: each GPU must have at least ``minMemoryMiB``."""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.table import FleetTable, IntArray


class GpuMemory(StaticFilterKind):
    name: ClassVar[str] = "GpuMemory"
    evicts_running: ClassVar[bool] = True

    def reads(self, shape: JobShape) -> int:
        return shape.min_memory_mib

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        need = job.shape.min_memory_mib
        if need <= 0:
            return FilterResult.skip()
        small = fleet.node_memory_mib[nodes] < need
        return FilterResult.reject((small, f"GPU memory < {need}MiB"))
