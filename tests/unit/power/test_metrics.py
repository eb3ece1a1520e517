"""Per-site power metrics and per-feed error counters, on an isolated registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from cango_operator.power import GpuLoad, PowerMetrics
from tests.unit.power.lab import FAST, Lab, site_spec
from tests.unit.power.servers import MeterServer, ModbusDevice, PromApiServer


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def lab(
    meter: MeterServer,
    prom_api: PromApiServer,
    modbus_device: ModbusDevice,
    registry: CollectorRegistry,
) -> AsyncIterator[Lab]:
    the_lab = Lab(meter, prom_api, modbus_device, metrics=PowerMetrics(registry))
    async with the_lab.runner:
        yield the_lab


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


class TestSiteMetrics:
    async def test_power_figures_per_site(self, lab: Lab, registry: CollectorRegistry) -> None:
        lab.gpu["tx-1"] = GpuLoad(node_power_kw=300, committed_kw=400)
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        assert value(registry, "cango_site_power_capacity_kw", site="tx-1") == 20000
        assert value(registry, "cango_site_power_other_load_kw", site="tx-1") == 11700
        assert value(registry, "cango_site_power_gpu_draw_kw", site="tx-1") == 300
        assert value(registry, "cango_site_power_committed_kw", site="tx-1") == 400
        assert (
            value(registry, "cango_site_power_available_kw", site="tx-1")
            == 20000
            - 500
            - (11700)
            - 400
            + (11700 - (12000 - 8000))  # 300 kW of mining shed already
        )
        assert value(registry, "cango_site_phase", site="tx-1", phase="Ready") == 1
        assert value(registry, "cango_site_phase", site="tx-1", phase="Unknown") == 0

    async def test_feed_age_is_measured_at_scrape_time(
        self, lab: Lab, registry: CollectorRegistry
    ) -> None:
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        age = value(registry, "cango_feed_age_seconds", site="tx-1", feed_type="http")
        assert age is not None
        assert 0 <= age < 60

    async def test_errors_are_counted_by_kind(self, lab: Lab, registry: CollectorRegistry) -> None:
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        lab.meter.state.status = 500
        await lab.runner.poll_now("tx-1")
        await lab.runner.poll_now("tx-1")
        lab.meter.state.body = b"{"
        lab.meter.state.status = 200
        await lab.runner.poll_now("tx-1")
        errors = {"site": "tx-1", "feed_type": "http"}
        assert value(registry, "cango_feed_errors_total", **errors, kind="http_status") == 2
        assert value(registry, "cango_feed_errors_total", **errors, kind="malformed") == 1
        assert value(registry, "cango_feed_reads_total", **errors) == 4
        assert value(registry, "cango_feed_healthy", **errors) == 0
        assert value(registry, "cango_site_phase", site="tx-1", phase="Unknown") == 1

    async def test_a_removed_site_leaves_no_series(
        self, lab: Lab, registry: CollectorRegistry
    ) -> None:
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        lab.meter.state.status = 500
        await lab.runner.poll_now("tx-1")
        await lab.runner.remove_site("tx-1")
        assert b'site="tx-1"' not in generate_latest(registry)

    async def test_a_changed_feed_type_drops_the_old_series(
        self, lab: Lab, registry: CollectorRegistry
    ) -> None:
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        await lab.runner.set_site("tx-1", site_spec(lab.modbus_feed(**FAST)))
        await lab.sink.wait_for("tx-1", lambda s: "modbus" in s.feed_message)
        assert value(registry, "cango_feed_healthy", site="tx-1", feed_type="modbus") == 1
        assert value(registry, "cango_feed_healthy", site="tx-1", feed_type="http") is None
        assert value(registry, "cango_feed_reads_total", site="tx-1", feed_type="http") is None


def test_metric_names_follow_the_conventions(registry: CollectorRegistry) -> None:
    PowerMetrics(registry)
    names = {metric.name for metric in registry.collect()}
    assert names >= {
        "cango_site_power_capacity_kw",
        "cango_site_power_other_load_kw",
        "cango_site_power_gpu_draw_kw",
        "cango_site_power_available_kw",
        "cango_feed_age_seconds",
        "cango_feed_errors",  # exposed as cango_feed_errors_total
    }
    assert all(name.startswith(("cango_site_", "cango_feed_")) for name in names)
