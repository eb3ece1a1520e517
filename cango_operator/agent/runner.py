"""The agent loop: read the GPUs, judge them, write the GpuNode status, repeat.

Each interval (``interval_s`` give or take ``jitter``, so a fleet of agents restarted
together does not hit the API server in step) the agent:

1. reads its GpuNode (404: self-registers when the Node carries a site label);
2. applies what the GpuNode's annotations ask: the source takes its own (simulated
   faults, :meth:`TelemetrySource.follow_annotations`), the agent a power limit
   (``--power-cap`` only);
3. reads every GPU (a failed reading skips the interval: no heartbeat is better than a
   made-up one);
4. patches the status with what changed plus the heartbeat (see ``status``);
5. updates its metrics.

Latency probes run in their own task every ``probe_interval_s``; the status carries
their latest medians.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cango_operator.agent.health import NodeHealth, judge_node
from cango_operator.agent.kube import KubeClient
from cango_operator.agent.latency import (
    DEFAULT_PROBE_COUNT,
    DEFAULT_PROBE_TIMEOUT_S,
    ProbeTarget,
    measure_all,
)
from cango_operator.agent.metrics import AgentMetrics
from cango_operator.agent.power_cap import PowerCapper
from cango_operator.agent.registration import build_gpunode, site_of
from cango_operator.agent.status import (
    AGENT_KEYS,
    ALLOCATED,
    HEARTBEAT,
    desired_status,
    status_patch,
)
from cango_operator.agent.telemetry import NodeReading, TelemetryError, TelemetrySource
from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION
from cango_operator.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 15.0
DEFAULT_JITTER = 0.1
DEFAULT_PROBE_INTERVAL_S = 60.0


@dataclass(frozen=True)
class AgentConfig:
    node_name: str
    interval_s: float = DEFAULT_INTERVAL_S
    jitter: float = DEFAULT_JITTER  # fraction of the interval, both ways
    probes: tuple[ProbeTarget, ...] = ()
    probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S
    probe_count: int = DEFAULT_PROBE_COUNT
    probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    register: bool = True
    power_cap: bool = False
    overhead_w: float | None = None  # spec.overheadW of a self-registered GpuNode
    #: The managed cluster this node is in, when GpuNodes live on a federation's hub.
    cluster: str | None = None

    def __post_init__(self) -> None:
        if not self.node_name:
            raise ConfigError("--node-name (or $NODE_NAME) is required")
        if self.interval_s <= 0:
            raise ConfigError(f"--interval must be > 0, got {self.interval_s}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"--jitter must be in [0, 1), got {self.jitter}")
        if self.probe_interval_s <= 0:
            raise ConfigError(f"--probe-interval must be > 0, got {self.probe_interval_s}")
        if self.probe_count < 1:
            raise ConfigError(f"--probe-count must be >= 1, got {self.probe_count}")


@dataclass(frozen=True)
class TickResult:
    """What one interval did, for logs and tests."""

    registered: bool = False
    sent: tuple[str, ...] = ()  # status keys patched (the heartbeat included)
    health: NodeHealth | None = None
    skipped: str = ""  # why nothing was written, when nothing was


@dataclass
class _State:
    waiting_reason: str = ""
    latency_ms: dict[str, float] = field(default_factory=dict)
    last_ok_monotonic: float | None = None
    last_read_s: float = 0.0
    dropped_keys: set[str] = field(default_factory=set)


def next_delay(interval_s: float, jitter: float, rng: random.Random) -> float:
    """Seconds to the next interval: ``interval_s`` +/- ``jitter`` * ``interval_s``, uniform."""
    return interval_s * (1 + rng.uniform(-jitter, jitter))


class Agent:
    """One node's agent. ``tick()`` is one interval; ``run()`` repeats it until stopped."""

    def __init__(
        self,
        config: AgentConfig,
        source: TelemetrySource,
        kube: KubeClient,
        metrics: AgentMetrics | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        allocation: Callable[[], int] | None = None,
    ) -> None:
        """``allocation``: the GPUs given out on the node, for an agent whose GpuNode is on
        a federation's hub (it reports ``allocatedGpus`` there; see agent.status)."""
        self.config = config
        self.allocation = allocation
        self.source = source
        self.kube = kube
        self.metrics = metrics if metrics is not None else AgentMetrics(config.node_name)
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.state = _State()
        self._capper: PowerCapper | None = None

    # -- one interval ---------------------------------------------------------------------

    async def tick(self) -> TickResult:
        name = self.config.node_name
        gpunode = await asyncio.to_thread(self.kube.get_gpunode, name)
        self.source.follow_annotations(_annotations(gpunode))
        reading = await self._read()
        if reading is None:
            return TickResult(skipped="telemetry reading failed")
        if await self._apply_power_cap(gpunode, len(reading.gpus)):
            reading = await self._read()  # so the status shows the new limits at once
            if reading is None:
                return TickResult(skipped="telemetry reading failed")
        registered = False
        if gpunode is None:
            gpunode, registered = await self._register(reading)
            if gpunode is None:
                return TickResult(skipped=self.state.waiting_reason)
        spec = gpunode.get("spec") or {}
        health = judge_node(reading.gpus, (spec.get("gpu") or {}).get("count"))
        overhead = float(spec.get("overheadW") or 0)
        self.metrics.observe_reading(
            reading, health, reading.gpu_power_w + overhead, self.state.last_read_s
        )
        sent = await self._write_status(gpunode, reading, health, overhead)
        if sent is None:  # someone wrote in between: read again and retry once, now
            fresh = await asyncio.to_thread(self.kube.get_gpunode, name)
            sent = await self._write_status(fresh, reading, health, overhead) if fresh else None
        sent = sent or ()
        if sent:
            self.state.last_ok_monotonic = time.monotonic()
        return TickResult(registered=registered, sent=sent, health=health)

    async def _read(self) -> NodeReading | None:
        started = time.perf_counter()
        try:
            reading = await asyncio.to_thread(self.source.read)
        except TelemetryError as exc:
            self.metrics.reading_errors.labels(self.config.node_name).inc()
            log.error("reading the GPUs failed, interval skipped: %s", exc)
            return None
        self.state.last_read_s = time.perf_counter() - started
        return reading

    async def _apply_power_cap(self, gpunode: Mapping[str, Any] | None, gpu_count: int) -> bool:
        """Apply the operator's power limit request; True when a GPU limit changed."""
        if gpunode is None or gpu_count == 0:
            return False
        if self._capper is None:
            self._capper = PowerCapper(self.source, gpu_count, self.config.power_cap)
        annotations = _annotations(gpunode)
        try:
            changed = await asyncio.to_thread(
                self._capper.apply, annotations.get(POWER_LIMIT_ANNOTATION)
            )
        except (ConfigError, TelemetryError) as exc:
            log.error("applying the GPU power limit failed: %s", exc)
            return False
        if changed:
            self.metrics.power_limit_changes.labels(self.config.node_name).inc(changed)
        return changed > 0

    async def _register(self, reading: NodeReading) -> tuple[dict[str, Any] | None, bool]:
        """Create the GpuNode for a site-labelled Node; (GpuNode or None, created by us)."""
        name = self.config.node_name
        waiting = ""
        node = None
        if not self.config.register:
            waiting = f"no GpuNode {name} and self-registration is off"
        else:
            node = await asyncio.to_thread(self.kube.get_node, name)
            if node is None:
                waiting = f"no GpuNode and no Node named {name}"
            elif site_of(node) is None:
                waiting = (
                    f"no GpuNode {name} and the Node has no compute.cango.io/site label: "
                    "label it to self-register"
                )
        if node is None or waiting:
            self._wait(waiting)
            return None, False
        body = build_gpunode(node, reading, self.config.overhead_w, self.config.cluster)
        created = await asyncio.to_thread(self.kube.create_gpunode, body)
        if created:
            self.metrics.registrations.labels(name).inc()
            spec = body["spec"]
            log.info(
                "registered GpuNode %s: site %s, %d x %s",
                name,
                spec["site"],
                spec["gpu"]["count"],
                spec["gpu"]["model"],
            )
        self.state.waiting_reason = ""
        gpunode = await asyncio.to_thread(self.kube.get_gpunode, name)
        return gpunode, created

    def _wait(self, reason: str) -> None:
        """Say once why there is nothing to write yet (not every interval)."""
        if reason != self.state.waiting_reason:
            log.warning("%s; waiting", reason)
        self.state.waiting_reason = reason

    async def _write_status(
        self, gpunode: Mapping[str, Any], reading: NodeReading, health: NodeHealth, overhead: float
    ) -> tuple[str, ...] | None:
        """Patch what changed; the keys sent, () on failure, None on a write conflict."""
        from kubernetes.client.exceptions import ApiException

        name = self.config.node_name
        meta = gpunode.get("metadata") or {}
        observed = gpunode.get("status") or {}
        now = self.clock()
        allocated = None
        if self.allocation is not None:
            allocated = await asyncio.to_thread(self.allocation)
        desired = desired_status(
            reading,
            health,
            observed,
            now=now,
            overhead_w=overhead,
            latency_ms=self.state.latency_ms,
            generation=meta.get("generation"),
            allocated_gpus=allocated,
        )
        patch = status_patch(desired, observed)
        # Conditions are a list a merge patch replaces whole: send them only against the
        # version read, so another writer's condition added meanwhile is not lost.
        version = meta.get("resourceVersion") if "conditions" in patch else None
        try:
            stored = await asyncio.to_thread(self.kube.patch_gpunode_status, name, patch, version)
        except ApiException as exc:
            self.metrics.status_patch_errors.labels(name).inc()
            if exc.status == 409:
                log.info("GpuNode %s changed while its status was written", name)
                return None
            log.error("patching GpuNode %s status failed: %s %s", name, exc.status, exc.reason)
            return ()
        self._warn_dropped(patch, stored.get("status") or {})
        self.metrics.status_patches.labels(name).inc()
        self.metrics.status_fields_changed.labels(name).inc(len(patch) - 1)
        self.metrics.last_heartbeat.labels(name).set(now.timestamp())
        changed = sorted(k for k in patch if k != HEARTBEAT)
        if changed:
            log.debug("GpuNode %s status: %s changed", name, ", ".join(changed))
        return tuple(k for k in patch if k in AGENT_KEYS or k == ALLOCATED)

    def _warn_dropped(self, sent: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
        """Say once when the API server drops a status field (a CRD schema without it):
        the agent would otherwise resend it every interval without knowing why."""
        for key in sorted(k for k, v in sent.items() if v is not None and k not in stored):
            if key not in self.state.dropped_keys:
                self.state.dropped_keys.add(key)
                log.warning(
                    "the API server dropped status.%s of GpuNode %s: the GpuNode CRD does "
                    "not declare it",
                    key,
                    self.config.node_name,
                )

    # -- probes ---------------------------------------------------------------------------

    async def probe_once(self) -> None:
        """One round of latency probes; the status carries the medians from the next tick."""
        cfg = self.config
        if not cfg.probes:
            return
        results = await measure_all(cfg.probes, cfg.probe_count, cfg.probe_timeout_s)
        self.metrics.observe_probes(results)
        latency = {}
        for region, result in results.items():
            if result.median_ms is not None:
                latency[region] = result.median_ms
            else:
                log.warning(
                    "latency probe %s: %d/%d failed (%s)",
                    region,
                    result.failures,
                    cfg.probe_count,
                    result.error,
                )
        self.state.latency_ms = latency

    # -- the loop -------------------------------------------------------------------------

    def healthy(self, now_monotonic: float | None = None) -> bool:
        """Liveness: a status write went through within the last three intervals."""
        last = self.state.last_ok_monotonic
        now = time.monotonic() if now_monotonic is None else now_monotonic
        return last is not None and now - last <= 3 * self.config.interval_s * (
            1 + self.config.jitter
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Tick at the interval until ``stop`` is set; probes run alongside."""
        probes = asyncio.create_task(self._probe_loop(stop)) if self.config.probes else None
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # one bad interval must not end the agent
                    log.exception("agent interval failed")
                delay = next_delay(self.config.interval_s, self.config.jitter, self.rng)
                await _sleep_or_stop(stop, delay)
        finally:
            if probes is not None:
                probes.cancel()
                await asyncio.gather(probes, return_exceptions=True)

    async def _probe_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.probe_once()
            except Exception:
                log.exception("latency probe round failed")
            delay = next_delay(self.config.probe_interval_s, self.config.jitter, self.rng)
            await _sleep_or_stop(stop, delay)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _annotations(gpunode: Mapping[str, Any] | None) -> Mapping[str, str]:
    annotations: Mapping[str, str] = ((gpunode or {}).get("metadata") or {}).get(
        "annotations"
    ) or {}
    return annotations
