"""EnergyPrice score: cheaper power per IT watt (price x PUE) is better."""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import JobTurn, min_max_score
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class EnergyPrice:
    name: ClassVar[str] = "EnergyPrice"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        site = fleet.node_site[nodes]
        return min_max_score(fleet.site_price[site] * fleet.site_pue[site], higher_is_better=False)
