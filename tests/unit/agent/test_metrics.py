"""The agent's metrics: what a scrape shows after readings and probes."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cango_operator.agent.health import judge_node
from cango_operator.agent.latency import ProbeResult
from cango_operator.agent.metrics import AgentMetrics
from cango_operator.agent.simulated_source import Fault, FaultKind, SimulatedSource
from cango_operator.agent.telemetry import NodeReading


def scrape(metrics: AgentMetrics) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name -> {sorted labels: value}, parsed back from the exposition text."""
    text = generate_latest(metrics.registry).decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def observe(metrics: AgentMetrics, reading: NodeReading) -> None:
    metrics.observe_reading(reading, judge_node(reading.gpus), reading.gpu_power_w, 0.01)


def gpu_labels(
    source: SimulatedSource, index: int, node: str = "n1"
) -> tuple[tuple[str, str], ...]:
    return (("gpu", str(index)), ("node", node), ("uuid", source.uuids[index]))


class TestGpuMetrics:
    def test_every_gpu_has_its_series_in_base_units(self) -> None:
        source = SimulatedSource("H100-80GB", 2, gpus_in_use=lambda: 1)
        metrics = AgentMetrics("n1")
        observe(metrics, source.read())
        got = scrape(metrics)
        busy = gpu_labels(source, 0)
        assert got["cango_gpu_power_watts"][busy] > 600
        assert got["cango_gpu_power_limit_watts"][busy] == 700
        assert got["cango_gpu_utilization_ratio"][busy] == 0.87
        assert got["cango_gpu_memory_total_bytes"][busy] == 81559 * 1024 * 1024
        assert got["cango_gpu_healthy"][busy] == 1
        assert len(got["cango_gpu_temperature_celsius"]) == 2
        assert got["cango_agent_healthy_gpus"][(("node", "n1"),)] == 2
        assert got["cango_agent_node_phase"][(("node", "n1"), ("phase", "Ready"))] == 1

    def test_xid_events_are_counted_and_the_gpu_marked_unhealthy(self) -> None:
        source = SimulatedSource(count=3)
        metrics = AgentMetrics("n1")
        source.inject(Fault(2, FaultKind.XID, 79))
        observe(metrics, source.read())
        observe(metrics, source.read())  # the same XID is not a second event
        got = scrape(metrics)
        gpu2 = gpu_labels(source, 2)
        assert got["cango_gpu_xid_events_total"][gpu2] == 1
        assert got["cango_gpu_last_xid"][gpu2] == 79
        assert got["cango_gpu_healthy"][gpu2] == 0
        assert got["cango_agent_node_phase"][(("node", "n1"), ("phase", "Degraded"))] == 1
        assert got["cango_agent_node_phase"][(("node", "n1"), ("phase", "Ready"))] == 0

    def test_a_gpu_that_is_no_longer_read_leaves_no_stale_series(self) -> None:
        metrics = AgentMetrics("n1")
        observe(metrics, SimulatedSource(count=4, seed="x").read())
        observe(metrics, SimulatedSource(count=2, seed="x").read())
        assert len(scrape(metrics)["cango_gpu_power_watts"]) == 2


class TestProbeMetrics:
    def test_latency_in_seconds_failures_counted_and_unreachable_removed(self) -> None:
        metrics = AgentMetrics("n1")
        metrics.observe_probes({"eu": ProbeResult("eu", (20.0, 22.0), 1, 21.0)})
        labels = (("node", "n1"), ("region", "eu"))
        got = scrape(metrics)
        assert got["cango_agent_probe_latency_seconds"][labels] == 0.021
        assert got["cango_agent_probe_failures_total"][labels] == 1
        metrics.observe_probes({"eu": ProbeResult("eu", (), 3, None)})
        got = scrape(metrics)
        assert labels not in got.get("cango_agent_probe_latency_seconds", {})
        assert got["cango_agent_probe_failures_total"][labels] == 4
