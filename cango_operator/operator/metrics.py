"""The operator's own Prometheus metrics (``cango_*``), served on the metrics port.

Kept on a private registry so that tests can build several operators in one process and
so that only these series (plus process metrics) are exported.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.process_collector import ProcessCollector

from cango_operator import __version__
from cango_operator.operator.fleet_metrics import FleetCollector, NamespaceUsage

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

ROUNDS = Counter(
    "cango_placement_rounds",
    "Planning rounds run, by outcome (ok or error).",
    ["outcome"],
    registry=REGISTRY,
)
PLAN_SECONDS = Histogram(
    "cango_plan_duration_seconds",
    "Time the placement engine took to plan one round (snapshot to plan, no API calls).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
ROUND_SECONDS = Histogram(
    "cango_round_duration_seconds",
    "Time one whole round took: snapshot, plan, and every write to the API server.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
PLACEMENTS = Counter(
    "cango_placements",
    "Replicas placed on a node, by cause (new: a job asked for more; moved: re-placed "
    "after an eviction).",
    ["cause"],
    registry=REGISTRY,
)
EVICTIONS = Counter(
    "cango_evictions",
    "Replicas the plan took off a node, by the engine's reason.",
    ["reason"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "cango_reconcile_errors",
    "API writes that failed, by object kind (the round is retried).",
    ["kind"],
    registry=REGISTRY,
)
API_WRITES = Counter(
    "cango_api_writes",
    "API writes the operator made, by object kind and verb.",
    ["kind", "verb"],
    registry=REGISTRY,
)
WATCH_EVENTS = Counter(
    "cango_watch_events",
    "Watch events seen, by resource and outcome: plan (it changed something a round "
    "reads, so a round was requested) or skip (a heartbeat or the operator's own output).",
    ["resource", "outcome"],
    registry=REGISTRY,
)
JOBS = Gauge(
    "cango_jobs",
    "InferenceJobs by phase, as of the last round.",
    ["phase"],
    registry=REGISTRY,
)
UNSCHEDULABLE_REPLICAS = Gauge(
    "cango_unschedulable_replicas",
    "Replicas the last plan could not place.",
    registry=REGISTRY,
)

# -- the fleet, usage and placement latency (see fleet_metrics and round_metrics) ---------

BUILD = Info(
    "cango_operator_build", "The operator's release (value 1, version label).", registry=REGISTRY
)
BUILD.info({"version": __version__})
PLACEMENT_LATENCY = Histogram(
    "cango_placement_latency_seconds",
    "From a job wanting replicas (created, or first seen short of them) to the round that "
    "placed them.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)
FLEET = FleetCollector()
REGISTRY.register(FLEET)
USAGE = NamespaceUsage()
REGISTRY.register(USAGE)

# Series that exist from the start, so that rate() reads 0 rather than nothing.
for _outcome in ("ok", "error"):
    ROUNDS.labels(_outcome)
for _cause in ("new", "moved"):
    PLACEMENTS.labels(_cause)
for _kind in ("InferenceJob", "GpuNode", "Site", "Node", "Deployment", "Service"):
    RECONCILE_ERRORS.labels(_kind)
