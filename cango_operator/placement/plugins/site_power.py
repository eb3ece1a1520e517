"""SitePower: the site must have power left for one more replica.

A replica needs its estimated draw times the site's PUE; what is left counts everything
this same plan has already placed or evicted, and mining the site may shed (only for work
that earns more per kWh than that mining: ``PlanState.room_w``).
"""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import DynamicFilterKind, FilterResult, JobTurn
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray

#: The reason for a node whose site lacks the power for one more replica.
NO_POWER = "no power at site"


class SitePower(DynamicFilterKind):
    name: ClassVar[str] = "SitePower"

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult:
        sites, need = fleet.node_site[nodes], job.arrays.need_w[nodes]
        short = state.site_power_w[sites] < need
        outbid = ~short & (state.room_w(sites, job.arrays.may_shed[nodes]) < need)
        return FilterResult.reject(
            (short, NO_POWER),
            (outbid, "the power left is mining's, which earns more per kWh"),
        )
