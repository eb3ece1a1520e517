"""Simulated time: the scenario's day runs ``speed`` times faster than real time.

Everything that follows the scenario (feeds, events, submissions, the view's progress
bar) asks one :class:`SimClock`. Control-plane reactions (scheduling, the operator) run
in real time; the report gives those in real seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from cango_operator.errors import ConfigError


class SimClock:
    """Seconds of simulated day elapsed, from a real monotonic clock started by :meth:`start`."""

    def __init__(
        self,
        speed: float,
        day_length_s: float,
        day_start: datetime,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ConfigError(f"--speed must be > 0, got {speed}")
        if day_length_s <= 0:
            raise ConfigError(f"day length must be > 0 s, got {day_length_s}")
        self.speed = speed
        self.day_length_s = day_length_s
        self.day_start = day_start
        self._monotonic = monotonic
        self._started_at: float | None = None

    def start(self) -> None:
        """Start the day now (simulated 00:00 is this instant)."""
        self._started_at = self._monotonic()

    @property
    def started(self) -> bool:
        return self._started_at is not None

    def real_elapsed(self) -> float:
        """Real seconds since :meth:`start` (0 before it)."""
        if self._started_at is None:
            return 0.0
        return self._monotonic() - self._started_at

    def now(self) -> float:
        """Simulated seconds since the day started, never past the day's end."""
        return min(self.real_elapsed() * self.speed, self.day_length_s)

    def fraction(self) -> float:
        """How much of the day has played, 0..1."""
        return self.now() / self.day_length_s

    def finished(self) -> bool:
        return self.real_elapsed() * self.speed >= self.day_length_s

    def real_seconds_until(self, sim_t: float) -> float:
        """Real seconds from now until simulated time ``sim_t`` (0 if already past)."""
        return max(0.0, (sim_t - self.real_elapsed() * self.speed) / self.speed)

    def real_duration(self, sim_seconds: float) -> float:
        """How many real seconds ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.speed

    def wall_time(self, sim_t: float | None = None) -> datetime:
        """The simulated calendar time at ``sim_t`` (default: now)."""
        return self.day_start + timedelta(seconds=self.now() if sim_t is None else sim_t)
