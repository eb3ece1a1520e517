"""MaxReplicasPerSite: a hard cap on the job's replicas at one site (0: no cap).

Preemption cannot lift it (the job's own replicas are never victims of itself).
"""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import UNLIMITED, DynamicFilterKind, FilterResult, JobTurn
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class MaxReplicasPerSite(DynamicFilterKind):
    name: ClassVar[str] = "MaxReplicasPerSite"

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult:
        cap = job.job.max_replicas_per_site
        if cap <= 0:
            return FilterResult.skip()
        full = job.site_counts[fleet.node_site[nodes]] >= cap
        return FilterResult.reject((full, f"maxReplicasPerSite {cap} reached"), unresolvable=full)

    def capacity(self, job: JobTurn, fleet: FleetTable, state: PlanState, node: int) -> int:
        cap = job.job.max_replicas_per_site
        if cap <= 0:
            return UNLIMITED
        return cap - int(job.site_counts[fleet.node_site[node]])
