"""EnergyPrice score: a cheaper hour of this replica here is better.

The cost of one replica on a node is what it draws there at the meter (estimated power,
or the node's GPUs at their maximum, times the site's PUE) times the site's energy price;
ranked min-max, cheapest 100.
"""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import JobTurn, ScoreKind, min_max_score
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class EnergyPrice(ScoreKind):
    name: ClassVar[str] = "EnergyPrice"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        price = fleet.site_price[fleet.node_site[nodes]]
        return min_max_score(job.arrays.need_w[nodes] * price, higher_is_better=False)
