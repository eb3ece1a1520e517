"""Why a job did not fit, counted by reason: "0/2000 nodes fit: 1400 latency > 50ms, ...".

Each node is counted once, under the first filter (in profile order) that rules it out,
the way kube-scheduler reports a failed scheduling cycle. Static filters come first; their
part of the count depends on the job's shape only and is computed once per shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cango_operator.placement.framework import (
    Code,
    DynamicFilter,
    FilterResult,
    JobTurn,
    ShapeArrays,
    StaticFilter,
)
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import BoolArray, FleetTable

Counted = tuple[dict[str, int], BoolArray]


def count_static(filters: Sequence[StaticFilter], job: ShapeArrays, fleet: FleetTable) -> Counted:
    """Nodes ruled out per reason by the static filters, and the nodes none ruled out."""
    nodes = np.arange(fleet.n_nodes, dtype=np.int64)
    alive = np.ones(fleet.n_nodes, dtype=np.bool_)
    counts: dict[str, int] = {}
    for f in filters:
        _take(counts, alive, f.name, f.filter(job, fleet, nodes))
    return counts, alive


def count_reasons(
    filters: Sequence[DynamicFilter],
    static: Counted,
    turn: JobTurn,
    fleet: FleetTable,
    state: PlanState,
) -> Counted:
    """Add what the dynamic filters rule out among the nodes the static ones left."""
    counts = dict(static[0])
    nodes = np.flatnonzero(static[1]).astype(np.int64)
    left = np.ones(nodes.size, dtype=np.bool_)
    for f in filters:
        _take(counts, left, f.name, f.filter(turn, fleet, state, nodes))
    alive = np.zeros(fleet.n_nodes, dtype=np.bool_)
    alive[nodes[left]] = True
    return counts, alive


def _take(counts: dict[str, int], alive: BoolArray, name: str, result: FilterResult) -> None:
    """Count what ``result`` rules out among the nodes still ``alive`` (aligned with the
    nodes the filter was asked about), and strike them."""
    if result.status.code == Code.ERROR:
        _add(counts, f"{name}: {result.status.reason}", int(alive.sum()))
        alive[:] = False
        return
    for rejection in result.rejections:
        hit = rejection.mask & alive
        _add(counts, rejection.reason, int(hit.sum()))
        alive &= ~hit


def message(counts: Mapping[str, int], fit: int, total: int) -> str:
    """``fit/total nodes fit: n reason, ...`` with the largest counts first (zeros left out)."""
    ranked = sorted(((r, n) for r, n in counts.items() if n), key=lambda item: (-item[1], item[0]))
    parts = ", ".join(f"{n} {reason}" for reason, n in ranked)
    head = f"{fit}/{total} nodes fit"
    return f"{head}: {parts}" if parts else head


def _add(counts: dict[str, int], reason: str, n: int) -> None:
    if n > 0:
        counts[reason] = counts.get(reason, 0) + n
