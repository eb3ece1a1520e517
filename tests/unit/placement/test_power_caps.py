"""GPU power caps, the second actuator (placement.powercap): a site whose power, not its
GPUs, runs out caps its GPUs when that serves more GPUs, never at a priority's expense,
and lifts the cap once it no longer makes the work fit."""

from __future__ import annotations

from dataclasses import replace

from cango_operator.placement import Snapshot, plan
from cango_operator.placement.powercap import plan_with_power_caps, with_caps
from tests.unit.placement.fleet import job, node, running, site, where, why

# 10 kW at the site for GPUs (capacity 10, nothing else drawing) and three 8-GPU nodes of
# 700 W GPUs; a job of one-GPU replicas: at full power 14 fit (9.8 kW), capped to 60 %
# (420 W) all 20 do (8.4 kW).


def fleet(cap_share: float | None = 0.6, replicas: int = 20) -> Snapshot:
    return Snapshot(
        sites=(site("s", capacity_kw=10.0, gpu_power_cap_share=cap_share),),
        nodes=tuple(node(f"n{i}", "s") for i in range(3)),
        jobs=(job("j", replicas=replicas),),
    )


class TestCapping:
    def test_a_site_short_of_power_caps_its_gpus_when_that_serves_more(self) -> None:
        snapshot = fleet()
        uncapped = plan(snapshot)
        capped = plan_with_power_caps(snapshot)
        assert why(uncapped, "j")["no power at site"] == 2
        assert sum(where(uncapped, "j").values()) == 14  # 14 x 700 W
        assert sum(where(capped, "j").values()) == 20  # 20 x 420 W = 8.4 kW
        assert capped.sites[0].gpu_power_cap_share == 0.6
        assert capped.to_json()["sites"][0]["gpuPowerCapShare"] == 0.6

    def test_never_where_the_site_does_not_allow_it(self) -> None:
        result = plan_with_power_caps(fleet(cap_share=None))
        assert sum(where(result, "j").values()) == 14
        assert result.sites[0].gpu_power_cap_share is None

    def test_never_when_the_gpus_not_the_power_run_out(self) -> None:
        result = plan_with_power_caps(fleet(replicas=10))
        assert sum(where(result, "j").values()) == 10
        assert result.sites[0].gpu_power_cap_share is None


class TestLifting:
    def test_a_cap_stays_while_the_work_it_made_fit_runs(self) -> None:
        snapshot = with_caps(fleet(), {"s": 0.6})
        capped = plan_with_power_caps(snapshot)
        placements = tuple(
            running("j", p.node, p.replicas, power_w=420.0 * p.replicas) for p in capped.placements
        )
        again = plan_with_power_caps(replace(snapshot, placements=placements))
        assert again.sites[0].gpu_power_cap_share == 0.6
        assert again.evictions == ()

    def test_a_cap_no_longer_needed_is_lifted(self) -> None:
        snapshot = with_caps(fleet(replicas=4), {"s": 0.6})
        result = plan_with_power_caps(snapshot)
        assert result.sites[0].gpu_power_cap_share is None
        assert sum(where(result, "j").values()) == 4


class TestTheCappedPower:
    def test_capped_nodes_count_replicas_at_the_cap(self) -> None:
        result = plan(with_caps(fleet(), {"s": 0.5}))
        assert result.placements[0].power_w == 350.0 * result.placements[0].replicas

    def test_running_replicas_recorded_at_full_power_count_at_the_cap(self) -> None:
        snapshot = replace(
            with_caps(fleet(replicas=16), {"s": 0.5}),
            placements=(running("j", "n0", 8, power_w=8 * 700.0),),
        )
        result = plan(snapshot)
        # 8 x 350 W kept, 8 more at 350 W: 5.6 kW of the 10
        assert sum(where(result, "j").values()) == 16

    def test_the_measured_draw_of_a_newly_capped_site_falls_with_the_cap(self) -> None:
        snapshot = replace(fleet(), sites=(site("s", capacity_kw=10.0, gpu_draw_kw=4.0),))
        assert with_caps(snapshot, {"s": 0.5}).sites[0].gpu_draw_kw == 2.0
