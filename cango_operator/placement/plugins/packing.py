"""Packing score: fill nodes already in use, keep whole nodes free for large jobs.

The score is the share of the node's usable GPUs in use once the replica is there, so a
node the replica fills exactly scores 100 and an empty 8-GPU node taking 1 GPU scores 12.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cango_operator.placement.framework import MAX_SCORE, JobTurn, ScoreKind
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class Packing(ScoreKind):
    name: ClassVar[str] = "Packing"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        usable = fleet.node_usable[nodes]
        used_after = usable - state.free_gpus[nodes] + job.job.gpu_count
        # used_after >= 1 always; above usable only on nodes that do not fit anyway.
        share = np.floor(100 * used_after / np.maximum(usable, 1)).astype(np.int64)
        scores: IntArray = np.minimum(share, MAX_SCORE)
        return scores
