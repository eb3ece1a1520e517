"""The agent's Prometheus metrics: GPU telemetry (``cango_gpu_*``) and the agent itself
(``cango_agent_*``).

Units are in the names and are base units (watts, bytes, seconds, celsius, ratio).
Labels are bounded: ``node``, ``gpu`` (index) and ``uuid`` on GPU metrics; ``region``
on probe metrics comes from the agent's own ``--probe`` flags, so it is bounded too.
GPU metrics come from the latest reading through a custom collector, so a GPU that
disappears disappears from the scrape instead of leaving a stale series behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cango_operator.agent.health import AGENT_PHASES, NodeHealth
from cango_operator.agent.latency import ProbeResult
from cango_operator.agent.telemetry import (
    POWER_THROTTLE_REASONS,
    THERMAL_THROTTLE_REASONS,
    NodeReading,
)

MIB_BYTES = 1024 * 1024
GPU_LABELS = ("node", "gpu", "uuid")


class GpuCollector(Collector):
    """Turns the latest :class:`NodeReading` into ``cango_gpu_*`` metric families."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._reading: NodeReading | None = None
        self._health: NodeHealth | None = None
        self._xid_totals: dict[tuple[int, str], int] = {}

    def update(self, reading: NodeReading, health: NodeHealth) -> None:
        with self._lock:
            self._reading, self._health = reading, health
            for gpu in reading.gpus:
                key = (gpu.index, gpu.uuid)
                self._xid_totals[key] = self._xid_totals.get(key, 0) + len(gpu.xids)

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        with self._lock:
            reading, health, xid_totals = self._reading, self._health, dict(self._xid_totals)
        if reading is None or health is None:
            return
        healthy = {g.index: g.healthy for g in health.gpus}

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=GPU_LABELS)

        power = gauge("cango_gpu_power_watts", "GPU power draw")
        limit = gauge("cango_gpu_power_limit_watts", "GPU enforced power limit")
        temperature = gauge("cango_gpu_temperature_celsius", "GPU core temperature")
        util = gauge("cango_gpu_utilization_ratio", "GPU busy fraction over the last sample")
        used = gauge("cango_gpu_memory_used_bytes", "GPU memory in use")
        total = gauge("cango_gpu_memory_total_bytes", "GPU memory installed")
        ok = gauge("cango_gpu_healthy", "1 when the GPU is healthy by the agent's rules")
        lost = gauge("cango_gpu_lost", "1 when the GPU has fallen off the bus")
        last_xid = gauge("cango_gpu_last_xid", "Last XID the GPU reported (0: none)")
        power_capped = gauge(
            "cango_gpu_power_throttled", "1 when clocks are held down by a power cap or brake"
        )
        thermal = gauge("cango_gpu_thermal_throttled", "1 when clocks are held down by heat")
        ecc = CounterMetricFamily(
            "cango_gpu_ecc_double_bit_errors",
            "Uncorrected (double-bit) ECC errors since the driver loaded",
            labels=GPU_LABELS,
        )
        xids = CounterMetricFamily(
            "cango_gpu_xid_events", "XID events seen by the agent", labels=GPU_LABELS
        )
        for gpu in reading.gpus:
            labels = [self.node, str(gpu.index), gpu.uuid]
            power.add_metric(labels, gpu.power_w)
            limit.add_metric(labels, gpu.power_limit_w)
            temperature.add_metric(labels, gpu.temperature_c)
            util.add_metric(labels, gpu.utilization_pct / 100)
            used.add_metric(labels, gpu.memory_used_mib * MIB_BYTES)
            total.add_metric(labels, gpu.memory_total_mib * MIB_BYTES)
            ok.add_metric(labels, 1.0 if healthy.get(gpu.index) else 0.0)
            lost.add_metric(labels, 1.0 if gpu.lost else 0.0)
            last_xid.add_metric(labels, gpu.last_xid or 0)
            reasons = set(gpu.throttle_reasons)
            power_capped.add_metric(labels, 1.0 if reasons & POWER_THROTTLE_REASONS else 0.0)
            thermal.add_metric(labels, 1.0 if reasons & THERMAL_THROTTLE_REASONS else 0.0)
            ecc.add_metric(labels, gpu.ecc_double_bit_errors)
            xids.add_metric(labels, xid_totals.get((gpu.index, gpu.uuid), 0))
        yield from (power, limit, temperature, util, used, total, ok, lost, last_xid)
        yield from (power_capped, thermal, ecc, xids)


class AgentMetrics:
    """Every metric the agent exports, in one registry of its own."""

    def __init__(self, node: str, registry: CollectorRegistry | None = None) -> None:
        self.node = node
        self.registry = registry if registry is not None else CollectorRegistry()
        self.gpus = GpuCollector(node)
        self.registry.register(self.gpus)
        r = self.registry
        self.node_power = Gauge(
            "cango_agent_node_power_watts",
            "Node power: GPU draw plus the node's declared overhead",
            ["node"],
            registry=r,
        )
        self.healthy_gpus = Gauge(
            "cango_agent_healthy_gpus", "GPUs healthy by the agent's rules", ["node"], registry=r
        )
        self.phase = Gauge(
            "cango_agent_node_phase",
            "1 for the node's current phase, 0 for the others",
            ["node", "phase"],
            registry=r,
        )
        self.readings = Counter(
            "cango_agent_readings", "Telemetry readings taken", ["node"], registry=r
        )
        self.reading_errors = Counter(
            "cango_agent_reading_errors",
            "Telemetry readings that failed (the interval is skipped)",
            ["node"],
            registry=r,
        )
        self.read_duration = Histogram(
            "cango_agent_read_duration_seconds",
            "Time to read every GPU once",
            ["node"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.status_patches = Counter(
            "cango_agent_status_patches", "GpuNode status patches sent", ["node"], registry=r
        )
        self.status_patch_errors = Counter(
            "cango_agent_status_patch_errors",
            "GpuNode status patches the API server refused or did not answer",
            ["node"],
            registry=r,
        )
        self.status_fields_changed = Counter(
            "cango_agent_status_fields_changed",
            "Status fields sent because they changed (the heartbeat not counted)",
            ["node"],
            registry=r,
        )
        self.last_heartbeat = Gauge(
            "cango_agent_last_heartbeat_timestamp_seconds",
            "Unix time of the last heartbeat the API server accepted",
            ["node"],
            registry=r,
        )
        self.registrations = Counter(
            "cango_agent_registrations", "GpuNodes this agent created", ["node"], registry=r
        )
        self.probe_latency = Gauge(
            "cango_agent_probe_latency_seconds",
            "Median TCP connect time to a client region's endpoint",
            ["node", "region"],
            registry=r,
        )
        self.probe_failures = Counter(
            "cango_agent_probe_failures",
            "TCP connect probes that failed or timed out",
            ["node", "region"],
            registry=r,
        )
        self.power_limit_changes = Counter(
            "cango_agent_power_limit_changes",
            "Power limits applied to GPUs at the operator's request",
            ["node"],
            registry=r,
        )
        # Counters of this node exist from the start, so that rate() reads 0, not nothing.
        for counter in (
            self.readings,
            self.reading_errors,
            self.status_patches,
            self.status_patch_errors,
            self.registrations,
            self.power_limit_changes,
        ):
            counter.labels(node)

    def observe_reading(
        self, reading: NodeReading, health: NodeHealth, node_power_w: float, seconds: float
    ) -> None:
        self.gpus.update(reading, health)
        self.readings.labels(self.node).inc()
        self.read_duration.labels(self.node).observe(seconds)
        self.node_power.labels(self.node).set(node_power_w)
        self.healthy_gpus.labels(self.node).set(health.healthy_count)
        for phase in AGENT_PHASES:
            self.phase.labels(self.node, phase.value).set(1.0 if phase is health.phase else 0.0)

    def observe_probes(self, results: Mapping[str, ProbeResult]) -> None:
        for region, result in results.items():
            if result.failures:
                self.probe_failures.labels(self.node, region).inc(result.failures)
            if result.median_ms is not None:
                self.probe_latency.labels(self.node, region).set(result.median_ms / 1000)
            else:  # unreachable now: no latency rather than an old one
                self.probe_latency.remove(self.node, region)
