"""The agent's own /metrics endpoint, scraped over HTTP, passes `promtool check metrics`."""

from __future__ import annotations

import shutil
import subprocess

import aiohttp
import pytest

from cango_operator.agent.health import judge_node
from cango_operator.agent.latency import ProbeResult
from cango_operator.agent.metrics import AgentMetrics
from cango_operator.agent.server import start_server
from cango_operator.agent.simulated_source import Fault, FaultKind, SimulatedSource

pytestmark = pytest.mark.prometheus


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: run `make system-deps` (Debian package prometheus)")
    return found


def busy_metrics() -> AgentMetrics:
    """Every metric family with samples: load, a capped GPU, an XID, probes up and down."""
    source = SimulatedSource("H100-80GB", 4, gpus_in_use=lambda: 2, seed="m-node")
    source.set_power_limit(0, 300)
    source.inject(Fault(3, FaultKind.XID, 79))
    metrics = AgentMetrics("m-node")
    reading = source.read()
    metrics.observe_reading(reading, judge_node(reading.gpus), reading.gpu_power_w, 0.02)
    metrics.observe_probes(
        {
            "north-america": ProbeResult("north-america", (24.0, 25.0, 26.0), 0, 25.0),
            "europe": ProbeResult("europe", (), 5, None),
        }
    )
    metrics.status_patches.labels("m-node").inc()
    metrics.status_patch_errors.labels("m-node").inc(0)
    metrics.status_fields_changed.labels("m-node").inc(3)
    metrics.last_heartbeat.labels("m-node").set(1.7e9)
    metrics.registrations.labels("m-node").inc()
    metrics.reading_errors.labels("m-node").inc(0)
    metrics.power_limit_changes.labels("m-node").inc(4)
    return metrics


async def test_the_scraped_metrics_pass_promtool_check_metrics() -> None:
    metrics = busy_metrics()
    runner, port = await start_server(metrics.registry, lambda: True, "127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
    finally:
        await runner.cleanup()
    for name in (
        "cango_gpu_power_watts",
        "cango_gpu_xid_events_total",
        "cango_gpu_ecc_double_bit_errors_total",
        "cango_agent_probe_latency_seconds",
        "cango_agent_read_duration_seconds_bucket",
    ):
        assert f"\n{name}{{" in text, name
    proc = subprocess.run(
        [promtool(), "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"promtool check metrics:\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


async def test_healthz_answers_503_until_a_status_was_written() -> None:
    healthy = {"now": False}
    runner, port = await start_server(
        AgentMetrics("n").registry, lambda: healthy["now"], "127.0.0.1", 0
    )
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 503
            healthy["now"] = True
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
    finally:
        await runner.cleanup()
