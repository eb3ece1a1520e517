"""SiteCordon: a cordoned site (``spec.cordoned``) takes no new replicas; running ones stay."""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.table import FleetTable, IntArray


class SiteCordon(StaticFilterKind):
    name: ClassVar[str] = "SiteCordon"
    evicts_running: ClassVar[bool] = False

    def reads(self, shape: JobShape) -> None:
        return None

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        return FilterResult.reject((fleet.site_cordoned[fleet.node_site[nodes]], "site cordoned"))
