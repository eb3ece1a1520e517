"""Spread score: prefer sites where the job has fewer replicas (100, 50, 33, ...).

A preference only; ``minSites`` and ``maxReplicasPerSite`` are hard rules elsewhere.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import MAX_SCORE, JobTurn, ScoreKind
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class Spread(ScoreKind):
    name: ClassVar[str] = "Spread"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        if not job.site_counts.any():
            return np.full(nodes.size, MAX_SCORE, dtype=np.int64)
        per_site = MAX_SCORE // (1 + job.site_counts)
        scores: IntArray = per_site[fleet.node_site[nodes]]
        return scores
