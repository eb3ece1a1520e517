"""GpuModel: the node's GPU model must be one the job allows (none listed: any)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import (
    FilterResult,
    JobShape,
    ShapeArrays,
    StaticFilterKind,
    reason_list,
)
from cango_operator.placement.table import FleetTable, IntArray


class GpuModel(StaticFilterKind):
    name: ClassVar[str] = "GpuModel"
    evicts_running: ClassVar[bool] = True

    def reads(self, shape: JobShape) -> tuple[str, ...]:
        return shape.gpu_models

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        models = job.shape.gpu_models
        if not models:
            return FilterResult.skip()
        codes = np.array([fleet.model_index.get(m, -1) for m in models], dtype=np.int64)
        wrong = ~np.isin(fleet.node_model[nodes], codes)
        return FilterResult.reject((wrong, f"no {reason_list(models)}"))
