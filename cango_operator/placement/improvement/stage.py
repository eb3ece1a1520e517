"""The improvement stage: after the greedy, look for a better plan and take it if it is.

"Better" is lexicographic: more GPUs served of the highest priority, then of the next,
...; then a lower objective (latency, cost or both, per job) over all replicas. A plan
that is only as good keeps the greedy's (no churn). The stage only runs when the
profile's dynamic rules are ones the problem encodes, and within the budget; otherwise
the greedy plan stands.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cango_operator.placement.framework import Profile
from cango_operator.placement.improvement.budget import ImprovementBudget
from cango_operator.placement.improvement.problem import (
    ENCODED_RULES,
    Candidates,
    Problem,
    build,
    within,
)
from cango_operator.placement.improvement.solver import solve
from cango_operator.placement.snapshot import JobRequest
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, FloatArray

MOVED = "moved to a better placement"
#: An objective lower by less than this (relative) is no improvement.
_TOLERANCE = 1e-6


def improve(
    fleet: FleetTable,
    state: PlanState,
    jobs: Mapping[str, JobRequest],
    *,
    candidates: Candidates,
    profile: Profile,
    budget: ImprovementBudget,
) -> bool:
    """Replace the greedy's decisions in ``state`` by better ones; True if it did."""
    rules = frozenset(f.name for f in profile.dynamic_filters)
    if not budget.enabled or not rules <= ENCODED_RULES:
        return False
    if not within(jobs, state, candidates, budget.max_pairs):
        return False
    problem = build(fleet, state, jobs, candidates, rules)
    if problem is None:
        return False
    found = solve(problem, budget)
    if found is None or not problem.feasible(found) or not better(problem, found):
        return False
    _apply(state, problem, found)
    return True


def better(problem: Problem, x: FloatArray) -> bool:
    """Whether ``x`` beats the greedy plan (``problem.initial``) lexicographically."""
    ours, theirs = x[: problem.n_pairs], problem.initial[: problem.n_pairs]
    for t in range(len(problem.tiers)):
        at = problem.pair_tier == t
        gpus = problem.pair_gpus[at]
        a, b = float(gpus @ ours[at]), float(gpus @ theirs[at])
        if a != b:
            return a > b
    a, b = float(problem.pair_cost @ ours), float(problem.pair_cost @ theirs)
    return a < b - _TOLERANCE * max(1.0, abs(b))


def _apply(state: PlanState, problem: Problem, x: FloatArray) -> None:
    state.withdraw_new()
    values = np.rint(x[: problem.n_pairs]).astype(np.int64).tolist()
    for k, value in enumerate(values):
        job = problem.jobs[int(problem.pair_job[k])].key
        node = int(problem.pair_node[k])
        kept = int(problem.pair_kept[k])
        if kept > 0 and value < kept:
            state.evict(job, node, kept - value, MOVED)
        elif kept == 0 and value > 0:
            state.place(job, node, value, problem.pair_units[k])
