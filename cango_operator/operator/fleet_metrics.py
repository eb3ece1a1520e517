"""The fleet as gauges and usage as counters, from each planning round.

Sites, GPU nodes and jobs come and go, so their series do not live in labelled ``Gauge``
objects (which would keep a deleted job's series for ever): :class:`FleetCollector`
holds the last round's :class:`FleetFigures` and yields them at scrape time.
:class:`NamespaceUsage` integrates the rates each round sets (GPUs held, kW drawn, per
namespace and its tenant) up to the moment of the scrape, so usage grows smoothly between rounds and
never goes down. :class:`PlacementClock` times how long a job waits for its replicas.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from prometheus_client import Metric
from prometheus_client.registry import Collector

from cango_operator.api import JobPhase
from cango_operator.metrics import Declared


@dataclass(frozen=True, slots=True)
class SiteFigures:
    name: str
    region: str
    gpus: int  # declared by the site's GpuNodes
    allocated_gpus: int
    free_gpus: int  # healthy, on usable nodes, not allocated
    replicas: int
    #: The meter's reading beyond its parts, and that as a share of the reading (None:
    #: the meter or the miners have not reported).
    meter_gap_kw: float | None = None
    meter_gap_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class NodeFigures:
    name: str
    site: str
    model: str
    gpus: int
    allocated_gpus: int


@dataclass(frozen=True, slots=True)
class JobFigures:
    namespace: str
    name: str
    phase: str
    replicas: int  # wanted
    ready_replicas: int
    latency_ms: float | None
    placed: Mapping[str, int]  # site -> replicas


@dataclass(frozen=True, slots=True)
class FleetFigures:
    sites: tuple[SiteFigures, ...] = ()
    nodes: tuple[NodeFigures, ...] = ()
    jobs: tuple[JobFigures, ...] = ()
    unschedulable: Mapping[str, int] = field(default_factory=dict)  # reason label -> jobs


# -- reasons ------------------------------------------------------------------------------

#: The engine's reasons name models, limits and preempting jobs; as label values they
#: are reduced to these (anything unforeseen is "other"), so the label stays bounded.
_REASON_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^no latency to |^latency > "), "latency"),
    (re.compile(r"^GPU memory < "), "gpu memory"),
    (re.compile(r"^maxReplicasPerSite "), "max replicas per site"),
    (re.compile(r"^minSites "), "min sites"),
    (re.compile(r"^preempted by "), "preempted"),
    (re.compile(r"^no (?!power at site$)"), "gpu model"),
)
_FIXED_REASONS = frozenset(
    {
        "region not allowed",
        "not enough free GPUs",
        "no power at site",
        "node unschedulable",
        "node Unhealthy",
        "node Unknown",
        "node gone",
        "node lost GPUs",
        "job deleted",
        "scaled down",
        "site not found",
        "site over power budget",
        "site cordoned",
        "site Offline",
        "site Curtailed",
        "site Unknown",
    }
)


def reason_label(reason: str) -> str:
    """The bounded label value of one of the placement engine's reasons."""
    if reason in _FIXED_REASONS:
        return reason
    for pattern, label in _REASON_PATTERNS:
        if pattern.search(reason):
            return label
    return "other"


def main_reason(counts: Mapping[str, int]) -> str:
    """The label of the reason that ruled out the most nodes ("other" when none did)."""
    ranked = sorted(((n, r) for r, n in counts.items() if n > 0), key=lambda x: (-x[0], x[1]))
    return reason_label(ranked[0][1]) if ranked else "other"


# -- the fleet ----------------------------------------------------------------------------

JOB = ("namespace", "inferencejob")
SITE_INFO = Declared(
    "cango_site_info", "gauge", "A Site and its region (value 1).", ("site", "region")
)
SITE_GPUS = Declared("cango_site_gpus", "gauge", "GPUs the site's GpuNodes declare.", ("site",))
SITE_ALLOCATED = Declared(
    "cango_site_allocated_gpus", "gauge", "GPUs at the site allocated to replicas.", ("site",)
)
SITE_FREE = Declared(
    "cango_site_free_gpus",
    "gauge",
    "Healthy GPUs on the site's usable nodes that no replica holds.",
    ("site",),
)
SITE_REPLICAS = Declared("cango_site_replicas", "gauge", "Replicas placed at the site.", ("site",))
SITE_METER_GAP = Declared(
    "cango_site_meter_gap_kw",
    "gauge",
    "What the site meter reads beyond the parts it measures (the miners' own figures, "
    "plus the GPU nodes' for a whole-site meter), kW; negative: short of them.",
    ("site",),
)
SITE_METER_GAP_RATIO = Declared(
    "cango_site_meter_gap_ratio",
    "gauge",
    "The site meter's gap to its parts as a share of the meter's reading (1 when it reads 0).",
    ("site",),
)
NODE_INFO = Declared(
    "cango_gpunode_info",
    "gauge",
    "A GpuNode, its site and GPU model (value 1); join the agents' metrics on node.",
    ("node", "site", "model"),
)
NODE_GPUS = Declared("cango_gpunode_gpus", "gauge", "GPUs the GpuNode declares.", ("node",))
NODE_ALLOCATED = Declared(
    "cango_gpunode_allocated_gpus", "gauge", "GPUs of the node allocated to replicas.", ("node",)
)
JOB_PHASE = Declared(
    "cango_inferencejob_phase",
    "gauge",
    "1 for the InferenceJob's phase, 0 for the others.",
    (*JOB, "phase"),
)
JOB_REPLICAS = Declared(
    "cango_inferencejob_replicas", "gauge", "Replicas the InferenceJob asks for.", JOB
)
JOB_READY = Declared(
    "cango_inferencejob_ready_replicas", "gauge", "Replicas of the InferenceJob ready.", JOB
)
JOB_LATENCY = Declared(
    "cango_inferencejob_latency_seconds",
    "gauge",
    "Latency of the InferenceJob's farthest placed site to its client region.",
    JOB,
)
JOB_PLACED = Declared(
    "cango_inferencejob_placed_replicas",
    "gauge",
    "Replicas of the InferenceJob placed, by site.",
    (*JOB, "site"),
)
UNSCHEDULABLE_JOBS = Declared(
    "cango_unschedulable_jobs",
    "gauge",
    "InferenceJobs the last plan could not fully place, by the reason that ruled out "
    "the most nodes.",
    ("reason",),
)
FLEET_FAMILIES = (
    SITE_INFO,
    SITE_GPUS,
    SITE_ALLOCATED,
    SITE_FREE,
    SITE_REPLICAS,
    SITE_METER_GAP,
    SITE_METER_GAP_RATIO,
    NODE_INFO,
    NODE_GPUS,
    NODE_ALLOCATED,
    JOB_PHASE,
    JOB_REPLICAS,
    JOB_READY,
    JOB_LATENCY,
    JOB_PLACED,
    UNSCHEDULABLE_JOBS,
)


class FleetCollector(Collector):
    """The last round's fleet; nothing while no round ran (or after :meth:`clear`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures = FleetFigures()

    def update(self, figures: FleetFigures) -> None:
        with self._lock:
            self._figures = figures

    def clear(self) -> None:
        """Report no fleet (a standby instance: the active one reports it)."""
        self.update(FleetFigures())

    def describe(self) -> Iterator[Metric]:
        return (d.family() for d in FLEET_FAMILIES)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            f = self._figures
        families = {d.name: d.family() for d in FLEET_FAMILIES}

        def add(declared: Declared, labels: list[str], value: float) -> None:
            families[declared.name].add_metric(labels, value)

        for s in f.sites:
            add(SITE_INFO, [s.name, s.region], 1)
            add(SITE_GPUS, [s.name], s.gpus)
            add(SITE_ALLOCATED, [s.name], s.allocated_gpus)
            add(SITE_FREE, [s.name], s.free_gpus)
            add(SITE_REPLICAS, [s.name], s.replicas)
            if s.meter_gap_kw is not None and s.meter_gap_ratio is not None:
                add(SITE_METER_GAP, [s.name], s.meter_gap_kw)
                add(SITE_METER_GAP_RATIO, [s.name], s.meter_gap_ratio)
        for n in f.nodes:
            add(NODE_INFO, [n.name, n.site, n.model], 1)
            add(NODE_GPUS, [n.name], n.gpus)
            add(NODE_ALLOCATED, [n.name], n.allocated_gpus)
        for j in f.jobs:
            key = [j.namespace, j.name]
            for phase in JobPhase:
                add(JOB_PHASE, [*key, phase.value], 1 if phase.value == j.phase else 0)
            add(JOB_REPLICAS, key, j.replicas)
            add(JOB_READY, key, j.ready_replicas)
            if j.latency_ms is not None:
                add(JOB_LATENCY, key, j.latency_ms / 1000)
            for site, replicas in sorted(j.placed.items()):
                add(JOB_PLACED, [*key, site], replicas)
        for reason, jobs in sorted(f.unschedulable.items()):
            add(UNSCHEDULABLE_JOBS, [reason], jobs)
        yield from families.values()


# -- usage --------------------------------------------------------------------------------

USAGE = ("namespace", "tenant")
USAGE_GPU = Declared(
    "cango_usage_gpu_seconds",
    "counter",
    "GPU-seconds allocated to the namespace's replicas while it belonged to the tenant "
    "(divide by 3600 for GPU-hours).",
    USAGE,
)
USAGE_ENERGY = Declared(
    "cango_usage_energy_kwh",
    "counter",
    "Energy of the namespace's replicas at their estimated power (before PUE) while it "
    "belonged to the tenant, kWh.",
    USAGE,
)


class UsageKey(NamedTuple):
    """Whose usage: a namespace, and the tenant it is metered to (the namespace's
    ``compute.cango.io/tenant`` label, else the namespace itself)."""

    namespace: str
    tenant: str


@dataclass(frozen=True, slots=True)
class UsageRate:
    gpus: float
    kw: float


class NamespaceUsage(Collector):
    """GPU-seconds and kWh per namespace and tenant: the rates each round sets, integrated
    over time up to the scrape. A (namespace, tenant) pair seen once keeps its totals, so
    counters never go down: a namespace moved to another tenant starts a new series there
    and its old one stays at what the old tenant used, neither lost nor counted twice.
    Prometheus counters only; what a job is billed (``status.usage``) is
    :class:`~cango_operator.operator.metering.UsageLedger`'s."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._since = clock()
        self._rates: dict[UsageKey, UsageRate] = {}
        self._gpu_seconds: dict[UsageKey, float] = {}
        self._kwh: dict[UsageKey, float] = {}

    def set_rates(self, rates: Mapping[UsageKey, UsageRate]) -> None:
        """From now on each key holds ``rates[key]``; one left out holds nothing."""
        with self._lock:
            self._integrate()
            self._rates = dict(rates)
            for key in rates:
                self._gpu_seconds.setdefault(key, 0.0)
                self._kwh.setdefault(key, 0.0)

    def stop(self) -> None:
        """Stop metering (a standby instance); the totals stay."""
        self.set_rates({})

    def _integrate(self) -> None:
        now = self._clock()
        elapsed, self._since = max(0.0, now - self._since), now
        for key, rate in self._rates.items():
            self._gpu_seconds[key] += rate.gpus * elapsed
            self._kwh[key] += rate.kw * elapsed / 3600

    def describe(self) -> Iterator[Metric]:
        return iter((USAGE_GPU.family(), USAGE_ENERGY.family()))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._integrate()
            gpu_seconds, kwh = dict(self._gpu_seconds), dict(self._kwh)
        gpu, energy = USAGE_GPU.family(), USAGE_ENERGY.family()
        for key in sorted(gpu_seconds):
            gpu.add_metric(list(key), gpu_seconds[key])
            energy.add_metric(list(key), kwh[key])
        yield from (gpu, energy)


# -- placement latency --------------------------------------------------------------------


class PlacementClock:
    """How long a job waits for replicas: from its creation (a job never placed) or from
    the first round that saw it short of replicas, to each round that placed some."""

    def __init__(self) -> None:
        self._waiting: dict[str, float] = {}

    def observe(
        self, job: str, now: float, *, missing: int, placed_now: int, created: float | None
    ) -> float | None:
        """One round's view of a job (times in seconds since the epoch). ``missing``:
        replicas still unplaced after this round; ``placed_now``: replicas it placed;
        ``created``: the creation time of a job that had no placement before. Returns
        the latency to record when this round placed replicas."""
        start = self._waiting.get(job)
        if start is None and (missing > 0 or placed_now > 0):
            start = min(created, now) if created is not None else now
        if start is not None and missing > 0:
            self._waiting[job] = start
        else:
            self._waiting.pop(job, None)
        return now - start if placed_now > 0 and start is not None else None

    def keep_only(self, jobs: set[str]) -> None:
        """Forget jobs that no longer exist."""
        for gone in set(self._waiting) - jobs:
            del self._waiting[gone]
