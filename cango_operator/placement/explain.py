"""Why a job did not fit, counted by reason: "0/2000 nodes fit: 1400 latency > 50ms, ...".

Each node is counted once, under the first filter (in profile order) that rules it out,
the way kube-scheduler reports a failed scheduling cycle.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cango_operator.placement.framework import Code, FilterResult, JobTurn, Profile
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import BoolArray, FleetTable


def count_reasons(
    profile: Profile, turn: JobTurn, fleet: FleetTable, state: PlanState
) -> tuple[dict[str, int], BoolArray]:
    """Nodes ruled out per reason, and the mask of nodes no filter ruled out."""
    nodes = np.arange(fleet.n_nodes, dtype=np.int64)
    alive = np.ones(fleet.n_nodes, dtype=np.bool_)
    counts: dict[str, int] = {}

    def take(name: str, result: FilterResult) -> None:
        if result.status.code == Code.ERROR:
            _add(counts, f"{name}: {result.status.reason}", int(alive.sum()))
            alive[:] = False
            return
        for rejection in result.rejections:
            hit = rejection.mask & alive
            _add(counts, rejection.reason, int(hit.sum()))
            alive[hit] = False

    for static in profile.static_filters:
        take(static.name, static.filter(turn.arrays, fleet, nodes))
    for dynamic in profile.dynamic_filters:
        take(dynamic.name, dynamic.filter(turn, fleet, state, nodes))
    return counts, alive


def message(counts: Mapping[str, int], fit: int, total: int) -> str:
    """``fit/total nodes fit: n reason, ...`` with the largest counts first (zeros left out)."""
    ranked = sorted(((r, n) for r, n in counts.items() if n), key=lambda item: (-item[1], item[0]))
    parts = ", ".join(f"{n} {reason}" for reason, n in ranked)
    head = f"{fit}/{total} nodes fit"
    return f"{head}: {parts}" if parts else head


def _add(counts: dict[str, int], reason: str, n: int) -> None:
    if n > 0:
        counts[reason] = counts.get(reason, 0) + n
