"""The demo report's mining side: mining kW, both sides' revenue, curtailment response."""

from __future__ import annotations

import pytest

from cango_operator.demo.report_mining import (
    curtailment_response,
    mining_kw,
    revenue,
)
from cango_operator.demo.samples import ReplicaSample, SiteSample, Snapshot

SITE = "tx-1"


def site(
    mining: float, target: float | None, capacity: float = 100.0, powered: bool = True
) -> SiteSample:
    return SiteSample(
        SITE,
        "north-america",
        "Ready" if powered else "Offline",
        powered,
        50.0,
        None,
        40.0,
        1.0,
        {},
        capacity_kw=capacity,
        reserve_kw=5.0,
        mining_kw=mining,
        nominal_mining_kw=80.0,
        curtailable_kw=30.0,
        mining_target_kw=target,
    )


def snap(real_s: float, sample: SiteSample, gpus_kw: float = 10.0) -> Snapshot:
    replica = ReplicaSample("cango", "t/j", "p1", "n1", SITE, 2, gpus_kw * 1000, True)
    baseline = ReplicaSample("baseline", "t/j", "p2", "n2", SITE, 2, gpus_kw * 1000, True)
    return Snapshot(real_s, real_s * 300, {SITE: sample}, (), (replica, baseline), {})


class TestMiningKw:
    def test_the_operators_world_mines_what_the_meter_shows_the_baseline_its_nominal_load(
        self,
    ) -> None:
        s = snap(0, site(60.0, 60.0))
        assert (mining_kw(s, "cango"), mining_kw(s, "baseline")) == (60.0, 80.0)

    def test_a_dark_site_mines_nothing(self) -> None:
        s = snap(0, site(0.0, 0.0, powered=False))
        assert mining_kw(s, "cango") == mining_kw(s, "baseline") == 0.0


class TestRevenue:
    def test_is_kwh_of_mining_and_gpu_hours_at_their_prices(self) -> None:
        snaps = [snap(0, site(60.0, 60.0)), snap(1, site(50.0, 50.0))]
        got = revenue(snaps, [3600.0, 0.0], "cango", 0.07, 2.0)
        assert got.mining_kwh == pytest.approx(60.0)  # the first sample holds an hour
        assert got.mining_usd == pytest.approx(60 * 0.07)
        assert got.gpu_hours == pytest.approx(2.0) and got.gpu_usd == pytest.approx(4.0)
        assert got.total_usd == pytest.approx(4.2 + 4.0)
        assert got.mean_mining_kw == pytest.approx(60.0)


class TestCurtailmentResponse:
    # Capacity 100 -> 85 at real second 10: mining 80 must come down to its target 70.
    SNAPS = (
        snap(9, site(80.0, 80.0)),
        snap(10.5, site(80.0, 80.0)),  # the cut not in the status yet
        snap(11, site(80.0, 70.0, capacity=85.0)),
        snap(13, site(74.0, 70.0, capacity=85.0)),
        snap(15, site(70.5, 70.0, capacity=85.0)),
        snap(30, site(80.0, 80.0)),
    )

    def test_says_when_mining_reached_its_target_and_the_site_its_capacity(self) -> None:
        got = curtailment_response(
            self.SNAPS, "cango", event="dr", site=SITE, real_start=10.0, real_end=20.0
        )
        assert (got.mining_before_kw, got.mining_during_kw, got.capacity_kw) == (80.0, 70.5, 85.0)
        assert got.mining_at_target_s == 5.0  # within 1 kW of the target
        assert got.site_within_s == 5.0  # 70.5 + 10 GPU + 5 reserve <= 85 + 1

    def test_the_baseline_never_sheds_so_it_is_never_within(self) -> None:
        got = curtailment_response(
            self.SNAPS, "baseline", event="dr", site=SITE, real_start=10.0, real_end=20.0
        )
        assert got.mining_at_target_s is None and got.site_within_s is None
        assert got.mining_during_kw == 80.0
