"""Metering for billing: each job's ``status.usage`` (GPU-hours, kWh at the meter).

Usage accrues between planning rounds at the rate the previous round observed: ready
replicas times their GPUs, and their committed power times the site's PUE (a placement
line's power is the engine's estimate, ``spec.estimatedPowerW`` or the GPU model's
maximum; NVML cannot tell which pod drew what on a shared node). When fewer replicas are
ready than placed, every line counts in proportion.

Totals live in memory and reach the status at most every ``interval`` seconds, or sooner
when the status is written anyway, so a settled fleet is not rewritten every round. An
operator that starts (or takes over) continues from the totals in the status; the time
between the last status write and the takeover is not counted, so usage can fall short by
at most one interval plus the takeover, never exceed what ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SECONDS_PER_HOUR = 3600.0
#: Decimal places kept in the status: 0.36 s of one GPU, 0.1 Wh.
ROUNDING = 4


@dataclass(frozen=True)
class Rate:
    """What a job uses per hour while the observation holds."""

    gpus: float = 0.0
    kw_at_meter: float = 0.0


@dataclass(frozen=True)
class Line:
    """One placement line of a job: its replicas on one node."""

    replicas: int
    gpus: int  # all replicas together
    power_w: float  # all replicas together, IT power
    pue: float


def rate_of(lines: Iterable[Line], ready: int) -> Rate:
    """The job's rate when ``ready`` of the lines' replicas serve."""
    lines = list(lines)
    placed = sum(line.replicas for line in lines)
    if placed <= 0 or ready <= 0:
        return Rate()
    share = min(ready, placed) / placed
    gpus = sum(line.gpus for line in lines) * share
    kw = sum(line.power_w * line.pue for line in lines) * share / 1000
    return Rate(gpus, kw)


@dataclass
class _Account:
    uid: str
    gpu_hours: float
    energy_kwh: float
    rate: Rate
    since: float  # monotonic seconds: when ``rate`` was observed
    reported: dict[str, float]


class UsageLedger:
    """Per-job usage totals. Every ``interval`` seconds one round reports every job's
    totals; in between, a job's totals are reported only with a status write it makes
    anyway. Times are monotonic seconds."""

    def __init__(self, interval: float, now: float) -> None:
        if interval <= 0:
            raise ValueError(f"usage interval must be positive, got {interval}")
        self.interval = interval
        self._accounts: dict[str, _Account] = {}
        self._now = now
        self._last_flush = now
        self._flush = False

    def start_round(self, now: float) -> None:
        """The round about to observe every job runs at ``now``."""
        self._now = now
        self._flush = self.due(now)
        if self._flush:
            self._last_flush = now

    def due(self, now: float) -> bool:
        """Whether an interval has passed since the last report of every job."""
        return now - self._last_flush >= self.interval

    def observe(self, key: str, uid: str, persisted: Mapping[str, Any] | None, rate: Rate) -> None:
        """Accrue ``key``'s usage up to this round at the rate seen before, then take
        ``rate``. A job seen for the first time (or recreated under the same name:
        another uid) starts from ``persisted``, the usage in its status."""
        account = self._accounts.get(key)
        if account is None or account.uid != uid:
            start = _totals(persisted)
            self._accounts[key] = _Account(
                uid, start["gpuHours"], start["energyKwh"], rate, self._now, start
            )
            return
        hours = max(0.0, self._now - account.since) / SECONDS_PER_HOUR
        account.gpu_hours += account.rate.gpus * hours
        account.energy_kwh += account.rate.kw_at_meter * hours
        account.rate, account.since = rate, self._now

    def usage(self, key: str, *, fresh: bool = False) -> dict[str, float] | None:
        """The usage to put in ``key``'s status: its running totals when ``fresh`` (the
        status is written anyway) or in the interval's reporting round, else the last
        report unchanged. None for a job never observed."""
        account = self._accounts.get(key)
        if account is None:
            return None
        if fresh or self._flush:
            account.reported = {
                "gpuHours": round(account.gpu_hours, ROUNDING),
                "energyKwh": round(account.energy_kwh, ROUNDING),
            }
        return dict(account.reported)

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget jobs that are gone."""
        wanted = set(keys)
        for key in [k for k in self._accounts if k not in wanted]:
            del self._accounts[key]


def _totals(persisted: Mapping[str, Any] | None) -> dict[str, float]:
    persisted = persisted or {}
    out = {}
    for field in ("gpuHours", "energyKwh"):
        value = persisted.get(field)
        out[field] = float(value) if isinstance(value, int | float) and value >= 0 else 0.0
    return out
