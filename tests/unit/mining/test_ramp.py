"""The ramp: which miner sheds or takes back power, in which order and batch."""

from __future__ import annotations

import pytest

from cango_operator.api import ShedOrder
from cango_operator.mining import MinerProfile
from cango_operator.mining.ramp import (
    SLEEP_W,
    ActionKind,
    MinerView,
    RampLimits,
    plan_ramp,
)

#: Same three profiles (full, eco, low) at two efficiencies.
OLD = (MinerProfile("full", 3000, 90), MinerProfile("eco", 2400, 75), MinerProfile("low", 2000, 60))
NEW = (
    MinerProfile("full", 3000, 170),
    MinerProfile("eco", 2400, 150),
    MinerProfile("low", 2000, 125),
)
LIMITS = RampLimits(batch_size=100, batch_interval_s=0)


def miner(
    address: str,
    profiles: tuple[MinerProfile, ...] = OLD,
    profile: str = "full",
    *,
    asleep: bool = False,
    reachable: bool = True,
    watts: float | None = None,
) -> MinerView:
    draw = SLEEP_W if asleep else next(p.watts for p in profiles if p.name == profile)
    return MinerView(
        address, draw if watts is None else watts, reachable, asleep, profile, profiles
    )


def kinds(actions: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(a.address, a.kind.value) for a in actions]


class TestShedding:
    def test_lowers_the_least_efficient_miners_first_and_stops_when_under_the_target(
        self,
    ) -> None:
        fleet = [miner("new", NEW), miner("old-1"), miner("old-2")]
        ramp = plan_ramp(fleet, 9000 - 1500, LIMITS)
        assert kinds(ramp.actions) == [("old-1", "SetProfile"), ("old-2", "SetProfile")]
        assert {a.profile.name for a in ramp.actions if a.profile} == {"low"}
        assert ramp.expected_w == 7000
        assert ramp.shortfall_w == 0

    def test_sleeps_the_least_efficient_when_lowering_everyone_is_not_enough(self) -> None:
        fleet = [miner("new", NEW), miner("old-1"), miner("old-2")]
        ramp = plan_ramp(fleet, 4500, LIMITS)
        assert kinds(ramp.actions) == [
            ("old-1", "Sleep"),
            ("old-2", "SetProfile"),
            ("new", "SetProfile"),
        ]
        assert ramp.expected_w == SLEEP_W + 2000 + 2000
        assert not {a.address for a in ramp.actions if a.kind is ActionKind.SLEEP} & {
            a.address for a in ramp.actions if a.kind is ActionKind.SET_PROFILE
        }

    def test_sleep_first_never_touches_a_profile(self) -> None:
        fleet = [miner("new", NEW), miner("old-1"), miner("old-2")]
        ramp = plan_ramp(fleet, 5000, LIMITS, ShedOrder.SLEEP_FIRST)
        assert kinds(ramp.actions) == [("old-1", "Sleep"), ("old-2", "Sleep")]

    def test_a_silent_miner_counts_at_its_last_draw_and_is_not_acted_on(self) -> None:
        fleet = [miner("gone", reachable=False, watts=3000), miner("a"), miner("b")]
        ramp = plan_ramp(fleet, 3000, LIMITS, ShedOrder.SLEEP_FIRST)
        assert ramp.before_w == 9000
        assert kinds(ramp.actions) == [("a", "Sleep"), ("b", "Sleep")]
        assert ramp.expected_w == 3000 + 2 * SLEEP_W
        assert ramp.shortfall_w == pytest.approx(2 * SLEEP_W)

    def test_says_how_far_above_the_target_the_fleet_stays_when_it_cannot_get_under(
        self,
    ) -> None:
        fleet = [miner("gone", reachable=False, watts=3000), miner("a")]
        ramp = plan_ramp(fleet, 1000, LIMITS)
        assert kinds(ramp.actions) == [("a", "Sleep")]
        assert ramp.shortfall_w == pytest.approx(3000 + SLEEP_W - 1000)

    def test_batches_hold_at_most_the_batch_size_in_the_planned_order(self) -> None:
        fleet = [miner(f"m{i:03d}") for i in range(45)]
        ramp = plan_ramp(fleet, 0, RampLimits(batch_size=20, batch_interval_s=30))
        assert [len(b) for b in ramp.batches] == [20, 20, 5]
        assert [a.address for a in ramp.actions] == [f"m{i:03d}" for i in range(45)]


class TestMinersWithoutProfiles:
    """Firmware that only sleeps and wakes (ePIC here): ranked by the J/TH of their own
    figures while mining, never lowered."""

    def sleep_only(self, address: str, j_per_th: float, *, asleep: bool = False) -> MinerView:
        return MinerView(address, SLEEP_W if asleep else 3000, True, asleep, "", (), 3000, j_per_th)

    def test_they_are_slept_least_efficient_first_even_when_lowering_is_asked(self) -> None:
        fleet = [self.sleep_only("good", 20), self.sleep_only("poor", 35)]
        ramp = plan_ramp(fleet, 3500, LIMITS, ShedOrder.LOWER_THEN_SLEEP)
        assert kinds(ramp.actions) == [("poor", "Sleep")]

    def test_they_wake_to_their_last_mining_draw(self) -> None:
        fleet = [self.sleep_only("poor", 35, asleep=True), self.sleep_only("good", 20, asleep=True)]
        ramp = plan_ramp(fleet, 3500, LIMITS)
        assert kinds(ramp.actions) == [("good", "Wake")]
        assert ramp.expected_w == pytest.approx(3000 + SLEEP_W)


class TestRestoring:
    def test_wakes_the_most_efficient_first_and_never_overshoots(self) -> None:
        fleet = [miner("old", asleep=True), miner("new", NEW, asleep=True)]
        ramp = plan_ramp(fleet, 4000, LIMITS)
        assert kinds(ramp.actions) == [("new", "Wake")]
        assert ramp.expected_w <= 4000

    def test_raises_profiles_within_the_room_left(self) -> None:
        fleet = [miner("old", profile="low"), miner("new", NEW, profile="low")]
        ramp = plan_ramp(fleet, 4000 + 500, LIMITS)
        assert [(a.address, a.profile.name) for a in ramp.actions if a.profile] == [("new", "eco")]
        assert ramp.expected_w == 4400

    def test_inside_the_dead_band_nothing_moves(self) -> None:
        fleet = [miner("a", profile="low"), miner("b", profile="low")]
        assert plan_ramp(fleet, 4000 + 900, LIMITS, deadband_w=1000).actions == []
        assert plan_ramp(fleet, 4000, LIMITS).actions == []


class TestLimits:
    @pytest.mark.parametrize(("size", "interval"), [(0, 1.0), (1, -1.0)])
    def test_a_bad_limit_names_its_field(self, size: int, interval: float) -> None:
        with pytest.raises(ValueError, match=r"ramp\.batch"):
            RampLimits(batch_size=size, batch_interval_s=interval)
