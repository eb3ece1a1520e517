"""AllowedRegions: data residency. With ``allowedRegions`` set, other regions are out."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.table import FleetTable, IntArray


class AllowedRegions(StaticFilterKind):
    name: ClassVar[str] = "AllowedRegions"
    evicts_running: ClassVar[bool] = True

    def reads(self, shape: JobShape) -> tuple[str, ...]:
        return shape.allowed_regions

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        allowed = job.shape.allowed_regions
        if not allowed:
            return FilterResult.skip()
        codes = np.array([fleet.region_index[r] for r in allowed], dtype=np.int64)
        region = fleet.site_region[fleet.node_site[nodes]]
        return FilterResult.reject((~np.isin(region, codes), "region not allowed"))
