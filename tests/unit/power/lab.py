"""A small power lab for runner tests: the three loopback servers, a PowerRunner over them,
and a sink that records every state the runner publishes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from cango_operator.power import (
    FeedTiming,
    GpuLoad,
    PowerMetrics,
    PowerRunner,
    SitePowerSpec,
    SitePowerState,
    parse_site_power_spec,
)
from tests.unit.power.servers import HOLDING_BASE, MeterServer, ModbusDevice, PromApiServer

CAPACITY_KW = 20000.0
PROM_LOAD_QUERY = 'sum(site_load_kw{site="lab"})'
FAST = {"intervalSeconds": 60, "timeoutSeconds": 1, "retries": 0}
"""Timing for tests that drive polls by hand (poll_now); nothing fires on its own. The
timeout leaves a loaded machine room to answer a healthy poll (0.2 s did not, once)."""


class RecordingSink:
    """Keeps every published state per site; ``wait_for`` waits (bounded) for a match."""

    def __init__(self) -> None:
        self.states: dict[str, list[SitePowerState]] = defaultdict(list)
        self.order: list[str] = []  # site names in publishing order
        self._changed = asyncio.Condition()

    async def __call__(self, site: str, state: SitePowerState) -> None:
        async with self._changed:
            self.states[site].append(state)
            self.order.append(site)
            self._changed.notify_all()

    async def wait_for(
        self,
        site: str,
        predicate: Callable[[SitePowerState], bool],
        timeout: float = 5.0,
    ) -> SitePowerState:
        def match() -> SitePowerState | None:
            return next((s for s in reversed(self.states[site]) if predicate(s)), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: match() is not None)
        found = match()
        assert found is not None
        return found


#: Feed timing keys, set on the config at the tests' speed (sub-second intervals the
#: API does not allow) rather than through the API.
_TIMING = {
    "intervalSeconds": "interval_seconds",
    "staleAfterSeconds": "stale_after_seconds",
    "timeoutSeconds": "timeout_seconds",
    "retries": "retries",
}


def site_spec(feed: Mapping[str, Any] | None, **power: Any) -> SitePowerSpec:
    """A 20 MW site with 500 kW reserve and 8 MW curtailable mining, with ``feed``; its
    timing keys (any speed) are set on the config after the API read the rest."""
    block: dict[str, Any] = {"capacityKw": CAPACITY_KW, "reserveKw": 500, "pue": 1.0}
    block.update(power)
    timing: dict[str, Any] = {}
    if feed is not None:
        block["feed"] = {k: v for k, v in feed.items() if k not in _TIMING}
        timing = {_TIMING[k]: v for k, v in feed.items() if k in _TIMING}
    spec = parse_site_power_spec(
        {
            "power": block,
            "mining": {"loadKw": 12000, "curtailableKw": 8000},
            "energyPriceUsdPerMwh": 38,
        }
    )
    if not timing:
        return spec
    interval = float(timing.get("interval_seconds", spec.feed.timing.interval_seconds))
    at_speed = FeedTiming(
        interval_seconds=interval,
        stale_after_seconds=float(timing.get("stale_after_seconds", interval * 6)),
        timeout_seconds=float(timing.get("timeout_seconds", min(10.0, interval))),
        retries=int(timing.get("retries", spec.feed.timing.retries)),
    )
    return replace(spec, feed=replace(spec.feed, timing=at_speed))


class Lab:
    def __init__(
        self,
        meter: MeterServer,
        prom_api: PromApiServer,
        modbus: ModbusDevice,
        *,
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        metrics: PowerMetrics | None = None,
    ) -> None:
        self.meter = meter
        self.prom_api = prom_api
        self.modbus = modbus
        self.sink = RecordingSink()
        self.secrets = dict(secrets or {})
        self.gpu: dict[str, GpuLoad] = {}
        self.runner = PowerRunner(
            self.sink,
            secrets=self._secret,
            gpu_load=lambda site: self.gpu.get(site, GpuLoad()),
            metrics=metrics,
        )
        prom_api.set_vector(PROM_LOAD_QUERY, "12000")
        modbus.state.holding[HOLDING_BASE] = 12000

    async def _secret(self, name: str, namespace: str | None) -> Mapping[str, str]:
        assert namespace is None  # the tests' secretRefs name no namespace
        return self.secrets[name]

    def http_feed(self, **fields: Any) -> dict[str, Any]:
        return {"type": "http", "url": self.meter.power_url, "jsonPath": "site.load_kw", **fields}

    def prometheus_feed(self, **fields: Any) -> dict[str, Any]:
        return {"type": "prometheus", "url": self.prom_api.url, "query": PROM_LOAD_QUERY, **fields}

    def modbus_feed(self, **fields: Any) -> dict[str, Any]:
        return {
            "type": "modbus",
            "host": "127.0.0.1",
            "port": self.modbus.port,
            "unitId": ModbusDevice.UNIT_ID,
            "register": HOLDING_BASE,
            **fields,
        }

    def feed_for(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "http": self.http_feed,
            "prometheus": self.prometheus_feed,
            "modbus": self.modbus_feed,
        }[kind](**fields)

    async def add_site(self, name: str, feed: Mapping[str, Any] | None) -> SitePowerState:
        """Add a site and wait for its first published state."""
        await self.runner.set_site(name, site_spec(feed))
        return await self.sink.wait_for(name, lambda _state: True)
