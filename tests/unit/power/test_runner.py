"""The feed runner: polls on its own, retries with backoff, recovers by itself, never lets
one site (or a failing sink) hold up another, and applies curtailment to the budget."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from cango_operator.power import (
    FeedErrorKind,
    FeedReadError,
    FeedSample,
    FeedTiming,
    GpuLoad,
    PowerMetrics,
    PowerRunner,
    SitePhase,
    SitePowerState,
)
from cango_operator.power.retry import backoff_seconds, read_with_retries
from tests.unit.power.lab import FAST, Lab, site_spec
from tests.unit.power.servers import MeterServer, ModbusDevice, PromApiServer

QUICK = {"intervalSeconds": 0.05, "timeoutSeconds": 0.5, "retries": 0}
"""Timing for tests where the runner polls on its own schedule."""


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


class TestPollingOnItsOwn:
    async def test_site_goes_unknown_and_recovers_without_being_asked(self, lab: Lab) -> None:
        await lab.add_site("tx-1", lab.http_feed(**QUICK))
        lab.meter.state.status = 500
        broken = await lab.sink.wait_for("tx-1", lambda s: s.phase is SitePhase.UNKNOWN)
        assert "HTTP 500" in broken.feed_message
        lab.meter.state.status = 200
        await lab.sink.wait_for("tx-1", lambda s: s.phase is SitePhase.READY and s is not broken)
        assert lab.runner.state("tx-1") is not None

    async def test_a_static_site_is_ready_on_spec_values(self, lab: Lab) -> None:
        state = await lab.add_site("static-1", None)
        assert state.phase is SitePhase.READY
        assert state.other_load_kw == 12000  # spec mining.loadKw
        assert state.energy_price_usd_per_mwh == 38

    async def test_stop_ends_every_poll(self, lab: Lab) -> None:
        await lab.add_site("tx-1", lab.http_feed(**QUICK))
        await lab.runner.stop()
        published = len(lab.sink.states["tx-1"])
        requests = lab.meter.state.requests
        await asyncio.sleep(0.2)  # four poll intervals: nothing new may arrive
        assert (len(lab.sink.states["tx-1"]), lab.meter.state.requests) == (published, requests)


class TestIsolation:
    async def test_a_hanging_feed_does_not_delay_other_sites(self, lab: Lab) -> None:
        slow = MeterServer()
        await slow.start()
        try:
            slow.state.delay_seconds = 5
            hanging = {"type": "http", "url": slow.power_url, "jsonPath": "site.load_kw"}
            await lab.runner.set_site("hanging", site_spec({**hanging, **QUICK}))
            await lab.runner.set_site("fast", site_spec(lab.http_feed(**QUICK)))
            stuck = await lab.sink.wait_for("hanging", lambda _s: True, timeout=5)
            assert stuck.phase is SitePhase.UNKNOWN
            assert "no answer within 0.5 s" in stuck.feed_message
            before_hanging = lab.sink.order[: lab.sink.order.index("hanging")]
            # fast polls every 0.05 s; the hanging feed needed 0.5 s for its first verdict
            assert before_hanging.count("fast") >= 3
        finally:
            await lab.runner.remove_site("hanging")
            await slow.stop()

    async def test_a_failing_sink_does_not_stop_polling(
        self, meter: MeterServer, prom_api: PromApiServer, modbus_device: ModbusDevice
    ) -> None:
        calls: list[SitePowerState] = []

        async def broken_sink(_site: str, state: SitePowerState) -> None:
            calls.append(state)
            raise ConnectionError("API server went away")

        feed = Lab(meter, prom_api, modbus_device).http_feed(**QUICK)
        async with PowerRunner(broken_sink) as runner:
            await runner.set_site("tx-1", site_spec(feed))
            for _ in range(200):
                if len(calls) >= 3:
                    break
                await runner.poll_now("tx-1")
        assert len(calls) >= 3
        assert runner.state("tx-1") is not None

    async def test_a_failing_gpu_load_callback_keeps_the_last_known_load(self, lab: Lab) -> None:
        lab.gpu["tx-1"] = GpuLoad(node_power_kw=100, committed_kw=200)
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        lab.gpu = None  # type: ignore[assignment]  # the callback now raises
        state = await lab.runner.poll_now("tx-1")
        assert state.committed_kw == 200


class TestCredentials:
    async def test_the_token_never_reaches_logs_or_status(
        self, lab: Lab, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        lab.secrets["meter-creds"] = {"token": "sup3r-s3cret"}
        lab.meter.state.required_authorization = "Bearer another"
        feed = lab.http_feed(secretRef={"name": "meter-creds"}, **FAST)
        state = await lab.add_site("tx-1", feed)
        assert state.phase is SitePhase.UNKNOWN
        assert lab.meter.state.last_authorization == "Bearer sup3r-s3cret"  # it was sent
        assert "HTTP 401" in caplog.text
        assert "sup3r-s3cret" not in caplog.text
        assert "sup3r-s3cret" not in repr(state.status())


class TestRetries:
    async def test_a_transient_error_is_retried_within_the_poll(self, lab: Lab) -> None:
        lab.meter.state.fail_next_requests = 2
        timing = {"intervalSeconds": 0.5, "timeoutSeconds": 0.5, "retries": 2}
        state = await lab.add_site("tx-1", lab.http_feed(**timing))
        assert state.phase is SitePhase.READY
        assert lab.meter.state.requests == 3

    async def test_the_last_attempt_error_says_how_many_tries(self, lab: Lab) -> None:
        lab.meter.state.fail_next_requests = 100
        timing = {"intervalSeconds": 0.5, "timeoutSeconds": 0.5, "retries": 2}
        state = await lab.add_site("tx-1", lab.http_feed(**timing))
        assert state.feed_message.endswith("HTTP 503 Service Unavailable (after 3 tries)")

    async def test_nonsense_is_not_retried(self, lab: Lab) -> None:
        lab.meter.state.body = b"not json"
        timing = {"intervalSeconds": 0.5, "timeoutSeconds": 0.5, "retries": 2}
        state = await lab.add_site("tx-1", lab.http_feed(**timing))
        assert state.phase is SitePhase.UNKNOWN
        assert lab.meter.state.requests == 1

    def test_backoff_doubles_within_its_jitter(self) -> None:
        timing = FeedTiming(interval_seconds=5)
        rng = random.Random(7)
        for attempt in range(4):
            delay = backoff_seconds(attempt, timing, rng)
            base = 0.5 * 2**attempt  # a tenth of the interval, doubled per try
            assert 0.5 * base <= delay <= 1.5 * base

    async def test_read_with_retries_turns_a_hang_into_a_timeout(self) -> None:
        class Hanging:
            description = "test feed"
            reads = 0

            async def read(self) -> FeedSample:
                self.reads += 1
                await asyncio.sleep(10)
                raise AssertionError("not reached")

        feed = Hanging()
        sleeps: list[float] = []

        async def no_sleep(seconds: float) -> None:
            sleeps.append(seconds)

        timing = FeedTiming(interval_seconds=1, timeout_seconds=0.01, retries=2)
        with pytest.raises(FeedReadError) as caught:
            await read_with_retries(feed, timing, rng=random.Random(1), sleep=no_sleep)
        assert caught.value.kind is FeedErrorKind.TIMEOUT
        assert str(caught.value) == "test feed: no answer within 0.01 s (after 3 tries)"
        assert feed.reads == 3
        assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.5


class TestCurtailment:
    async def test_a_curtailment_signal_lowers_the_budget_and_marks_gpu_excess(
        self, lab: Lab
    ) -> None:
        lab.gpu["tx-1"] = GpuLoad(node_power_kw=300, committed_kw=400)
        lab.meter.state.document = {"site": {"load_kw": 16100, "capacity_kw": 20000}}
        feed = lab.http_feed(capacityPath="site.capacity_kw", curtailedPath="site.curtailed")
        lab.meter.state.document["site"]["curtailed"] = False
        ready = await lab.add_site("tx-1", {**feed, **FAST})
        assert ready.phase is SitePhase.READY
        assert ready.available_kw == 20000 - 500 - 15800 - 400 + 8000

        lab.meter.state.document = {
            "site": {"load_kw": 16100, "capacity_kw": 5000, "curtailed": True}
        }
        curtailed = await lab.runner.poll_now("tx-1")
        assert curtailed.phase is SitePhase.CURTAILED
        assert curtailed.capacity_kw == 5000
        assert curtailed.available_kw == 0
        assert not curtailed.accepting_placements
        assert curtailed.gpu_excess_kw == 400  # the operator moves preemptible work
        assert curtailed.mining_target_kw == 15800 - 8000

        lab.meter.state.document = {"site": {"load_kw": 0, "capacity_kw": 0, "curtailed": True}}
        assert (await lab.runner.poll_now("tx-1")).phase is SitePhase.OFFLINE

        lab.meter.state.document = {
            "site": {"load_kw": 16100, "capacity_kw": 20000, "curtailed": False}
        }
        assert (await lab.runner.poll_now("tx-1")).phase is SitePhase.READY


class TestSiteChanges:
    async def test_a_spec_change_is_published_at_once_without_a_new_poll(self, lab: Lab) -> None:
        feed = lab.http_feed(**FAST)
        await lab.add_site("tx-1", feed)
        requests = lab.meter.state.requests
        await lab.runner.set_site("tx-1", site_spec(feed, reserveKw=2500))
        state = lab.runner.state("tx-1")
        assert state is not None
        assert state.available_kw == 20000 - 2500 - 12000 + 8000
        assert lab.meter.state.requests == requests

    async def test_gpu_load_changes_are_applied_on_refresh(self, lab: Lab) -> None:
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        lab.gpu["tx-1"] = GpuLoad(committed_kw=1000)
        state = await lab.runner.refresh("tx-1")
        assert state is not None
        assert (state.committed_kw, state.available_kw) == (1000, 20000 - 500 - 12000 - 1000 + 8000)

    async def test_a_new_feed_restarts_polling_with_it(self, lab: Lab) -> None:
        await lab.add_site("tx-1", lab.http_feed(**FAST))
        await lab.runner.set_site("tx-1", site_spec(lab.modbus_feed(**FAST)))
        state = await lab.sink.wait_for("tx-1", lambda s: "modbus feed" in s.feed_message)
        assert state.phase is SitePhase.READY

    async def test_transition_times_survive_a_restart(self, lab: Lab) -> None:
        first = await lab.add_site("tx-1", lab.http_feed(**FAST))
        await lab.runner.remove_site("tx-1")
        await lab.runner.set_site("tx-1", site_spec(lab.http_feed(**FAST)), first.conditions)
        again = await lab.sink.wait_for("tx-1", lambda s: s is not first)
        assert again.conditions == first.conditions

    async def test_polling_an_unknown_site_names_it(self, lab: Lab) -> None:
        with pytest.raises(KeyError, match="no site 'nowhere' in the power runner"):
            await lab.runner.poll_now("nowhere")
