"""LatencySLO: ``maxLatencyMs`` is a hard limit on the site's latency to the client region.

A site that declares no latency to that region cannot show it meets the SLO, so it is out.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.table import FleetTable, IntArray


class LatencySLO(StaticFilterKind):
    name: ClassVar[str] = "LatencySLO"
    evicts_running: ClassVar[bool] = True

    def reads(self, shape: JobShape) -> tuple[str | None, float | None]:
        return (shape.client_region, shape.max_latency_ms)

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        limit = job.shape.max_latency_ms
        if limit is None:
            return FilterResult.skip()
        latency = job.latency_ms[nodes]
        unknown = np.isnan(latency)
        return FilterResult.reject(
            (unknown, f"no latency to {job.shape.client_region}"),
            (~unknown & (latency > limit), f"latency > {limit:g}ms"),
        )
