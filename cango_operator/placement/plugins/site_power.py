"""SitePower: the site must have power left for one more replica.

A replica needs its estimated draw times the site's PUE; what is left counts everything
this same plan has already placed or evicted, and mining the site may shed (only for work
that earns more per kWh than that mining: ``PlanState.room_w``).

Preemption frees power by the watts missing; it makes no room in mining a replica may
not take, so where that is what it lacks the node is unresolvable.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import (
    UNLIMITED,
    DynamicFilterKind,
    FilterResult,
    JobTurn,
    Shortfall,
)
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
        may_shed = job.arrays.may_shed[nodes]
        if may_shed.all():
            return FilterResult.reject((short, NO_POWER))
        # Work that may not take the mining must fit in what is left without it: no
        # preemption makes room there (PlanState.room_w).
        mining_bound = ~may_shed & (state.site_unshed_w[sites] < need)
        return FilterResult.reject(
            (short, NO_POWER),
            (~short & mining_bound, "the power left is mining's, which earns more per kWh"),
            unresolvable=mining_bound,
        )

    def capacity(self, job: JobTurn, fleet: FleetTable, state: PlanState, node: int) -> int:
        need = int(job.arrays.need_w[node])
        if need <= 0:
            return UNLIMITED
        site = int(fleet.node_site[node])
        return state.room_at(site, bool(job.arrays.may_shed[node])) // need

    def shortfall(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> Shortfall:
        short = job.arrays.need_w[nodes] - state.site_power_w[fleet.node_site[nodes]]
        return Shortfall(gpus=np.zeros(nodes.size, dtype=np.int64), watts=np.maximum(0, short))
