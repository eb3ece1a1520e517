"""The site power model: docs/api.md's arithmetic checked by hand, the phases, the conditions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cango_operator.api import Condition, rfc3339
from cango_operator.power import (
    FeedErrorKind,
    FeedProblem,
    FeedSample,
    FeedState,
    GpuLoad,
    SitePhase,
    SitePowerSpec,
    SitePowerState,
    compute_site_power,
    parse_feed_config,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEED = parse_feed_config(
    {
        "type": "http",
        "url": "http://meter/power",
        "jsonPath": "load",
        "pricePath": "price",
        "intervalSeconds": 15,
        "staleAfterSeconds": 90,
    }
)
SPEC = SitePowerSpec(
    capacity_kw=20000,
    reserve_kw=500,
    pue=1.25,
    mining_load_kw=15800,
    curtailable_kw=8000,
    energy_price_usd_per_mwh=38,
    feed=FEED,
)
GPU = GpuLoad(node_power_kw=240, committed_kw=320)  # x 1.25: draw 300 kW, committed 400 kW


def sample(**values: object) -> FeedSample:
    fields: dict[str, object] = {"timestamp": NOW - timedelta(seconds=5), "total_load_kw": 16100.0}
    fields.update(values)
    return FeedSample(**fields)  # type: ignore[arg-type]


def power(
    last_good: FeedSample | None = None,
    *,
    problem: FeedProblem | None = None,
    spec: SitePowerSpec = SPEC,
    gpu: GpuLoad = GPU,
    now: datetime = NOW,
) -> SitePowerState:
    feed = FeedState("http feed http://meter/power", last_good, problem, provides_price=True)
    return compute_site_power(spec, feed, gpu, now)


def condition(state: SitePowerState, type_: str) -> tuple[str, str]:
    found = state.condition(type_)
    assert found is not None, f"no {type_} condition"
    return found.status, found.reason


class TestArithmetic:
    def test_site_load_feed_matches_the_api_formula(self) -> None:
        state = power(sample())
        assert state.phase is SitePhase.READY
        assert state.gpu_draw_kw == 300  # 240 x 1.25
        assert state.committed_kw == 400  # 320 x 1.25
        assert state.other_load_kw == 15800  # 16100 site load - 300 GPU draw
        assert state.capacity_kw == 20000
        # 20000 - 500 - 15800 - max(300, 400) + min(8000, 15800)
        assert state.available_kw == 11300
        assert state.gpu_excess_kw == 0
        assert state.mining_target_kw == 15800  # room enough: mining carries on

    def test_mining_scope_feed_is_the_other_load_itself(self) -> None:
        state = power(sample(total_load_kw=None, mining_load_kw=15800.0))
        assert (state.other_load_kw, state.available_kw) == (15800, 11300)

    def test_without_a_live_load_the_spec_mining_load_applies(self) -> None:
        state = power(FeedSample(timestamp=NOW))
        assert state.other_load_kw == 15800
        assert state.available_kw == 20000 - 500 - 15800 - 400 + 8000

    def test_measured_draw_counts_when_above_the_commitment(self) -> None:
        state = power(sample(), gpu=GpuLoad(node_power_kw=400, committed_kw=320))
        assert state.gpu_draw_kw == 500
        assert state.other_load_kw == 15600  # 16100 - 500
        # 200 kW of the 15,800 nominal already shed: 7,800 more may be
        assert state.available_kw == 20000 - 500 - 15600 - 500 + 7800

    def test_shedding_is_limited_by_what_mining_draws(self) -> None:
        spec = replace(SPEC, mining_load_kw=8000)  # all of it curtailable
        state = power(sample(total_load_kw=3300.0), spec=spec)  # mining 3000 < 8000
        assert state.available_kw == 20000 - 500 - 3000 - 400 + 3000

    def test_mining_already_shed_is_not_counted_twice(self) -> None:
        # 15,800 nominal, 8,000 of it curtailable; the meter shows 12,000: 3,800 are shed
        # already, so 4,200 more may be, not 8,000.
        state = power(sample(total_load_kw=12300.0))
        assert state.available_kw == 20000 - 500 - 12000 - 400 + 4200
        assert state.mining_target_kw == 12000  # the GPU work fits: no more shedding

    def test_other_load_never_negative_when_gpu_draw_exceeds_site_load(self) -> None:
        assert power(sample(total_load_kw=100.0)).other_load_kw == 0

    def test_available_is_floored_and_the_gpu_excess_reported(self) -> None:
        spec = replace(SPEC, curtailable_kw=0)
        state = power(sample(total_load_kw=19500.0), spec=spec)
        # 20000 - 500 - 19200 - 400 + 0 = -100: GPU work 100 kW over budget
        assert (state.available_kw, state.gpu_excess_kw) == (0, 100)

    def test_live_price_overrides_the_spec_price(self) -> None:
        assert power(sample(price_usd_per_mwh=55.5)).energy_price_usd_per_mwh == 55.5
        assert power(sample()).energy_price_usd_per_mwh == 38


class TestCurtailment:
    def test_lower_feed_capacity_lowers_the_budget_and_stops_new_placements(self) -> None:
        state = power(sample(capacity_kw=10000.0))
        assert state.phase is SitePhase.CURTAILED
        assert not state.accepting_placements
        assert state.capacity_kw == 10000
        assert state.available_kw == 0  # Curtailed: no new placements (docs/api.md)
        assert state.gpu_excess_kw == 0  # 10000 - 500 - 15800 - 400 + 8000 = 1300 >= 0
        assert state.mining_target_kw == 10000 - 500 - 400  # mining sheds to make room
        assert condition(state, "Curtailed") == ("True", "CapacityReduced")
        assert condition(state, "AcceptingPlacements") == ("False", "Curtailed")

    def test_deep_curtailment_makes_gpu_work_excess_after_mining_sheds_all_it_may(
        self,
    ) -> None:
        state = power(sample(capacity_kw=5000.0))
        # 5000 - 500 - 15800 - 400 + 8000 = -3700: all 400 kW of GPU work must go
        assert (state.available_kw, state.gpu_excess_kw) == (0, 400)
        assert state.mining_target_kw == 15800 - 8000  # never below present - curtailable

    def test_zero_capacity_is_offline(self) -> None:
        state = power(sample(capacity_kw=0.0, total_load_kw=0.0))
        assert state.phase is SitePhase.OFFLINE
        assert (state.available_kw, state.gpu_excess_kw, state.mining_target_kw) == (0, 400, 0)
        assert condition(state, "AcceptingPlacements") == ("False", "Offline")
        assert condition(state, "Curtailed") == ("True", "CapacityZero")

    def test_signal_without_a_figure_holds_the_site_at_its_present_draw(self) -> None:
        state = power(sample(curtailed=True))
        assert state.phase is SitePhase.CURTAILED
        assert state.capacity_kw == 16100  # 15800 other + 300 GPU draw
        assert state.gpu_excess_kw == 0  # mining can make room: 16100-500-15800-400+8000 > 0
        assert state.mining_target_kw == 16100 - 500 - 400
        assert condition(state, "Curtailed") == ("True", "CurtailmentSignal")

    def test_signal_with_no_room_left_makes_gpu_work_excess(self) -> None:
        spec = replace(SPEC, curtailable_kw=0)
        state = power(sample(curtailed=True), spec=spec)
        # held at 16100: 16100 - 500 - 15800 - 400 + 0 = -600; all 400 kW of GPU work
        assert state.gpu_excess_kw == 400

    def test_capacity_above_the_contract_is_clamped_to_it(self) -> None:
        state = power(sample(capacity_kw=21000.0))
        assert (state.phase, state.capacity_kw) == (SitePhase.READY, 20000)
        assert condition(state, "Curtailed") == ("False", "FullCapacity")


class TestFailSafe:
    def test_no_sample_yet_is_unknown(self) -> None:
        state = power(None)
        assert state.phase is SitePhase.UNKNOWN
        assert state.available_kw == 0
        assert condition(state, "PowerFeedHealthy") == ("Unknown", "AwaitingFirstSample")

    def test_a_failed_poll_is_unknown_keeping_running_work_and_last_load(self) -> None:
        problem = FeedProblem(FeedErrorKind.TIMEOUT, "http feed http://meter/power: no answer")
        state = power(sample(), problem=problem)
        assert state.phase is SitePhase.UNKNOWN
        assert not state.accepting_placements
        assert (state.available_kw, state.gpu_excess_kw) == (0, 0)
        assert state.other_load_kw == 15800  # last known, for people reading status
        assert state.mining_target_kw == 15800  # no signal to change mining
        assert condition(state, "PowerFeedHealthy") == ("False", "FeedTimeout")
        accepting = state.condition("AcceptingPlacements")
        assert accepting is not None
        assert accepting.message == (
            "no new placements, running work stays: http feed http://meter/power: no answer"
        )
        assert state.feed_message == problem.message

    def test_a_sample_older_than_stale_after_is_unknown(self) -> None:
        state = power(sample(timestamp=NOW - timedelta(seconds=91)))
        assert state.phase is SitePhase.UNKNOWN
        assert condition(state, "PowerFeedHealthy") == ("False", "FeedStale")
        assert "is 91 s old (staleAfterSeconds 90)" in state.feed_message

    def test_unknown_wins_over_curtailment(self) -> None:
        problem = FeedProblem(FeedErrorKind.NAN, "nan")
        state = power(sample(capacity_kw=0.0), problem=problem)
        assert state.phase is SitePhase.UNKNOWN
        assert condition(state, "Curtailed") == ("Unknown", "FeedUnhealthy")

    def test_broken_price_only_degrades(self) -> None:
        price_problem = FeedProblem(FeedErrorKind.NAN, "http feed: energy price is nan")
        state = power(sample(price_problem=price_problem))
        assert state.phase is SitePhase.DEGRADED
        assert state.accepting_placements
        assert state.energy_price_usd_per_mwh == 38
        assert state.available_kw == 11300
        assert condition(state, "PriceFeedHealthy") == ("False", "FeedNan")


class TestStatusDocument:
    def test_status_has_the_api_fields(self) -> None:
        status = power(sample()).status()
        assert status["phase"] == "Ready"
        assert status["power"] == {
            "capacityKw": 20000,
            "otherLoadKw": 15800,
            "gpuDrawKw": 300,
            "committedKw": 400,
            "availableKw": 11300,
            "miningTargetKw": 15800,
            "gpuExcessKw": 0,
            "feed": {
                "healthy": True,
                "lastSampleTime": "2024-05-01T11:59:55Z",
                "lastValueKw": 16100,
                "message": "http feed http://meter/power: site load 16100 kW",
            },
        }
        assert status["energyPriceUsdPerMwh"] == 38
        types = [c["type"] for c in status["conditions"]]
        assert types == ["PowerFeedHealthy", "PriceFeedHealthy", "Curtailed", "AcceptingPlacements"]
        assert all(c["lastTransitionTime"] == "2024-05-01T12:00:00Z" for c in status["conditions"])

    def test_unchanged_conditions_keep_their_transition_time(self) -> None:
        earlier = NOW - timedelta(hours=1)
        old = [
            stored("PowerFeedHealthy", "True", "SampleFresh", earlier),
            stored("Curtailed", "True", "CapacityReduced", earlier),
        ]
        feed = FeedState("http feed http://meter/power", sample(), provides_price=True)
        new = compute_site_power(SPEC, feed, GPU, NOW, old).conditions
        merged = {c.type: c.last_transition_time for c in new}
        assert merged["PowerFeedHealthy"] == earlier  # still True
        assert merged["Curtailed"] == NOW  # True -> False
        assert merged["AcceptingPlacements"] == NOW  # new

    def test_long_feed_messages_are_cut(self) -> None:
        problem = FeedProblem(FeedErrorKind.TIMEOUT, "slow " * 500)
        status = power(sample(), problem=problem).status()
        healthy = next(c for c in status["conditions"] if c["type"] == "PowerFeedHealthy")
        assert len(healthy["message"]) == 1000
        assert healthy["message"].endswith("...")


def stored(type_: str, status: str, reason: str, when: datetime) -> Condition:
    return Condition.model_validate(
        {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": "x",
            "lastTransitionTime": rfc3339(when),
        }
    )


kw = st.floats(min_value=0, max_value=30000, allow_nan=False)
WATT = 1e-3  # the model rounds kW figures to watts


class TestInvariants:
    @given(
        load=kw,
        capacity=st.none() | kw,
        node=st.floats(0, 3000),
        committed=st.floats(0, 3000),
        curtailable=st.floats(0, 20000),
        curtailed=st.none() | st.booleans(),
    )
    def test_budget_figures_stay_in_range(
        self,
        *,
        load: float,
        capacity: float | None,
        node: float,
        committed: float,
        curtailable: float,
        curtailed: bool | None,
    ) -> None:
        spec = replace(SPEC, curtailable_kw=curtailable)
        state = power(
            sample(total_load_kw=load, capacity_kw=capacity, curtailed=curtailed),
            spec=spec,
            gpu=GpuLoad(node, committed),
        )
        gpu_need = max(state.gpu_draw_kw, state.committed_kw)
        assert state.available_kw >= 0
        assert 0 <= state.gpu_excess_kw <= gpu_need + WATT
        assert state.available_kw == 0 or state.gpu_excess_kw == 0
        assert 0 <= state.capacity_kw <= spec.capacity_kw
        assert 0 <= state.mining_target_kw <= state.other_load_kw + WATT
        if state.phase is not SitePhase.OFFLINE:
            floor = state.other_load_kw - curtailable
            assert state.mining_target_kw >= floor - WATT


@pytest.mark.parametrize("phase", list(SitePhase))
def test_only_ready_and_degraded_accept_placements(phase: SitePhase) -> None:
    state = replace(power(sample()), phase=phase)
    expected = phase in (SitePhase.READY, SitePhase.DEGRADED)
    assert state.accepting_placements is expected
