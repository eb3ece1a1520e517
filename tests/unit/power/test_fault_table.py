"""The fault table: each feed fault, made real on a loopback server, turns the site
Unknown (or Degraded) with a condition naming the feed and the cause, and the site
recovers by itself on the next good sample."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymodbus.constants import ExcCodes

from cango_operator.power import SitePhase
from tests.unit.power.lab import FAST, PROM_LOAD_QUERY, Lab, site_spec
from tests.unit.power.servers import (
    HOLDING_BASE,
    MeterServer,
    ModbusDevice,
    PromApiServer,
    store,
)

Step = Callable[[Lab], Awaitable[None]]


async def nothing(_lab: Lab) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    feed: str
    inject: Step
    reason: str  # the condition's reason
    words: str  # in the condition's message
    clear: Step = nothing
    phase: SitePhase = SitePhase.UNKNOWN
    condition: str = "PowerFeedHealthy"
    extra: dict[str, Any] = field(default_factory=dict)  # feed fields for this case


def meter(**changes: Any) -> Step:
    async def step(lab: Lab) -> None:
        for name, value in changes.items():
            setattr(lab.meter.state, name, value)

    return step


def meter_load(value: Any) -> Step:
    return meter(document={"site": {"load_kw": value}, "price": 40})


def modbus(**changes: Any) -> Step:
    async def step(lab: Lab) -> None:
        for name, value in changes.items():
            setattr(lab.modbus.state, name, value)

    return step


def modbus_value(value: float, data_type: str) -> Step:
    async def step(lab: Lab) -> None:
        store(lab.modbus.state.holding, HOLDING_BASE, value, data_type)

    return step


def prom(*values: str, status: int = 200, error: str | None = None) -> Step:
    async def step(lab: Lab) -> None:
        lab.prom_api.set_vector(PROM_LOAD_QUERY, *values)
        lab.prom_api.state.status, lab.prom_api.state.error = status, error

    return step


async def stop_meter(lab: Lab) -> None:
    await lab.meter.stop()


async def start_meter(lab: Lab) -> None:
    await lab.meter.start()


async def stop_modbus(lab: Lab) -> None:
    await lab.modbus.stop()


async def start_modbus(lab: Lab) -> None:
    await lab.modbus.start()


def respec(**feed_fields: Any) -> Step:
    """The site operator edits the feed block (a wrong one, then the right one)."""

    async def step(lab: Lab) -> None:
        await lab.runner.set_site("lab", site_spec(lab.modbus_feed(**FAST, **feed_fields)))

    return step


async def drop_secret(lab: Lab) -> None:
    lab.secrets.pop("meter-creds", None)


async def restore_secret(lab: Lab) -> None:
    lab.secrets["meter-creds"] = {"token": "t0ken"}


GOOD_DOC = {"site": {"load_kw": 12000}, "price": 40}

FAULTS = {
    "http timeout (slow meter)": Fault(
        "http", meter(delay_seconds=1.5), "FeedTimeout", "no answer within 1 s",
        clear=meter(delay_seconds=0.0),
    ),
    "http 500": Fault(
        "http", meter(status=500), "FeedHttpStatus", "HTTP 500 Internal Server Error",
        clear=meter(status=200),
    ),
    "http 404": Fault(
        "http", meter(status=404), "FeedHttpStatus", "HTTP 404", clear=meter(status=200)
    ),
    "http connection refused": Fault(
        "http", stop_meter, "FeedConnection", "connection failed", clear=start_meter
    ),
    "malformed JSON": Fault(
        "http", meter(body=b'{"site": {"load_kw": 12'), "FeedMalformed", "body is not JSON",
        clear=meter(body=None),
    ),
    "missing path": Fault(
        "http", meter(document={"site": {"kw": 1}}), "FeedMissingValue",
        "path 'site.load_kw' not found", clear=meter(document=GOOD_DOC),
    ),
    "NaN load": Fault(
        "http", meter(body=b'{"site": {"load_kw": NaN}}'), "FeedNan", "site load is nan",
        clear=meter(body=None),
    ),
    "negative load": Fault(
        "http", meter_load(-300), "FeedNegative", "site load is negative (-300 kW)",
        clear=meter_load(12000),
    ),
    "load far above capacity": Fault(
        "http", meter_load(250000), "FeedAbsurd", "above 1.5 x the site's capacity (20000 kW)",
        clear=meter_load(12000),
    ),
    "load of the wrong type": Fault(
        "http", meter_load("12 MW"), "FeedWrongType", "site.load_kw must be a number, got str",
        clear=meter_load(12000),
    ),
    "stale timestamp": Fault(
        "http", meter(time_offset_seconds=-3600), "FeedStale", "old (staleAfterSeconds 120)",
        clear=meter(time_offset_seconds=0),
        extra={"timestampPath": "time", "staleAfterSeconds": 120},
    ),
    "timestamp in the future": Fault(
        "http", meter(time_offset_seconds=3600), "FeedAbsurd", "s in the future",
        clear=meter(time_offset_seconds=0), extra={"timestampPath": "time"},
    ),
    "credentials rejected (401)": Fault(
        "http", meter(required_authorization="Bearer rotated"), "FeedHttpStatus", "HTTP 401",
        clear=meter(required_authorization="Bearer t0ken"),
        extra={"secretRef": {"name": "meter-creds"}},
    ),
    "secret missing": Fault(
        "http", drop_secret, "FeedCredentials", "secret 'meter-creds' could not be read",
        clear=restore_secret, extra={"secretRef": {"name": "meter-creds"}},
    ),
    "price NaN (degraded, not unknown)": Fault(
        "http", meter(body=b'{"site": {"load_kw": 12000}, "price": NaN}'), "FeedNan",
        "energy price is nan", clear=meter(body=None), phase=SitePhase.DEGRADED,
        condition="PriceFeedHealthy", extra={"pricePath": "price"},
    ),
    "modbus exception: device busy": Fault(
        "modbus", modbus(exception=ExcCodes.DEVICE_BUSY), "FeedModbusException",
        f"holding register {HOLDING_BASE}: exception code 6, server device busy",
        clear=modbus(exception=None),
    ),
    "modbus exception: device failure": Fault(
        "modbus", modbus(exception=ExcCodes.DEVICE_FAILURE), "FeedModbusException",
        "exception code 4, server device failure", clear=modbus(exception=None),
    ),
    "modbus wrong register type": Fault(
        "modbus", respec(registerType="input"), "FeedModbusException",
        f"input register {HOLDING_BASE}: exception code 2, illegal data address",
        clear=respec(registerType="holding"),
    ),
    "modbus connection refused": Fault(
        "modbus", stop_modbus, "FeedConnection", "cannot connect", clear=start_modbus
    ),
    "modbus slow device": Fault(
        "modbus", modbus(delay_seconds=1.5), "FeedTimeout", "answer within 1 s",
        clear=modbus(delay_seconds=0.0),
    ),
    "modbus float NaN": Fault(
        "modbus", modbus_value(float("nan"), "float32"), "FeedNan", "site load is nan",
        clear=modbus_value(12000.0, "float32"), extra={"dataType": "float32"},
    ),
    "modbus negative int16": Fault(
        "modbus", modbus_value(-5, "int16"), "FeedNegative", "site load is negative (-5 kW)",
        clear=modbus_value(12000, "int16"), extra={"dataType": "int16"},
    ),
    "prometheus no series": Fault(
        "prometheus", prom(), "FeedMissingValue", "no series", clear=prom("12000")
    ),
    "prometheus several series": Fault(
        "prometheus", prom("1", "2"), "FeedMalformed", "2 series, expected one",
        clear=prom("12000"),
    ),
    "prometheus rejects the query": Fault(
        "prometheus", prom(status=400, error="parse error"), "FeedHttpStatus",
        "HTTP 400, parse error", clear=prom("12000"),
    ),
    "prometheus +Inf": Fault(
        "prometheus", prom("+Inf"), "FeedNan", "site load is inf", clear=prom("12000")
    ),
}  # fmt: skip


@pytest.fixture
async def lab(
    meter: MeterServer, prom_api: PromApiServer, modbus_device: ModbusDevice
) -> AsyncIterator[Lab]:
    meter.state.document = GOOD_DOC
    meter.state.required_authorization = "Bearer t0ken"
    meter.state.time_offset_seconds = 0
    the_lab = Lab(meter, prom_api, modbus_device, secrets={"meter-creds": {"token": "t0ken"}})
    async with the_lab.runner:
        yield the_lab


def test_the_table_covers_at_least_15_faults_across_all_live_feed_types() -> None:
    assert len(FAULTS) >= 15
    assert {fault.feed for fault in FAULTS.values()} == {"http", "modbus", "prometheus"}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_gives_its_phase_and_cause_then_recovers(lab: Lab, name: str) -> None:
    fault = FAULTS[name]
    extra = dict(fault.extra)
    if fault.feed == "http" and "secretRef" not in extra:
        lab.meter.state.required_authorization = None
    if "dataType" in extra:
        store(lab.modbus.state.holding, HOLDING_BASE, 12000, extra["dataType"])
    feed = lab.feed_for(fault.feed, **FAST, **extra)
    first = await lab.add_site("lab", feed)
    assert first.phase is SitePhase.READY, first.feed_message
    assert first.other_load_kw == 12000

    await fault.inject(lab)
    broken = await lab.runner.poll_now("lab")
    assert broken.phase is fault.phase, broken.feed_message
    condition = broken.condition(fault.condition)
    assert condition is not None
    assert condition.status == "False"
    assert condition.reason == fault.reason
    assert fault.words in condition.message
    assert fault.feed in condition.message  # names the feed: "http feed http://...", ...
    if fault.phase is SitePhase.UNKNOWN:
        assert not broken.accepting_placements
        assert broken.available_kw == 0
        assert not broken.status()["power"]["feed"]["healthy"]

    await fault.clear(lab)
    recovered = await lab.runner.poll_now("lab")
    assert recovered.phase is SitePhase.READY, recovered.feed_message
    healthy = recovered.condition("PowerFeedHealthy")
    assert healthy is not None
    assert (healthy.status, healthy.reason) == ("True", "SampleFresh")
    assert recovered.available_kw == 20000 - 500 - 12000 + 8000
