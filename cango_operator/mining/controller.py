"""Drives a site's miners to a mining power target: read them all, plan the ramp, run
it batch by batch, say what happened.

Reads and actions run at most ``concurrency`` at a time, each bounded by its driver's
timeout; a call that failed for a reason a second try may cure (no answer, connection
refused) is retried ``retries`` times with exponential backoff. A miner that does not
answer keeps the draw it last reported (at first sight: its highest profile, or
``nameplate_w``), so the fleet's figure never drops because a miner went quiet.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cango_operator.api import ShedOrder
from cango_operator.mining.driver import (
    RETRYABLE,
    MinerDriver,
    MinerError,
    MinerReading,
)
from cango_operator.mining.ramp import (
    SLEEP_W,
    Action,
    ActionKind,
    MinerView,
    RampLimits,
    plan_ramp,
)

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 32
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF_S = 0.5
#: What a miner never read is assumed to draw (an S21 at full power is about 3.5 kW).
DEFAULT_NAMEPLATE_W = 3500.0

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass
class MinerRecord:
    """The controller's memory of one miner."""

    address: str
    reading: MinerReading | None = None
    reachable: bool = False
    error: MinerError | None = None
    #: The last reading that showed it mining with a hashrate: its draw and J/TH then
    #: (what a miner without profiles draws when woken, and its rank).
    mining_w: float | None = None
    mining_j_per_th: float | None = None
    #: Set by an action until the next reading replaces them: what the miner should draw,
    #: and whether it should be asleep.
    expected_w: float | None = None
    expected_asleep: bool | None = None

    def asleep(self) -> bool:
        if self.expected_asleep is not None:
            return self.expected_asleep
        return self.reading is not None and self.reading.asleep


@dataclass(frozen=True)
class ActionResult:
    action: Action
    error: MinerError | None


@dataclass(frozen=True)
class BatchResult:
    started_s: float  # since the ramp started
    results: tuple[ActionResult, ...]

    @property
    def failed(self) -> list[ActionResult]:
        return [r for r in self.results if r.error is not None]


@dataclass(frozen=True)
class FleetState:
    """The miners by state and the mining draw by their own figures."""

    mining: int
    asleep: int
    unreachable: int
    mining_w: float  # unreachable miners at their last known draw

    @property
    def total(self) -> int:
        return self.mining + self.asleep + self.unreachable


@dataclass(frozen=True)
class RampReport:
    target_w: float
    before_w: float
    expected_w: float
    shortfall_w: float
    batches: tuple[BatchResult, ...]
    seconds: float
    fleet: FleetState

    @property
    def failed(self) -> list[ActionResult]:
        return [r for b in self.batches for r in b.failed]


@dataclass
class MiningController:
    drivers: Sequence[MinerDriver]
    limits: RampLimits = field(default_factory=RampLimits)
    order: ShedOrder = ShedOrder.LOWER_THEN_SLEEP
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int = DEFAULT_RETRIES
    backoff_s: float = DEFAULT_BACKOFF_S
    nameplate_w: float = DEFAULT_NAMEPLATE_W
    #: Below the target by less than this, a fleet is left alone (no restore churn).
    deadband_w: float = 0.0
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        self.records = {d.address: MinerRecord(d.address) for d in self.drivers}
        self._by_address = {d.address: d for d in self.drivers}
        self._gate = asyncio.Semaphore(self.concurrency)

    # -- reading ----------------------------------------------------------------------

    async def refresh(self) -> FleetState:
        """Read every miner (bounded concurrency, retries); keep the last known of the rest."""
        await asyncio.gather(*(self._refresh_one(d) for d in self.drivers))
        return self.state()

    async def _refresh_one(self, driver: MinerDriver) -> None:
        record = self.records[driver.address]
        try:
            reading = await self._with_retries(driver.read)
        except MinerError as exc:
            if record.reachable or record.error is None or record.error.kind != exc.kind:
                log.warning("%s (counted at its last known draw)", exc)
            record.reachable, record.error = False, exc
            return
        record.reading, record.reachable, record.error = reading, True, None
        record.expected_w = record.expected_asleep = None
        if not reading.asleep and reading.hashrate_ths:
            record.mining_w = reading.watts
            record.mining_j_per_th = reading.watts / reading.hashrate_ths

    def draw_w(self, record: MinerRecord) -> float:
        """What a miner counts for: its expected draw after an action, its own figure,
        its last known one, or (never read) its nameplate."""
        if record.expected_w is not None:
            return record.expected_w
        if record.reading is not None:
            return record.reading.watts
        return self.nameplate_w

    def views(self) -> list[MinerView]:
        out = []
        for record in self.records.values():
            reading = record.reading
            out.append(
                MinerView(
                    record.address,
                    self.draw_w(record),
                    record.reachable and reading is not None,
                    record.asleep(),
                    reading.profile if reading is not None else "",
                    reading.profiles if reading is not None else (),
                    record.mining_w,
                    record.mining_j_per_th,
                )
            )
        return out

    def state(self) -> FleetState:
        mining = asleep = unreachable = 0
        watts = 0.0
        for record in self.records.values():
            watts += self.draw_w(record)
            if not record.reachable:
                unreachable += 1
            elif record.asleep():
                asleep += 1
            else:
                mining += 1
        return FleetState(mining, asleep, unreachable, watts)

    # -- driving ----------------------------------------------------------------------

    async def drive(self, target_w: float) -> RampReport:
        """Read the fleet, plan the ramp to ``target_w`` and run it, batches
        ``limits.batch_interval_s`` apart. Failed actions are reported, not fatal."""
        started = self.clock()
        await self.refresh()
        ramp = plan_ramp(
            self.views(), target_w, self.limits, self.order, deadband_w=self.deadband_w
        )
        batches: list[BatchResult] = []
        for index, batch in enumerate(ramp.batches):
            if index:
                await self.sleep(self.limits.batch_interval_s)
            at = self.clock() - started
            results = await asyncio.gather(*(self._act(a) for a in batch))
            batches.append(BatchResult(at, tuple(results)))
        report = RampReport(
            target_w,
            ramp.before_w,
            ramp.expected_w - sum(r.action.delta_w for b in batches for r in b.failed),
            ramp.shortfall_w,
            tuple(batches),
            self.clock() - started,
            self.state(),
        )
        if report.failed:
            log.warning(
                "mining ramp to %.1f kW: %d of %d actions failed",
                target_w / 1000,
                len(report.failed),
                len(ramp.actions),
            )
        return report

    async def _act(self, action: Action) -> ActionResult:
        driver = self._by_address[action.address]
        record = self.records[action.address]
        try:
            if action.kind is ActionKind.SLEEP:
                await self._with_retries(driver.sleep)
                record.expected_w, record.expected_asleep = SLEEP_W, True
            elif action.kind is ActionKind.WAKE:
                await self._with_retries(driver.wake)
                record.expected_w = self.draw_w(record) + action.delta_w
                record.expected_asleep = False
            else:
                assert action.profile is not None
                watts = action.profile.watts
                chosen = await self._with_retries(lambda: driver.set_power_limit(watts))
                record.expected_w = chosen.watts
        except MinerError as exc:
            log.warning("%s", exc)
            if exc.kind in RETRYABLE:
                record.reachable, record.error = False, exc
            return ActionResult(action, exc)
        return ActionResult(action, None)

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.retries + 1):
            try:
                async with self._gate:
                    return await call()
            except MinerError as exc:
                if exc.kind not in RETRYABLE or attempt == self.retries:
                    raise
                await self.sleep(self.backoff_s * 2**attempt * self.rng.uniform(0.5, 1.5))
        raise AssertionError("unreachable: the last attempt returns or raises")
