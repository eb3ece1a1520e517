"""Solve a :class:`~.problem.Problem` lexicographically with HiGHS.

One solve per step, each keeping what the steps before it reached (a row fixes it):

1. GPUs served of each priority, highest first (never less of a higher priority for more
   of a lower one);
2. the objective (latency, cost, both) of all replicas together, with the number of
   replicas of every job fixed as step 1 left it (one solve; a solve per priority cost
   several times as much on the benchmark's instances for a difference within its gap);
3. the fewest moves of running replicas, when a job allows any.

Each solve starts from the best solution so far (at first the greedy plan), so a solve
cut short by its node limit still returns something at least as good. A step whose
service the greedy already gave in full is not solved at all. The solver runs on one
thread with a node limit, so the same problem always gives the same answer; if the
safety time limit is reached the whole stage gives up (the greedy plan stays).
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from cango_operator.placement.improvement.budget import ImprovementBudget
from cango_operator.placement.improvement.problem import Problem
from cango_operator.placement.table import FloatArray

#: A row fixing an objective value gives it this much room, so rounding never makes the
#: best solution so far infeasible.
_SLACK = 1e-7


class _TimeUpError(Exception):
    pass


def solve(problem: Problem, budget: ImprovementBudget) -> FloatArray | None:
    """The lexicographically best solution found within the budget; None if time ran out."""
    try:
        return _Solver(problem, budget).run()
    except _TimeUpError:
        return None


class _Solver:
    def __init__(self, problem: Problem, budget: ImprovementBudget) -> None:
        self.problem = problem
        self.budget = budget
        self.deadline = time.perf_counter() + budget.time_limit_s
        # The plain binding: the wrapper class prints a banner on its first construction.
        h = highspy._Highs()  # type: ignore[attr-defined]
        for option, value in (
            ("output_flag", False),
            ("threads", 1),
            ("random_seed", 0),
            ("mip_rel_gap", 1e-4),
            # Large neighbourhood searches cost more than they find on these problems.
            ("mip_heuristic_run_rins", False),
            ("mip_heuristic_run_rens", False),
        ):
            h.setOptionValue(option, value)
        n = problem.n_vars
        h.addVars(n, np.zeros(n), problem.upper)
        h.changeColsIntegrality(
            n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger)
        )
        rows = problem.rows
        if len(rows):
            lengths = np.array([i.size for i in rows.index], dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
            h.addRows(
                len(rows),
                np.array(rows.lo),
                np.array(rows.hi),
                int(lengths.sum()),
                starts,
                np.concatenate(rows.index).astype(np.int32),
                np.concatenate(rows.value),
            )
        self.h = h
        self.best = problem.initial.copy()

    def run(self) -> FloatArray:
        p = self.problem
        for t in range(len(p.tiers)):
            at = np.flatnonzero(p.pair_tier == t)
            served = p.pair_gpus[at]
            if served @ self.best[at] < p.tier_demand[t]:
                self._step(at, -served, self.budget.max_nodes)
            self._fix(at, served, lo=float(served @ self.best[at]) - 0.5, hi=np.inf)
        for j in range(len(p.jobs)):
            at = np.flatnonzero(p.pair_job == j)
            count = float(self.best[at].sum())
            self._fix(at, np.ones(at.size), lo=count, hi=count)
        at = np.arange(p.n_pairs)
        cost = p.pair_cost
        self._step(at, cost, self.budget.max_objective_nodes)
        value = float(cost @ self.best[at])
        self._fix(at, cost, lo=-np.inf, hi=value + _SLACK * max(1.0, abs(value)))
        moving = np.flatnonzero(p.pair_kept > 0)
        if moving.size:
            self._step(moving, -np.ones(moving.size), self.budget.max_objective_nodes)
        return self.best

    def _step(self, at: np.ndarray, cost: FloatArray, max_nodes: int) -> None:
        """Minimise ``cost`` over the variables ``at``; keep the result if it is better."""
        h, n = self.h, self.problem.n_vars
        full = np.zeros(n)
        full[at] = cost
        h.changeColsCost(n, np.arange(n, dtype=np.int32), full)
        h.setSolution(n, np.arange(n, dtype=np.int32), self.best)
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise _TimeUpError
        h.setOptionValue("time_limit", left)
        h.setOptionValue("mip_max_nodes", max_nodes)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise _TimeUpError
        solution = h.getSolution()
        if not solution.value_valid:
            return
        found = np.rint(np.array(solution.col_value))
        if float(full @ found) < float(full @ self.best) and self.problem.rows.holds(found):
            self.best = found

    def _fix(self, at: np.ndarray, value: FloatArray, lo: float, hi: float) -> None:
        index = at.astype(np.int32)
        self.h.addRow(lo, hi, index.size, index, value.astype(np.float64))
