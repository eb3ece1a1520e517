"""PowerHeadroom score: more site power left after one more replica is better.

Keeps sites away from their limit, so a feed wobble or a curtailment does not force moves.
"""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import JobTurn, ScoreKind, min_max_score
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray


class PowerHeadroom(ScoreKind):
    name: ClassVar[str] = "PowerHeadroom"

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        left = (
            state.room_w(fleet.node_site[nodes], job.arrays.may_shed[nodes])
            - job.arrays.need_w[nodes]
        )
        return min_max_score(left, higher_is_better=True)
