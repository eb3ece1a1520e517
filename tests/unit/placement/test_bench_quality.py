"""The benchmark's optimum is a real optimum: never worse than the engine, and the engine's
own plan is a feasible answer to it (so the reported ratios compare like with like)."""

from __future__ import annotations

from cango_operator.placement import OFF, Objective
from tests.bench.quality import compare


def test_the_optimum_bounds_the_engine_on_jobs_replicas_cost_and_latency() -> None:
    result = compare(seed=3, objective=Objective.BALANCED, budgets={"greedy": OFF})["greedy"]
    assert result.jobs[0] <= result.jobs[1]
    assert result.replicas[0] <= result.replicas[1]
    assert result.cost[1] <= result.cost[0] + 1e-9
    assert result.latency[1] <= result.latency[0] + 1e-9
