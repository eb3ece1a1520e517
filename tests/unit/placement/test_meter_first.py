"""hold_for_meter, the pure rule: which new replicas wait for a site's meter."""

from __future__ import annotations

from cango_operator.placement import Plan, Snapshot
from cango_operator.placement.meterfirst import TOLERANCE_SHARE, hold_for_meter
from cango_operator.placement.plan import Placement
from cango_operator.placement.snapshot import JobRequest, SitePhase, SiteState


def site(other_load_kw: float, phase: SitePhase = SitePhase.READY, **kw: float) -> SiteState:
    return SiteState(
        name="tx",
        region="north-america",
        capacity_kw=100,
        other_load_kw=other_load_kw,
        mining_load_kw=other_load_kw,
        curtailable_kw=50,
        phase=phase,
        **kw,
    )


def job(name: str, priority: int = 0) -> JobRequest:
    return JobRequest(namespace="t", name=name, replicas=4, gpu_count=1, priority=priority)


def row(name: str, replicas: int, new: int, node: str = "tx-n1") -> Placement:
    return Placement(
        job=f"t/{name}", site="tx", node=node, replicas=replicas, gpus=replicas,
        power_w=10_000.0 * replicas, new_replicas=new,
    )  # fmt: skip


def plan_of(*rows: Placement) -> Plan:
    return Plan(placements=rows, evictions=(), unschedulable=(), sites=())


def snapshot(state: SiteState, *jobs: JobRequest) -> Snapshot:
    return Snapshot(sites=(state,), nodes=(), jobs=jobs, placements=())


class TestTheRoomTheMeterShows:
    def test_new_replicas_start_as_far_as_it_goes_the_rest_are_held(self) -> None:
        # 100 - 75 = 25 kW, plus 1 kW of tolerance: two replicas of 10 kW.
        held = hold_for_meter(plan_of(row("a", 4, 4)), snapshot(site(75), job("a")), ["tx"], {})
        assert held == {("t/a", "tx-n1"): 2}

    def test_the_tolerance_is_a_share_of_capacity(self) -> None:
        edge = 100 - 20 + 100 * TOLERANCE_SHARE  # 20 kW of room with the tolerance
        for other_load, held in ((edge - 0.5, {}), (edge + 0.5, {("t/a", "tx-n1"): 1})):
            plan = plan_of(row("a", 2, 2))
            assert hold_for_meter(plan, snapshot(site(other_load), job("a")), ["tx"], {}) == held

    def test_running_replicas_take_their_share_first(self) -> None:
        # 2 of 4 run already (20 kW): 100 - 55 - 20 = 25 kW for the 2 new ones.
        held = hold_for_meter(plan_of(row("a", 4, 2)), snapshot(site(55), job("a")), ["tx"], {})
        assert held == {}

    def test_measured_gpu_draw_above_the_plan_counts(self) -> None:
        state = site(55, gpu_draw_kw=30)  # 10 kW more than the running replicas'
        held = hold_for_meter(plan_of(row("a", 4, 2)), snapshot(state, job("a")), ["tx"], {})
        assert held == {("t/a", "tx-n1"): 1}

    def test_what_was_held_before_is_pending_again(self) -> None:
        # 1 of 4 runs (10 kW), 3 were held: 100 - 75 - 10 = 15 kW (+1) starts one more.
        held = hold_for_meter(
            plan_of(row("a", 4, 0)), snapshot(site(75), job("a")), ["tx"], {("t/a", "tx-n1"): 3}
        )
        assert held == {("t/a", "tx-n1"): 2}

    def test_the_highest_priority_goes_first(self) -> None:
        plan = plan_of(row("low", 1, 1, "tx-n1"), row("high", 1, 1, "tx-n2"))
        held = hold_for_meter(plan, snapshot(site(85), job("low", 1), job("high", 9)), ["tx"], {})
        assert held == {("t/low", "tx-n1"): 1}


class TestSitesItDoesNotJudge:
    def test_a_site_without_a_meter_holds_nothing(self) -> None:
        assert hold_for_meter(plan_of(row("a", 4, 4)), snapshot(site(99), job("a")), [], {}) == {}

    def test_a_site_whose_figures_cannot_be_trusted_starts_nothing(self) -> None:
        for phase in (SitePhase.UNKNOWN, SitePhase.OFFLINE):
            state = site(0, phase)
            held = hold_for_meter(plan_of(row("a", 2, 2)), snapshot(state, job("a")), ["tx"], {})
            assert held == {("t/a", "tx-n1"): 2}
