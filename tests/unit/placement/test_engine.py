"""The planning run, end to end on small hand-made fleets: order, rules, scores, preemption,
running work, mining, explanations. Each test states one behaviour of engine.py."""

from __future__ import annotations

import random
from typing import Any, ClassVar

import numpy as np

from cango_operator.placement import (
    DEFAULT_PROFILE,
    REGISTRY,
    DynamicFilterKind,
    FilterResult,
    JobTurn,
    NodePhase,
    Objective,
    PlacementEngine,
    Plan,
    Profile,
    SitePhase,
    Snapshot,
    build_profile,
    plan,
)
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray
from tests.unit.placement.fleet import (
    SA,
    evicted,
    job,
    node,
    plan_of,
    running,
    site,
    sites_of,
    where,
    why,
)


class TestBatchPlanning:
    def test_the_higher_priority_job_gets_the_last_free_gpus(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a")],
            [job("low", gpu_count=8, priority=0), job("high", gpu_count=8, priority=10)],
        )
        assert where(result, "high") == {"n1": 1}
        assert where(result, "low") == {}
        assert why(result, "low") == {"not enough free GPUs": 1}

    def test_jobs_of_equal_priority_go_in_name_order(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a")],
            [job("b", gpu_count=8), job("a", gpu_count=8)],
        )
        assert where(result, "a") == {"n1": 1}
        assert why(result, "b") == {"not enough free GPUs": 1}

    def test_within_a_priority_the_most_constrained_job_goes_first(self) -> None:
        # By name "any-model" would go first and take the cheap H100 node "h100-only" needs.
        result = plan_of(
            [
                site("cheap", energy_price_usd_per_mwh=10.0),
                site("dear", energy_price_usd_per_mwh=90.0),
            ],
            [node("cheap-1", "cheap"), node("dear-1", "dear", gpu_model="A100-80GB")],
            [
                job("any-model", gpu_count=8, objective=Objective.COST),
                job("h100-only", gpu_count=8, gpu_models=("H100-80GB",)),
            ],
        )
        assert where(result, "h100-only") == {"cheap-1": 1}
        assert where(result, "any-model") == {"dear-1": 1}

    def test_power_promised_earlier_in_the_same_plan_counts_for_later_jobs(self) -> None:
        result = plan_of(
            [site("a", capacity_kw=2.0)],
            [node("n1", "a")],
            [job("first", replicas=2, priority=1), job("second")],
        )
        assert where(result, "first") == {"n1": 2}
        assert why(result, "second") == {"no power at site": 1}

    def test_pue_multiplies_what_a_replica_takes_from_the_budget(self) -> None:
        # 700 W x 1.5 = 1050 W a replica: two need 2100 W of the 2000 W there are.
        result = plan_of(
            [site("a", capacity_kw=2.0, pue=1.5)], [node("n1", "a")], [job("j", replicas=2)]
        )
        assert where(result, "j") == {"n1": 1}
        (entry,) = result.unschedulable
        assert entry.missing == 1
        assert entry.message == "1 of 2 replicas unplaced; 0/1 nodes fit: 1 no power at site"

    def test_estimated_power_replaces_the_gpu_maximum(self) -> None:
        result = plan_of(
            [site("a", capacity_kw=2.0)],
            [node("n1", "a")],
            [job("j", replicas=4, estimated_power_w=500.0)],
        )
        assert where(result, "j") == {"n1": 4}
        assert result.placements[0].power_w == 2000

    def test_the_same_snapshot_in_any_order_gives_the_same_plan(self) -> None:
        sites = [site(f"s{i}", energy_price_usd_per_mwh=30.0 + i % 3) for i in range(4)]
        nodes = [node(f"n{i}", f"s{i % 4}", gpu_count=4) for i in range(12)]
        jobs = [job(f"j{i}", replicas=3, min_sites=2, priority=i % 3) for i in range(8)]
        first = plan_of(sites, nodes, jobs)
        rng = random.Random(1)
        for _ in range(3):
            rng.shuffle(sites)
            rng.shuffle(nodes)
            rng.shuffle(jobs)
            assert plan_of(sites, nodes, jobs) == first


class TestHardRules:
    def test_no_replica_goes_where_latency_exceeds_the_slo_however_cheap(self) -> None:
        result = plan_of(
            [
                site("near", energy_price_usd_per_mwh=90.0),
                site("far", energy_price_usd_per_mwh=5.0, latency_ms={"north-america": 80.0}),
            ],
            [node("near-1", "near"), node("far-1", "far")],
            [job("j", replicas=2, max_latency_ms=50.0, objective=Objective.COST)],
        )
        assert sites_of(result, "j") == {"near"}

    def test_allowed_regions_keep_data_in_place(self) -> None:
        result = plan_of(
            [site("na"), site("sa", region=SA, energy_price_usd_per_mwh=1.0)],
            [node("na-1", "na"), node("sa-1", "sa")],
            [job("j", allowed_regions=("north-america",), objective=Objective.COST)],
        )
        assert sites_of(result, "j") == {"na"}

    def test_min_sites_spreads_replicas_over_that_many_sites(self) -> None:
        result = plan_of(
            [site("a"), site("b", energy_price_usd_per_mwh=80.0), site("c")],
            [node("a-1", "a"), node("b-1", "b"), node("c-1", "c")],
            [job("j", replicas=4, min_sites=3)],
        )
        assert sites_of(result, "j") == {"a", "b", "c"}
        assert sum(where(result, "j").values()) == 4

    def test_a_new_job_that_cannot_reach_min_sites_gets_nothing(self) -> None:
        result = plan_of(
            [site("a"), site("b", phase=SitePhase.OFFLINE)],
            [node("a-1", "a"), node("a-2", "a"), node("b-1", "b")],
            [job("j", replicas=2, min_sites=2)],
        )
        assert where(result, "j") == {}
        assert why(result, "j") == {"minSites 2 not reachable": 2, "site Offline": 1}
        assert result.sites[0].available_kw_after == result.sites[0].available_kw_before

    def test_min_sites_above_replicas_is_reported_not_planned(self) -> None:
        result = plan_of([site("a"), site("b")], [node("a-1", "a")], [job("j", min_sites=2)])
        assert why(result, "j") == {"minSites 2 > replicas 1": 1}

    def test_max_replicas_per_site_is_a_cap(self) -> None:
        result = plan_of(
            [site("a"), site("b", energy_price_usd_per_mwh=90.0)],
            [node("a-1", "a"), node("b-1", "b")],
            [job("j", replicas=4, max_replicas_per_site=2)],
        )
        assert where(result, "j") == {"a-1": 2, "b-1": 2}

    def test_replicas_beyond_the_cap_are_reported(self) -> None:
        result = plan_of(
            [site("a")], [node("a-1", "a")], [job("j", replicas=3, max_replicas_per_site=2)]
        )
        assert where(result, "j") == {"a-1": 2}
        assert why(result, "j") == {"maxReplicasPerSite 2 reached": 1}


class TestScoring:
    def test_the_latency_objective_prefers_the_closer_site(self) -> None:
        result = plan_of(
            [
                site("close", energy_price_usd_per_mwh=90.0),
                site("cheap", energy_price_usd_per_mwh=10.0, latency_ms={"north-america": 45.0}),
            ],
            [node("close-1", "close"), node("cheap-1", "cheap")],
            [job("j", objective=Objective.LATENCY)],
        )
        assert sites_of(result, "j") == {"close"}

    def test_the_cost_objective_prefers_the_cheaper_site(self) -> None:
        result = plan_of(
            [
                site("close", energy_price_usd_per_mwh=90.0),
                site("cheap", energy_price_usd_per_mwh=10.0, latency_ms={"north-america": 45.0}),
            ],
            [node("close-1", "close"), node("cheap-1", "cheap")],
            [job("j", objective=Objective.COST)],
        )
        assert sites_of(result, "j") == {"cheap"}

    def test_price_counts_per_it_watt_so_pue_matters(self) -> None:
        # 40 x 1.0 = 40 beats 35 x 1.3 = 45.5 USD per IT MWh.
        result = plan_of(
            [
                site("lean", energy_price_usd_per_mwh=40.0),
                site("leaky", energy_price_usd_per_mwh=35.0, pue=1.3),
            ],
            [node("lean-1", "lean"), node("leaky-1", "leaky")],
            [job("j", objective=Objective.COST)],
        )
        assert sites_of(result, "j") == {"lean"}

    def test_packing_fills_a_started_node_before_an_empty_one(self) -> None:
        result = plan_of(
            [site("a")],
            [node("empty", "a"), node("started", "a", allocated_gpus=5)],
            [job("j")],
        )
        assert where(result, "j") == {"started": 1}

    def test_packing_keeps_whole_big_nodes_free(self) -> None:
        result = plan_of(
            [site("a")],
            [node("big", "a", gpu_count=8), node("small", "a", gpu_count=2)],
            [job("j", gpu_count=2)],
        )
        assert where(result, "j") == {"small": 1}

    def test_ties_go_to_the_node_whose_name_sorts_first(self) -> None:
        result = plan_of([site("a")], [node("n2", "a"), node("n1", "a")], [job("j")])
        assert where(result, "j") == {"n1": 1}


class TestPreemption:
    def test_a_higher_priority_job_evicts_lower_priority_preemptible_replicas(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a")],
            [job("low", replicas=8, preemptible=True), job("high", replicas=2, priority=100)],
            [running("low", "n1", 8)],
        )
        assert where(result, "high") == {"n1": 2}
        assert evicted(result, "low") == {("n1", "preempted by t/high"): 2}
        assert where(result, "low") == {"n1": 6}
        assert result.unschedulable[0].job == "t/low"
        assert result.unschedulable[0].missing == 2

    def test_replicas_that_are_not_preemptible_are_never_evicted(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a")],
            [job("low", replicas=8, preemptible=False), job("high", priority=100)],
            [running("low", "n1", 8)],
        )
        assert result.evictions == ()
        assert why(result, "high") == {"not enough free GPUs": 1}

    def test_equal_priority_does_not_preempt(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a")],
            [job("old", replicas=8, preemptible=True, priority=5), job("new", priority=5)],
            [running("old", "n1", 8)],
        )
        assert result.evictions == ()

    def test_the_lowest_priority_victims_go_first(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a")],
            [
                job("p0", replicas=4, preemptible=True, priority=0),
                job("p5", replicas=4, preemptible=True, priority=5),
                job("high", replicas=2, priority=100),
            ],
            [running("p0", "n1", 4), running("p5", "n1", 4)],
        )
        assert evicted(result, "p0") == {("n1", "preempted by t/high"): 2}
        assert evicted(result, "p5") == {}

    def test_the_node_needing_the_fewest_victims_is_chosen(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a"), node("n2", "a")],
            [job("low", replicas=15, preemptible=True), job("high", gpu_count=2, priority=100)],
            [running("low", "n1", 8), running("low", "n2", 7)],
        )
        assert where(result, "high") == {"n2": 1}
        assert evicted(result, "low") == {("n2", "preempted by t/high"): 1}

    def test_victims_are_placed_again_where_there_is_room(self) -> None:
        result = plan_of(
            [site("a")],
            [node("h100", "a"), node("a100", "a", gpu_model="A100-80GB", gpu_max_power_w=400.0)],
            [
                job("low", replicas=8, preemptible=True),
                job("high", replicas=2, priority=100, gpu_models=("H100-80GB",)),
            ],
            [running("low", "h100", 8)],
        )
        assert where(result, "high") == {"h100": 2}
        assert where(result, "low") == {"h100": 6, "a100": 2}
        assert result.unschedulable == ()

    def test_replicas_elsewhere_at_the_site_are_preempted_for_power(self) -> None:
        # 2.1 kW: three 700 W replicas of low fill it; high has free GPUs on n2 but no power.
        result = plan_of(
            [site("a", capacity_kw=2.1)],
            [node("n1", "a"), node("n2", "a", gpu_model="A100-80GB")],
            [
                job("low", replicas=3, preemptible=True, gpu_models=("H100-80GB",)),
                job("high", priority=100, gpu_models=("A100-80GB",)),
            ],
            [running("low", "n1", 3)],
        )
        assert where(result, "high") == {"n2": 1}
        assert evicted(result, "low") == {("n1", "preempted by t/high"): 1}


class TestRunningWork:
    def test_healthy_placements_stay_even_when_a_better_site_appears(self) -> None:
        result = plan_of(
            [
                site("pricey", energy_price_usd_per_mwh=90.0),
                site("cheap", energy_price_usd_per_mwh=10.0),
            ],
            [node("pricey-1", "pricey"), node("cheap-1", "cheap")],
            [job("j", replicas=2, objective=Objective.COST)],
            [running("j", "pricey-1", 2)],
        )
        assert where(result, "j") == {"pricey-1": 2}
        assert result.placements[0].new_replicas == 0
        assert result.evictions == ()
        assert result.unschedulable == ()

    def test_replicas_on_an_unhealthy_node_move(self) -> None:
        result = plan_of(
            [site("a")],
            [node("sick", "a", phase=NodePhase.UNHEALTHY), node("well", "a")],
            [job("j", replicas=2)],
            [running("j", "sick", 2)],
        )
        assert evicted(result, "j") == {("sick", "node Unhealthy"): 2}
        assert where(result, "j") == {"well": 2}

    def test_replicas_at_an_offline_site_move_to_another_site(self) -> None:
        result = plan_of(
            [site("a", phase=SitePhase.OFFLINE), site("b")],
            [node("a-1", "a"), node("b-1", "b")],
            [job("j", replicas=2)],
            [running("j", "a-1", 2)],
        )
        assert evicted(result, "j") == {("a-1", "site Offline"): 2}
        assert where(result, "j") == {"b-1": 2}

    def test_a_curtailed_site_keeps_the_work_that_fits_and_takes_none(self) -> None:
        result = plan_of(
            [site("a", phase=SitePhase.CURTAILED)],
            [node("a-1", "a")],
            [job("j", replicas=3)],
            [running("j", "a-1", 2)],
        )
        assert where(result, "j") == {"a-1": 2}
        assert why(result, "j") == {"site Curtailed": 1}

    def test_a_curtailed_site_sheds_preemptible_work_beyond_its_lowered_budget(self) -> None:
        result = plan_of(
            [site("a", phase=SitePhase.CURTAILED, capacity_kw=1.0), site("b")],
            [node("a-1", "a"), node("b-1", "b")],
            [job("j", replicas=2, preemptible=True)],
            [running("j", "a-1", 2)],
        )
        assert evicted(result, "j") == {("a-1", "site Curtailed"): 1}
        assert where(result, "j") == {"a-1": 1, "b-1": 1}

    def test_a_site_with_unknown_power_keeps_its_work_and_takes_none(self) -> None:
        result = plan_of(
            [site("a", phase=SitePhase.UNKNOWN)],
            [node("a-1", "a")],
            [job("j", replicas=3)],
            [running("j", "a-1", 2)],
        )
        assert where(result, "j") == {"a-1": 2}
        assert why(result, "j") == {"site Unknown": 1}

    def test_a_cordoned_site_or_node_keeps_its_work_and_takes_none(self) -> None:
        result = plan_of(
            [site("a", cordoned=True), site("b")],
            [node("a-1", "a"), node("b-1", "b", unschedulable=True)],
            [job("j", replicas=2)],
            [running("j", "a-1", 1)],
        )
        assert where(result, "j") == {"a-1": 1}
        assert why(result, "j") == {"site cordoned": 1, "node unschedulable": 1}

    def test_replicas_on_a_vanished_node_are_placed_again(self) -> None:
        result = plan_of(
            [site("a")], [node("a-2", "a")], [job("j", replicas=2)], [running("j", "a-1", 2)]
        )
        assert evicted(result, "j") == {("a-1", "node gone"): 2}
        assert where(result, "j") == {"a-2": 2}

    def test_scaling_down_removes_replicas_from_the_busiest_site_first(self) -> None:
        result = plan_of(
            [site("a"), site("b")],
            [node("a-1", "a"), node("b-1", "b")],
            [job("j", replicas=2)],
            [running("j", "a-1", 3), running("j", "b-1", 1)],
        )
        assert evicted(result, "j") == {("a-1", "scaled down"): 2}
        assert where(result, "j") == {"a-1": 1, "b-1": 1}

    def test_a_node_that_lost_gpus_sheds_the_replicas_it_can_no_longer_hold(self) -> None:
        result = plan_of(
            [site("a")],
            [node("n1", "a", phase=NodePhase.DEGRADED, healthy_gpus=4), node("n2", "a")],
            [job("j", replicas=6)],
            [running("j", "n1", 6)],
        )
        assert evicted(result, "j") == {("n1", "node lost GPUs"): 2}
        assert where(result, "j") == {"n1": 4, "n2": 2}

    def test_a_site_over_its_power_budget_sheds_preemptible_work_first(self) -> None:
        result = plan_of(
            [site("a", capacity_kw=3.0, other_load_kw=1.0)],
            [node("n1", "a")],
            [
                job("must", replicas=2, preemptible=False, priority=0),
                job("may", replicas=2, preemptible=True, priority=50),
            ],
            [running("must", "n1", 2), running("may", "n1", 2)],
        )
        # 2 kW left, 2.8 kW running: the preemptible job gives back two replicas, though
        # its priority is higher; that is enough, so the non-preemptible job keeps its own.
        assert evicted(result, "may") == {("n1", "site over power budget"): 2}
        assert evicted(result, "must") == {}

    def test_a_site_cut_below_its_preemptible_work_moves_non_preemptible_work_too(self) -> None:
        result = plan_of(
            [site("a", phase=SitePhase.CURTAILED, capacity_kw=1.0), site("b")],
            [node("a-1", "a"), node("b-1", "b")],
            [
                job("low", replicas=2, preemptible=False, priority=10),
                job("high", replicas=2, preemptible=False, priority=90),
                job("spare", replicas=1, preemptible=True, priority=99),
            ],
            [running("low", "a-1", 2), running("high", "a-1", 2), running("spare", "a-1", 1)],
        )
        # 1 kW left for 5 replicas of 0.7 kW: the preemptible one goes, then the lower
        # priority non-preemptible job, until one replica of 0.7 kW fits; they run at b.
        assert evicted(result, "spare") == {("a-1", "site Curtailed"): 1}
        assert evicted(result, "low") == {("a-1", "site Curtailed"): 2}
        assert evicted(result, "high") == {("a-1", "site Curtailed"): 1}
        assert where(result, "low") == {"b-1": 2}
        assert where(result, "high") == {"a-1": 1, "b-1": 1}

    def test_a_site_whose_mining_alone_exceeds_its_budget_keeps_no_gpu_work(self) -> None:
        result = plan_of(
            [site("a", phase=SitePhase.CURTAILED, capacity_kw=1.0, other_load_kw=2.0)],
            [node("a-1", "a")],
            [job("must", replicas=2, preemptible=False, priority=100)],
            [running("must", "a-1", 2)],
        )
        assert evicted(result, "must") == {("a-1", "site Curtailed"): 2}
        assert where(result, "must") == {}
        assert why(result, "must") == {"site Curtailed": 1}  # one node, ruled out

    def test_replicas_of_a_deleted_job_are_evicted(self) -> None:
        result = plan_of([site("a")], [node("n1", "a")], [], [running("gone", "n1", 2)])
        assert evicted(result, "gone") == {("n1", "job deleted"): 2}
        assert result.placements == ()

    def test_a_tighter_slo_moves_replicas_that_no_longer_meet_it(self) -> None:
        result = plan_of(
            [site("far", latency_ms={"north-america": 45.0}), site("near")],
            [node("far-1", "far"), node("near-1", "near")],
            [job("j", max_latency_ms=30.0)],
            [running("j", "far-1", 1)],
        )
        assert evicted(result, "j") == {("far-1", "latency > 30ms"): 1}
        assert where(result, "j") == {"near-1": 1}

    def test_a_running_job_that_lost_a_site_refills_elsewhere_and_reports_the_spread(self) -> None:
        result = plan_of(
            [site("a"), site("b", phase=SitePhase.OFFLINE)],
            [node("a-1", "a"), node("b-1", "b")],
            [job("j", replicas=2, min_sites=2)],
            [running("j", "a-1", 1), running("j", "b-1", 1)],
        )
        assert where(result, "j") == {"a-1": 2}
        assert "minSites 2 not reachable" in why(result, "j")


class TestMiningCoexistence:
    # 10 kW site, 9 kW other load of which 8 kW mining, 4 kW of it curtailable:
    # 1 kW free without touching the miners, 5 kW if they shed what they may.
    def mining_site(self) -> list:  # type: ignore[type-arg]
        return [
            site("m", capacity_kw=10.0, other_load_kw=9.0, mining_load_kw=8.0, curtailable_kw=4.0)
        ]

    def test_curtailable_mining_counts_as_headroom_and_sets_the_mining_target(self) -> None:
        result = plan_of(self.mining_site(), [node("n1", "m")], [job("j", replicas=6)])
        assert where(result, "j") == {"n1": 6}
        (budget,) = result.sites
        assert budget.available_kw_before == 5.0
        assert budget.available_kw_after == 0.8
        assert budget.mining_target_kw == 4.8  # 4.2 kW of GPUs, 1 kW was free: shed 3.2

    def test_no_curtailment_when_the_gpus_fit_beside_the_miners(self) -> None:
        result = plan_of(self.mining_site(), [node("n1", "m")], [job("j")])
        assert result.sites[0].mining_target_kw == 8.0

    def test_never_more_than_the_curtailable_part_is_counted(self) -> None:
        result = plan_of(self.mining_site(), [node("n1", "m")], [job("j", replicas=8)])
        assert where(result, "j") == {"n1": 7}
        assert why(result, "j") == {"no power at site": 1}
        assert result.sites[0].mining_target_kw == 4.1


class TestMiningRevenue:
    """GPU work takes the mining a site may shed only when it earns more per kWh than that
    mining (docs/api.md, Revenue). Same site as TestMiningCoexistence: 1 kW free beside
    the miners, 4 kW more if they shed; mining earns 0.10 USD/kWh there. A 700 W replica
    of one GPU earning 0.05 USD per GPU-hour makes 0.07 USD/kWh; at 2 USD, 2.86."""

    def mining_site(self, usd_per_kwh: float | None = 0.10) -> list:  # type: ignore[type-arg]
        return [
            site(
                "m",
                capacity_kw=10.0,
                other_load_kw=9.0,
                mining_load_kw=8.0,
                curtailable_kw=4.0,
                mining_usd_per_kwh=usd_per_kwh,
            )
        ]

    def test_work_that_earns_less_than_mining_uses_only_the_power_beside_it(self) -> None:
        result = plan_of(
            self.mining_site(),
            [node("n1", "m")],
            [job("j", replicas=3, value_usd_per_gpu_hour=0.05)],
        )
        assert where(result, "j") == {"n1": 1}
        assert why(result, "j") == {"the power left is mining's, which earns more per kWh": 1}
        assert result.sites[0].mining_target_kw == 8.0  # the miners keep running

    def test_work_that_earns_more_than_mining_takes_its_power(self) -> None:
        result = plan_of(
            self.mining_site(),
            [node("n1", "m")],
            [job("j", replicas=3, value_usd_per_gpu_hour=2.0)],
        )
        assert where(result, "j") == {"n1": 3}
        assert result.sites[0].mining_target_kw == 6.9

    def test_without_a_value_or_a_hashprice_gpu_work_wins(self) -> None:
        no_value = plan_of(self.mining_site(), [node("n1", "m")], [job("j", replicas=3)])
        no_price = plan_of(
            self.mining_site(None),
            [node("n1", "m")],
            [job("j", replicas=3, value_usd_per_gpu_hour=0.05)],
        )
        assert where(no_value, "j") == where(no_price, "j") == {"n1": 3}

    def test_the_valuable_work_takes_the_mining_and_leaves_the_free_power_to_the_rest(
        self,
    ) -> None:
        # The valuable job goes first (higher priority) and could take the 1 kW beside the
        # miners; it must not leave the cheap one without it.
        result = plan_of(
            self.mining_site(),
            [node("n1", "m")],
            [
                job("rich", replicas=5, value_usd_per_gpu_hour=2.0, priority=10),
                job("cheap", replicas=1, value_usd_per_gpu_hour=0.05),
            ],
        )
        assert where(result, "rich") == {"n1": 5}
        assert where(result, "cheap") == {"n1": 1}
        assert result.sites[0].available_kw_after == 0.8

    def test_running_work_that_earns_less_counts_against_the_power_beside_the_miners(
        self,
    ) -> None:
        result = plan_of(
            self.mining_site(),
            [node("n1", "m")],
            [job("j", replicas=2, value_usd_per_gpu_hour=0.05)],
            [running("j", "n1", 1)],
        )
        assert where(result, "j") == {"n1": 1}
        assert why(result, "j") == {"the power left is mining's, which earns more per kWh": 1}

    def test_preemption_does_not_make_room_in_mining_the_job_may_not_take(self) -> None:
        result = plan_of(
            self.mining_site(),
            [node("n1", "m")],
            [
                job("low", replicas=6, preemptible=True, value_usd_per_gpu_hour=2.0),
                job("high", replicas=2, priority=10, value_usd_per_gpu_hour=0.05),
            ],
            [running("low", "n1", 6)],  # 4.2 of the 5 kW: 0.8 kW left, all of it free
        )
        assert where(result, "high") == {"n1": 1}
        assert evicted(result, "low") == {}


class TestExplanations:
    def test_each_node_is_counted_once_under_its_first_reason_largest_count_first(self) -> None:
        result = plan_of(
            [site("near"), site("far", latency_ms={"north-america": 90.0})],
            [
                node("far-1", "far", gpu_model="A100-80GB"),
                node("far-2", "far"),
                node("far-3", "far"),
                node("near-1", "near", gpu_model="A100-80GB"),
                node("near-2", "near", gpu_model="L40S-48GB"),
            ],
            [job("j", max_latency_ms=50.0, gpu_models=("H100-80GB",))],
        )
        (entry,) = result.unschedulable
        assert entry.reasons == {"latency > 50ms": 3, "no H100-80GB": 2}
        assert entry.message == "0/5 nodes fit: 3 latency > 50ms, 2 no H100-80GB"
        assert entry.missing == 1

    def test_a_fleet_without_nodes_says_so(self) -> None:
        result = plan_of([site("a")], [], [job("j")])
        assert result.unschedulable[0].message == "0/0 nodes fit"


class TestEngineObject:
    def test_placement_engine_and_plan_function_agree(self) -> None:
        snapshot = Snapshot(sites=(site("a"),), nodes=(node("n1", "a"),), jobs=(job("j"),))
        assert PlacementEngine().plan(snapshot) == plan(snapshot)


class NotN1(DynamicFilterKind):
    """An out-of-tree rule that only says no (node n1), with the default hooks."""

    name: ClassVar[str] = "NotN1"

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult:
        named_n1 = np.array([fleet.nodes[i].name == "n1" for i in nodes], dtype=np.bool_)
        return FilterResult.reject((named_n1, "not n1"))


def _profile(*dynamic: str) -> Profile:
    return build_profile(dynamic_filters=dynamic, registry={**REGISTRY, "NotN1": NotN1})


def _plan_with(profile: Profile, *args: Any) -> Plan:
    sites, nodes, jobs, placements = args
    snapshot = Snapshot(
        sites=tuple(sites), nodes=tuple(nodes), jobs=tuple(jobs), placements=tuple(placements)
    )
    return plan(snapshot, profile)


class TestEachRuleLivesInItsPlugin:
    """A dynamic rule is its plugin: the fill, preemption and the improvement stage ask the
    plugins of the profile, so a rule left out of the profile is gone everywhere."""

    def test_without_max_replicas_per_site_the_cap_no_longer_limits_the_fill(self) -> None:
        fleet = ([site("a")], [node("n1", "a")], [job("j", replicas=4, max_replicas_per_site=1)])
        capped = _plan_with(DEFAULT_PROFILE, *fleet, [])
        uncapped = _plan_with(_profile("FreeGpus", "SitePower"), *fleet, [])
        assert where(capped, "j") == {"n1": 1}
        assert where(uncapped, "j") == {"n1": 4}

    def test_without_site_power_nothing_is_preempted_for_power(self) -> None:
        fleet = (
            [site("a", capacity_kw=2.1)],
            [node("n1", "a"), node("n2", "a", gpu_model="A100-80GB")],
            [
                job("low", replicas=3, preemptible=True, gpu_models=("H100-80GB",)),
                job("high", priority=100, gpu_models=("A100-80GB",)),
            ],
            [running("low", "n1", 3)],
        )
        with_power = _plan_with(DEFAULT_PROFILE, *fleet)
        without = _plan_with(_profile("FreeGpus", "MaxReplicasPerSite"), *fleet)
        assert evicted(with_power, "low") == {("n1", "preempted by t/high"): 1}
        assert where(without, "high") == {"n2": 1}
        assert without.evictions == ()

    def test_preemption_never_opens_a_node_an_out_of_tree_rule_rules_out(self) -> None:
        # n1 needs one victim, n2 two: without the rule n1 would be chosen.
        fleet = (
            [site("a")],
            [node("n1", "a"), node("n2", "a")],
            [job("low", replicas=15, preemptible=True), job("high", gpu_count=2, priority=100)],
            [running("low", "n1", 7), running("low", "n2", 8)],
        )
        rules = _profile("FreeGpus", "MaxReplicasPerSite", "SitePower", "NotN1")
        result = _plan_with(rules, *fleet)
        assert where(result, "high") == {"n2": 1}
        assert evicted(result, "low") == {("n2", "preempted by t/high"): 2}

    def test_an_out_of_tree_rule_with_default_hooks_bounds_the_fill(self) -> None:
        fleet = ([site("a")], [node("n1", "a"), node("n2", "a")], [job("j", replicas=12)], [])
        result = _plan_with(_profile("FreeGpus", "SitePower", "NotN1"), *fleet)
        assert where(result, "j") == {"n2": 8}
