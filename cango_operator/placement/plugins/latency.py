"""Latency score: closer to the client region is better (min-max across the ranked nodes).

Nodes whose site declares no latency to the region score 0; a job without a client region
scores every node 100.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import MAX_SCORE, JobTurn, ScoreKind, min_max_score
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class Latency(ScoreKind):
    name: ClassVar[str] = "Latency"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        if job.job.client_region is None:
            return np.full(nodes.size, MAX_SCORE, dtype=np.int64)
        latency = job.arrays.latency_ms[nodes]
        unknown = np.isnan(latency)
        if not unknown.any():
            return min_max_score(latency, higher_is_better=False)
        known = ~unknown
        out = np.zeros(nodes.size, dtype=np.int64)
        out[known] = min_max_score(latency[known], higher_is_better=False)
        return out
