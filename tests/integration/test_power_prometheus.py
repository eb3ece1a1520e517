"""The prometheus feed against a real Prometheus (Debian's package): the test serves a small
exporter, starts Prometheus on a free loopback port scraping it every 200 ms, and drives a
site's state through real instant queries: load, curtailment, NaN, a vanished target and a
rejected query, each with recovery."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from cango_operator.power import (
    FeedErrorKind,
    FeedReadError,
    PowerRunner,
    SitePhase,
    SitePowerState,
    build_feed,
)
from tests.unit.power.lab import RecordingSink, site_spec
from tests.unit.power.servers import free_port

pytestmark = pytest.mark.prometheus

SITE = "tx-rockdale-1"
LOAD_QUERY = f'sum(site_load_kw{{site="{SITE}"}})'
CAPACITY_QUERY = f'sum(site_capacity_kw{{site="{SITE}"}})'
WAIT_SECONDS = 20.0


def now() -> datetime:
    return datetime.now(UTC)


class Exporter:
    """A site's meter exporter: gauges on a free port, stoppable and restartable."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.load = Gauge("site_load_kw", "Site load", ["site"], registry=self.registry)
        self.capacity = Gauge("site_capacity_kw", "Capacity now", ["site"], registry=self.registry)
        self.port = free_port()
        self._server: WSGIServer | None = None

    def reset(self) -> None:
        self.load.labels(SITE).set(12000)
        self.capacity.labels(SITE).set(20000)

    def start(self) -> None:
        self._server, _thread = start_http_server(self.port, "127.0.0.1", self.registry)

    def ensure_running(self) -> None:
        if self._server is None:
            self.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    meter = Exporter()
    meter.reset()
    meter.start()
    try:
        yield meter
    finally:
        meter.stop()


@pytest.fixture(scope="module")
def prometheus_url(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run hack/system-deps.sh (or make system-deps)")
    workdir = tmp_path_factory.mktemp("prometheus")
    config = workdir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 200ms, scrape_timeout: 150ms, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: site-meter\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_series(url, process, workdir / "prometheus.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_series(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until Prometheus answers and has scraped the exporter once (bounded)."""
    deadline = time.monotonic() + 60
    query = urllib.parse.quote(LOAD_QUERY)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?query={query}", timeout=2) as answer:
                if b'"result":[{' in answer.read():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"prometheus did not scrape the exporter within 60 s: {log.read_text()[-2000:]}")


@pytest.fixture
def meter(exporter: Exporter) -> Iterator[Exporter]:
    exporter.reset()
    yield exporter
    exporter.reset()
    exporter.ensure_running()


def feed_block(prometheus_url: str, **fields: object) -> dict[str, object]:
    return {
        "type": "prometheus",
        "url": prometheus_url,
        "query": LOAD_QUERY,
        "intervalSeconds": 0.1,
        "staleAfterSeconds": 10,
        "timeoutSeconds": 2,
        "retries": 0,
        **fields,
    }


@pytest.fixture
async def runner() -> AsyncIterator[tuple[PowerRunner, RecordingSink]]:
    sink = RecordingSink()
    async with PowerRunner(sink) as power_runner:
        yield power_runner, sink


async def wait_phase(sink: RecordingSink, phase: SitePhase, *, also: str = "") -> SitePowerState:
    return await sink.wait_for(
        SITE,
        lambda s: s.phase is phase and also in s.feed_message,
        timeout=WAIT_SECONDS,
    )


class TestRealPrometheus:
    async def test_the_feed_reads_the_exporters_gauge(
        self, meter: Exporter, prometheus_url: str
    ) -> None:
        config = site_spec(feed_block(prometheus_url)).feed
        async with aiohttp.ClientSession() as session:
            feed = build_feed(config, session=session, clock=now)
            sample = await feed.read()
        assert sample.total_load_kw == 12000.0
        assert abs(time.time() - sample.timestamp.timestamp()) < 10

    async def test_site_follows_the_meter(
        self, meter: Exporter, prometheus_url: str, runner: tuple[PowerRunner, RecordingSink]
    ) -> None:
        power_runner, sink = runner
        await power_runner.set_site(SITE, site_spec(feed_block(prometheus_url)))
        ready = await wait_phase(sink, SitePhase.READY)
        assert ready.other_load_kw == 12000
        meter.load.labels(SITE).set(14500)
        moved = await sink.wait_for(SITE, lambda s: s.other_load_kw == 14500, timeout=WAIT_SECONDS)
        assert moved.available_kw == 20000 - 500 - 14500 + 8000

    async def test_curtailment_lowers_the_budget_then_lifts(
        self, meter: Exporter, prometheus_url: str, runner: tuple[PowerRunner, RecordingSink]
    ) -> None:
        power_runner, sink = runner
        feed = feed_block(prometheus_url, capacityQuery=CAPACITY_QUERY)
        await power_runner.set_site(SITE, site_spec(feed))
        await wait_phase(sink, SitePhase.READY)
        meter.capacity.labels(SITE).set(15000)
        curtailed = await wait_phase(sink, SitePhase.CURTAILED)
        assert curtailed.capacity_kw == 15000
        assert curtailed.available_kw == 0  # no new placements while curtailed
        assert curtailed.mining_target_kw == 12000  # 15000 - 500 still leaves room for it
        meter.capacity.labels(SITE).set(20000)
        await sink.wait_for(
            SITE, lambda s: s.phase is SitePhase.READY and s.capacity_kw == 20000, WAIT_SECONDS
        )

    async def test_nan_makes_the_site_unknown_until_it_clears(
        self, meter: Exporter, prometheus_url: str, runner: tuple[PowerRunner, RecordingSink]
    ) -> None:
        power_runner, sink = runner
        await power_runner.set_site(SITE, site_spec(feed_block(prometheus_url)))
        await wait_phase(sink, SitePhase.READY)
        meter.load.labels(SITE).set(float("nan"))
        unknown = await wait_phase(sink, SitePhase.UNKNOWN)
        condition = unknown.condition("PowerFeedHealthy")
        assert condition is not None
        assert condition.reason == "FeedNan"
        assert f"prometheus feed {prometheus_url}" in condition.message
        meter.load.labels(SITE).set(12000)
        await wait_phase(sink, SitePhase.READY)

    async def test_a_vanished_target_goes_stale_and_comes_back(
        self, meter: Exporter, prometheus_url: str, runner: tuple[PowerRunner, RecordingSink]
    ) -> None:
        power_runner, sink = runner
        await power_runner.set_site(SITE, site_spec(feed_block(prometheus_url)))
        await wait_phase(sink, SitePhase.READY)
        meter.stop()
        unknown = await wait_phase(sink, SitePhase.UNKNOWN, also="no series")
        condition = unknown.condition("PowerFeedHealthy")
        assert condition is not None
        assert condition.reason == "FeedMissingValue"
        meter.start()
        await wait_phase(sink, SitePhase.READY)

    async def test_a_query_prometheus_rejects_names_the_parse_error(
        self, meter: Exporter, prometheus_url: str
    ) -> None:
        config = site_spec(feed_block(prometheus_url, query="sum(site_load_kw{")).feed
        async with aiohttp.ClientSession() as session:
            feed = build_feed(config, session=session, clock=now)
            with pytest.raises(FeedReadError) as caught:
                await asyncio.wait_for(feed.read(), 10)
        assert caught.value.kind is FeedErrorKind.HTTP_STATUS
        assert "HTTP 400" in str(caught.value)
        assert "parse error" in str(caught.value)
