"""Every interval: read the Site, drive its miners to ``status.power.miningTargetKw``,
write ``status.mining``.

The miners, their ramp and the shed order come from the Site's ``spec.mining``; a change
there builds the drivers anew (a miner kept keeps what the controller knew of it). With
no target published yet the controller only reads the miners and reports them. When the
Site cannot be read (the API server away), the last target stands and the miners are
still driven to it: the site's own power guard, not this loop, sheds GPU work then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cango_operator.api import (
    MinerFirmware,
    MinerGroup,
    Mining,
    Site,
    budget,
    parse_resource,
    revenue,
    rfc3339,
)
from cango_operator.builders.events import EventRecord, event_manifest
from cango_operator.errors import ConfigError
from cango_operator.mining.controller import FleetState, MiningController, RampReport
from cango_operator.mining.driver import DEFAULT_TIMEOUT_S, MinerDriver
from cango_operator.mining.epic import EpicDriver
from cango_operator.mining.luxos import LuxosDriver
from cango_operator.mining.ramp import RampLimits
from cango_operator.sitemining.events import Interval, interval_events
from cango_operator.sitemining.kube import SiteClient

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 30.0
DEFAULT_CONCURRENCY = 32
#: ``reportingController`` of its Events.
EVENT_CONTROLLER = "compute.cango.io/site-mining"
#: Below the target by less than this share of it (and at least budget.MINING_MARGIN_KW),
#: the miners are left alone: miners raised into room that is gone again one interval
#: later only churn.
DEADBAND_SHARE = 0.02

#: Where the chart mounts the Secrets the Site's miner groups name, one directory each.
DEFAULT_CREDENTIALS_DIR = Path("/var/run/cango/miner-credentials")

DriverFactory = Callable[[MinerGroup, str, float], MinerDriver]


def credentials_reader(root: Path) -> Callable[[MinerGroup], str | None]:
    """The password of a group's ``credentialsSecretRef``: the key ``password`` of that
    Secret, mounted at ``root/<name>/password``. ConfigError naming the field when the
    group names a Secret that is not there."""

    def password(group: MinerGroup) -> str | None:
        ref = group.credentials_secret_ref
        if ref is None:
            return None
        path = root / ref.name / "password"
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"spec.mining.miners credentialsSecretRef {ref.name!r}: no key password at "
                f"{path} (is the Secret mounted into this pod?): {exc.strerror}"
            ) from exc

    return password


def driver_factory_for(root: Path = DEFAULT_CREDENTIALS_DIR) -> DriverFactory:
    """Drivers by firmware, with the passwords mounted under ``root``."""
    password_of = credentials_reader(root)

    def make(group: MinerGroup, address: str, timeout_s: float) -> MinerDriver:
        if group.firmware is MinerFirmware.LUXOS:
            return LuxosDriver(address, timeout_s=timeout_s)
        return EpicDriver(address, password_of(group) or "", timeout_s=timeout_s)

    return make


@dataclass(frozen=True)
class SiteMiningConfig:
    site: str
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY
    credentials_dir: Path = DEFAULT_CREDENTIALS_DIR
    #: Whether it writes Events about the Site (else the log only).
    events: bool = True
    #: Who writes them (the pod's name, or the host's).
    instance: str = "site-mining"

    def __post_init__(self) -> None:
        if not self.site:
            raise ConfigError("--site is required")
        if self.interval_s <= 0:
            raise ConfigError(f"--interval must be > 0, got {self.interval_s}")
        if self.timeout_s <= 0:
            raise ConfigError(f"--timeout must be > 0, got {self.timeout_s}")
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be >= 1, got {self.concurrency}")


@dataclass(frozen=True)
class TickResult:
    target_kw: float | None
    report: RampReport | None
    fleet: FleetState | None
    message: str = ""
    #: ``status.mining`` as this interval wrote it (or would have: unchanged, or failed)
    status: dict[str, Any] = field(default_factory=dict)


class SiteMiningRunner:
    def __init__(
        self,
        config: SiteMiningConfig,
        site_client: SiteClient,
        *,
        driver_factory: DriverFactory | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.sites = site_client
        self.driver_factory = driver_factory or driver_factory_for(config.credentials_dir)
        self.clock = clock
        self._mining: Mining | None = None
        self._controller: MiningController | None = None
        self._target_kw: float | None = None
        self._last = Interval(None, "", 0.0)
        self._written: dict[str, Any] | None = None

    async def tick(self) -> TickResult:
        name = self.config.site
        try:
            body = await self.sites.get(name)
        except Exception as exc:  # any client failure: keep driving to the last target
            log.warning("reading Site %s failed (%s); the last target stands", name, exc)
            body = {}
        if body is None:
            return await self._report(None, f"Site {name} does not exist")
        if body:
            try:
                site = parse_resource(body, source=f"Site {name}")
                assert isinstance(site, Site)
                self._configure(site.spec.mining)
            except ValueError as exc:
                return await self._report(None, f"Site {name} is not valid: {exc}")
            except ConfigError as exc:
                return await self._report(None, str(exc))
            power = site.status.power if site.status is not None else None
            self._target_kw = power.mining_target_kw if power is not None else None
        controller = self._controller
        if controller is None:
            return await self._report(None, "spec.mining.miners lists no miner")
        if self._target_kw is None:
            fleet = await controller.refresh()
            return await self._report(
                None, "no status.power.miningTargetKw yet: miners read, not driven", fleet
            )
        target_w = fleet_target_w(self._target_kw, self._mining)
        controller.deadband_w = max(DEADBAND_SHARE * target_w, budget.MINING_MARGIN_KW * 1000)
        report = await controller.drive(target_w)
        return await self._report(report, "")

    def _configure(self, mining: Mining) -> None:
        """Build the controller again when the miners, the ramp or the order changed."""
        if self._mining == mining:
            return
        old = self._controller.records if self._controller is not None else {}
        drivers = [
            self.driver_factory(group, address, self.config.timeout_s)
            for group in mining.miners
            for address in group.addresses
        ]
        self._mining = mining
        if not drivers:
            self._controller = None
            return
        ramp = mining.ramp
        self._controller = MiningController(
            drivers,
            RampLimits(ramp.batch_size, ramp.batch_interval_seconds),
            mining.shed_order,
            concurrency=self.config.concurrency,
        )
        for address, record in old.items():
            if address in self._controller.records:
                self._controller.records[address] = record
        log.info(
            "Site %s: %d miners, ramp %d per %gs, %s",
            self.config.site,
            len(drivers),
            ramp.batch_size,
            ramp.batch_interval_seconds,
            mining.shed_order.value,
        )

    async def _report(
        self, report: RampReport | None, message: str, fleet: FleetState | None = None
    ) -> TickResult:
        if report is not None:
            fleet = report.fleet
        status = mining_status(report, fleet, message, self.clock())
        if self._mining is not None and self._controller is not None:
            status |= mining_revenue(self._mining, self._controller)
        if message:
            log.warning("Site %s: %s", self.config.site, message)
        if status != self._written:
            try:
                await self.sites.write_mining_status(self.config.site, status)
                self._written = status
            except Exception as exc:  # the next interval writes again
                log.warning("writing Site %s status.mining failed: %s", self.config.site, exc)
        await self._tell(interval_events(self.config.site, report, fleet, message, self._last))
        shortfall = report.shortfall_w if report is not None else self._last.shortfall_w
        self._last = Interval(fleet or self._last.fleet, message, shortfall)
        return TickResult(self._target_kw, report, fleet, message, status)

    async def _tell(self, records: list[EventRecord]) -> None:
        """Post the interval's Events; one that fails is logged and dropped."""
        for record in records:
            log.info("Site %s: %s: %s", self.config.site, record.reason, record.note)
            if not self.config.events:
                continue
            body = event_manifest(
                record,
                controller=EVENT_CONTROLLER,
                instance=self.config.instance,
                now=self.clock(),
            )
            try:
                await self.sites.post_event(body["metadata"]["namespace"], body)
            except Exception as exc:  # an Event is a record, never worth failing over
                log.warning("posting Event %s failed: %s", record.reason, exc)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.tick()
            except Exception:  # never crash the loop on one bad interval
                log.exception("site-mining interval failed")
            left = self.config.interval_s - (time.monotonic() - started)
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), left)


def fleet_target_w(target_kw: float, mining: Mining | None) -> float:
    """What the listed miners should draw: the site's mining target less the mining it
    never sheds (``loadKw - curtailableKw``: a hosting contract, miners not driven)."""
    undriven_kw = mining.load_kw - mining.curtailable_kw if mining is not None else 0.0
    return max(0.0, target_kw - undriven_kw) * 1000


def mining_revenue(mining: Mining, controller: MiningController) -> dict[str, Any]:
    """``status.mining.usdPerKwh`` and ``usdPerDay`` (docs/api.md, Revenue)."""
    hashprice = mining.hashprice_usd_per_ph_day
    if hashprice is None:
        return {"usdPerKwh": None, "usdPerDay": None}
    efficiency = {
        address: group.efficiency_j_per_th or mining.efficiency_j_per_th
        for group in mining.miners
        for address in group.addresses
    }
    per_day = 0.0
    for address, record in controller.records.items():
        j_per_th = efficiency.get(address) or record.mining_j_per_th
        if j_per_th:
            kw = controller.draw_w(record) / 1000
            per_day += kw * 24 * revenue.mining_usd_per_kwh(hashprice, j_per_th)
    per_kwh = mining.usd_per_kwh()
    return {
        "usdPerKwh": None if per_kwh is None else round(per_kwh, 6),
        "usdPerDay": round(per_day, 2),
    }


def mining_status(
    report: RampReport | None, fleet: FleetState | None, message: str, now: datetime
) -> dict[str, Any]:
    """``status.mining`` (see docs/api.md); a field not known now is written as null, so
    a stale figure does not outlive the state it described. An interval that changed no
    miner is no ramp: the last ramp's time stays as it was. Figures to 0.1 kW, so a
    steady fleet writes the same status (and the write is skipped)."""
    status: dict[str, Any] = {"message": message or None}
    if fleet is not None:
        status["miners"] = {
            "mining": fleet.mining,
            "asleep": fleet.asleep,
            "unreachable": fleet.unreachable,
        }
        status["minersKw"] = round(fleet.mining_w / 1000, 1)
    if report is not None:
        status |= {
            "targetKw": round(report.target_w / 1000, 1),
            "failedActions": len(report.failed),
            "shortfallKw": round(report.shortfall_w / 1000, 1),
        }
        if any(b.results for b in report.batches):
            status |= {
                "lastRampTime": rfc3339(now - timedelta(seconds=report.seconds)),
                "lastRampSeconds": round(report.seconds, 3),
            }
    return status
