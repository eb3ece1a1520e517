"""Simulated time runs `speed` times faster than the real clock, and stops at the day's end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cango_operator.demo.clock import SimClock
from cango_operator.errors import ConfigError

DAY_START = datetime(2025, 1, 20, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def clock(speed: float = 300, length: float = 86400) -> tuple[SimClock, FakeMonotonic]:
    real = FakeMonotonic()
    return SimClock(speed, length, DAY_START, real), real


class TestSimClock:
    def test_before_start_the_day_has_not_begun(self) -> None:
        sim, real = clock()
        real.t += 50
        assert sim.now() == 0
        assert not sim.started

    def test_simulated_seconds_are_real_seconds_times_speed(self) -> None:
        sim, real = clock(speed=300)
        sim.start()
        real.t += 12
        assert sim.real_elapsed() == 12
        assert sim.now() == 3600
        assert sim.fraction() == pytest.approx(3600 / 86400)
        assert sim.wall_time() == datetime(2025, 1, 20, 1, 0, tzinfo=UTC)

    def test_it_stops_at_the_end_of_the_day(self) -> None:
        sim, real = clock(speed=300)
        sim.start()
        real.t += 86400 / 300 - 0.5
        assert not sim.finished()
        real.t += 1
        assert sim.finished()
        assert sim.now() == 86400
        assert sim.fraction() == 1.0

    def test_real_seconds_until_a_simulated_moment(self) -> None:
        sim, real = clock(speed=600)
        sim.start()
        real.t += 6
        assert sim.real_seconds_until(7200) == pytest.approx(6)
        assert sim.real_seconds_until(60) == 0
        assert sim.real_duration(3600) == 6

    @pytest.mark.parametrize("speed", [0, -3])
    def test_speed_must_be_positive(self, speed: float) -> None:
        with pytest.raises(ConfigError, match="--speed must be > 0"):
            SimClock(speed, 86400, DAY_START)
