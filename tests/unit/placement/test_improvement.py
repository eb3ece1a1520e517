"""The improvement stage after the greedy: what it fixes, what it may not touch, and its
properties over random fleets (never worse than the greedy, moves within each job's
budget, deterministic, every hard promise kept)."""

from __future__ import annotations

import random

from hypothesis import given

from cango_operator.placement import OFF, Objective, Plan, Snapshot, plan
from cango_operator.placement.improvement import MOVED
from tests.bench.tiers import instance
from tests.unit.placement.fleet import job, node, running, site, where
from tests.unit.placement.invariants import broken_promises
from tests.unit.placement.strategies import crowded_snapshots, snapshots
from tests.unit.placement.test_properties import PROPERTY


def fragmenting_fleet(moves: int = 0, small_runs: bool = False) -> Snapshot:
    """A 4-GPU job whose best node is the only one an 8-GPU job of the same priority can
    use (the 8-GPU job's other node has no power): the greedy, placing the 4-GPU job first
    (as constrained, earlier name), leaves no room for the 8-GPU one."""
    near = site("near", latency_ms={"north-america": 5.0})
    far = site("far", latency_ms={"north-america": 90.0})
    dark = site("dark", capacity_kw=0.5, latency_ms={"north-america": 120.0})
    nodes = [
        node("n-near", "near"),
        node("n-far", "far", gpu_model="A100-80GB", gpu_max_power_w=400.0),
        node("n-dark", "dark"),
    ]
    small = job(
        "a-small",
        gpu_count=4,
        replicas=1,
        gpu_models=("H100-80GB", "A100-80GB"),
        max_latency_ms=100.0,
        max_moves_per_round=moves,
        objective=Objective.LATENCY,
        preemptible=False,
    )
    big = job("b-big", gpu_count=8, replicas=1, gpu_models=("H100-80GB",), preemptible=False)
    return Snapshot(
        sites=(near, far, dark),
        nodes=tuple(nodes),
        jobs=(small, big),
        placements=(running("a-small", "n-near", 1),) if small_runs else (),
    )


class TestWhatTheStageFixes:
    def test_a_node_the_greedy_fragmented_goes_to_the_replica_that_needs_it_whole(self) -> None:
        snapshot = fragmenting_fleet()
        greedy = plan(snapshot, budget=OFF)
        assert where(greedy, "b-big") == {}, "the fleet no longer fragments under the greedy"
        improved = plan(snapshot)
        assert where(improved, "b-big") == {"n-near": 1}
        assert where(improved, "a-small") == {"n-far": 1}
        assert improved.unschedulable == ()

    def test_what_is_still_missing_is_explained_against_the_final_plan(self) -> None:
        fleet = fragmenting_fleet()
        crowded = Snapshot(
            sites=fleet.sites,
            nodes=fleet.nodes,
            jobs=(*fleet.jobs, job("c-late", gpu_count=8, gpu_models=("H100-80GB",))),
        )
        result = plan(crowded)
        assert [u.job for u in result.unschedulable] == ["t/c-late"]
        assert result.unschedulable[0].reasons["not enough free GPUs"] == 1


class TestRunningReplicas:
    def test_stay_where_they_are_without_a_move_budget(self) -> None:
        result = plan(fragmenting_fleet(moves=0, small_runs=True))
        assert where(result, "a-small") == {"n-near": 1}
        assert where(result, "b-big") == {}
        assert result.evictions == ()

    def test_move_within_the_budget_when_that_serves_more(self) -> None:
        result = plan(fragmenting_fleet(moves=1, small_runs=True))
        assert where(result, "a-small") == {"n-far": 1}
        assert where(result, "b-big") == {"n-near": 1}
        assert [(e.job, e.node, e.replicas, e.reason) for e in result.evictions] == [
            ("t/a-small", "n-near", 1, MOVED)
        ]

    def test_of_a_job_the_stage_leaves_out_keep_their_gpus(self) -> None:
        # minSites above replicas (a scale-down below the spread) leaves the job out of
        # the problem: its running replica must still hold its GPU.
        snapshot = Snapshot(
            sites=(site("a"),),
            nodes=(node("n1", "a", gpu_count=2),),
            jobs=(
                job("spread", replicas=1, min_sites=2, max_moves_per_round=1),
                job("x", replicas=1),
                job("y", replicas=1),
            ),
            placements=(running("spread", "n1", 1),),
        )
        result = plan(snapshot)
        assert broken_promises(snapshot, result) == []
        assert sum(p.replicas for p in result.placements if p.node == "n1") == 2


def served(snapshot: Snapshot, result: Plan) -> list[int]:
    """GPUs served per priority, highest priority first."""
    priority = {j.key: j.priority for j in snapshot.jobs}
    by_priority: dict[int, int] = dict.fromkeys(priority.values(), 0)
    for p in result.placements:
        if p.job in priority:
            by_priority[priority[p.job]] += p.gpus
    return [by_priority[p] for p in sorted(by_priority, reverse=True)]


def moves_beyond_budget(snapshot: Snapshot, result: Plan) -> list[str]:
    budget = {j.key: j.max_moves_per_round for j in snapshot.jobs}
    moved: dict[str, int] = {}
    for e in result.evictions:
        if e.reason == MOVED:
            moved[e.job] = moved.get(e.job, 0) + e.replicas
    return [
        f"{k}: {n} moved > {budget.get(k, 0)}" for k, n in moved.items() if n > budget.get(k, 0)
    ]


class TestProperties:
    @PROPERTY
    @given(snapshots())
    def test_never_worse_than_the_greedy_by_priority(self, snapshot: Snapshot) -> None:
        assert served(snapshot, plan(snapshot)) >= served(snapshot, plan(snapshot, budget=OFF))

    @PROPERTY
    @given(crowded_snapshots())
    def test_never_worse_than_the_greedy_on_crowded_fleets(self, snapshot: Snapshot) -> None:
        assert served(snapshot, plan(snapshot)) >= served(snapshot, plan(snapshot, budget=OFF))

    @PROPERTY
    @given(crowded_snapshots())
    def test_running_replicas_move_only_within_their_job_budget(self, snapshot: Snapshot) -> None:
        assert moves_beyond_budget(snapshot, plan(snapshot)) == []

    def test_on_fleets_short_of_gpus_or_power_every_promise_holds_and_more_is_served(
        self,
    ) -> None:
        gained = 0
        for seed in range(3):
            for short_of in ("GPUs", "power"):
                snapshot = instance(seed, short_of)
                improved, greedy = plan(snapshot), plan(snapshot, budget=OFF)
                assert broken_promises(snapshot, improved) == []
                assert served(snapshot, improved) >= served(snapshot, greedy)
                gained += served(snapshot, improved) > served(snapshot, greedy)
        assert gained > 0, "no instance where the stage serves more: it is not exercised"

    def test_the_same_fleet_in_any_order_gives_the_same_plan(self) -> None:
        snapshot = instance(0, "GPUs")
        rng = random.Random(1)
        jobs, nodes = list(snapshot.jobs), list(snapshot.nodes)
        rng.shuffle(jobs)
        rng.shuffle(nodes)
        reordered = Snapshot(sites=snapshot.sites[::-1], nodes=tuple(nodes), jobs=tuple(jobs))
        assert plan(reordered) == plan(snapshot)
