"""Spread score: prefer sites where the job has fewer replicas (100, 50, 33, ...).

A preference only; ``minSites`` and ``maxReplicasPerSite`` are hard rules elsewhere.
"""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import MAX_SCORE, JobTurn
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class Spread:
    name: ClassVar[str] = "Spread"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        return MAX_SCORE // (1 + job.site_counts[fleet.node_site[nodes]])
