"""What every status should say after a plan: jobs, GpuNodes, Nodes and Sites.

Pure: the fleet view and the plan in, the writes that would change something out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cango_operator.api import (
    GpuNode,
    GpuNodePhase,
    InferenceJob,
    InferenceJobStatus,
    JobPlacement,
    Site,
)
from cango_operator.api.conditions import condition_json, settle_conditions
from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION
from cango_operator.builders import (
    NodeView,
    Shortfall,
    Unreached,
    build_node_patch,
    failed_status,
    fingerprint,
    heartbeat_observation,
    job_status,
    reachability_observation,
    site_aggregates,
    site_latency,
    with_round_conditions,
)
from cango_operator.builders.meter import meter_gap, reconciled_observation
from cango_operator.builders.mining import miners_observation
from cango_operator.operator.quota import Queued
from cango_operator.operator.sitepower import has_live_feed
from cango_operator.operator.view import FleetView
from cango_operator.operator.writes import Write, differs
from cango_operator.placement import Placement, Plan, Snapshot
from cango_operator.placement.meterfirst import Held, hold_for_meter
from cango_operator.power import GpuLoad

ReadyFn = Callable[[InferenceJob, Sequence[JobPlacement]], int]
#: (job key, job, its rows, ready replicas, whether the rest of its status changes) ->
#: the ``usage`` to record, or None for none.
UsageFn = Callable[[str, InferenceJob, Sequence[JobPlacement], int, bool], dict[str, float] | None]
#: A job -> the URL it is served at through the gateway (None: none known).
EndpointFn = Callable[[InferenceJob], str | None]
#: Phases in which a GpuNode takes new work.
WORKING_PHASES = frozenset({None, GpuNodePhase.READY, GpuNodePhase.DEGRADED})


@dataclass(frozen=True)
class JobDecision:
    """A job, the placement lines the plan gave it, and the status that records them."""

    key: str
    job: InferenceJob
    rows: tuple[JobPlacement, ...]
    status: dict[str, Any]
    write: Write | None


def placements_by_job(plan: Plan) -> dict[str, list[Placement]]:
    """The plan's rows grouped by job, in plan order: one pass instead of one per job."""
    out: dict[str, list[Placement]] = {}
    for p in plan.placements:
        out.setdefault(p.job, []).append(p)
    return out


def rows_of(
    placements: Sequence[Placement], held: Mapping[tuple[str, str], int] | None = None
) -> tuple[JobPlacement, ...]:
    """A job's status rows; ``held``: replicas waiting for the meter, by (job, node)."""
    return tuple(
        JobPlacement(
            site=p.site,
            node=p.node,
            replicas=p.replicas,
            gpus=p.gpus,
            power_w=round(p.power_w, 3),
            held_replicas=(held or {}).get((p.job, p.node)) or None,
        )
        for p in placements
        if p.replicas > 0
    )


def held_for_meter(view: FleetView, plan: Plan, snapshot: Snapshot) -> Held:
    """Meter first (placement.meterfirst): the plan's replicas that wait for the meter of
    a site with a live feed to show the mining shed for them."""
    metered = [name for name, site in view.sites.items() if has_live_feed(site)]
    return hold_for_meter(plan, snapshot, metered, held_before(view))


def held_before(view: FleetView) -> dict[tuple[str, str], int]:
    """What the last round held, from the jobs' statuses."""
    out: dict[tuple[str, str], int] = {}
    for key, job in view.jobs.items():
        for row in job.status.placements if job.status is not None else ():
            if row.held_replicas:
                out[(key, row.node)] = row.held_replicas
    return out


def job_decisions(
    view: FleetView,
    plan: Plan,
    ready: ReadyFn,
    usage: UsageFn | None = None,
    held: Mapping[tuple[str, str], int] | None = None,
    *,
    queued: Mapping[str, Queued] | None = None,
    endpoint: EndpointFn | None = None,
) -> list[JobDecision]:
    """``queued``: the jobs under a tenant's quota (operator.quota), by key;
    ``endpoint``: the URL of a job through the gateway (None: no gateway)."""
    short = {u.job: Shortfall(u.missing, u.message) for u in plan.unschedulable}
    by_job = placements_by_job(plan)
    latency_to: dict[str | None, dict[str, int | None]] = {}
    out = []
    for key, job in sorted(view.jobs.items()):
        rows = rows_of(by_job.get(key, ()), held)
        region = job.spec.placement.client_region
        latency = latency_to.get(region)
        if latency is None:
            latency = {name: site_latency(site, region) for name, site in view.sites.items()}
            latency_to[region] = latency
        ready_now = ready(job, rows)
        partitioned = view.partitioned.get(key)
        status = job_status(
            job,
            rows,
            ready=ready_now,
            shortfall=short.get(key),
            latency_by_site=latency,
            now=view.now,
            unreached=(
                Unreached(partitioned.unknown, partitioned.unreachable, partitioned.waiting)
                if partitioned is not None
                else None
            ),
            queued=_queued_message((queued or {}).get(key)),
            endpoint=endpoint(job) if endpoint is not None else None,
        )
        if usage is not None:
            changes = differs(status, view.current_status.get(key))
            metered = usage(key, job, rows, ready_now, changes)
            if metered is not None:
                status["usage"] = metered
        out.append(JobDecision(key, job, rows, status, _job_write(view, key, status)))
    return out


def _queued_message(queued: Queued | None) -> str:
    return queued.message() if queued is not None and queued.waiting > 0 else ""


def failed_writes(view: FleetView) -> list[Write]:
    out = []
    for key, entry in sorted(view.failed.items()):
        try:
            existing = InferenceJobStatus.model_validate(entry.raw_status).conditions
        except ValidationError:
            existing = []
        status = failed_status(
            generation=entry.generation,
            message=entry.error or "invalid spec",
            existing=existing,
            now=view.now,
        )
        write = _job_write(view, key, status)
        if write is not None:
            out.append(write)
    return out


def _job_write(view: FleetView, key: str, status: dict[str, Any]) -> Write | None:
    if not differs(status, view.current_status.get(key)):
        return None
    entry = view.entries[key]
    return Write("InferenceJob", entry.name, entry.namespace, entry.resource_version, status)


def allocated_gpus(plan: Plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in plan.placements:
        out[p.node] = out.get(p.node, 0) + p.gpus
    return out


def gpunode_writes(view: FleetView, plan: Plan, *, allocation: bool = True) -> list[Write]:
    """``allocatedGpus`` from the plan (unless ``allocation`` is off: federated, the sites'
    agents report it in the status writes they make anyway) and ``phase: Unknown`` on a
    stale heartbeat."""
    allocated = allocated_gpus(plan)
    out = []
    for name, entry in sorted(view.world.gpunodes.items()):
        gpunode = entry.gpunode
        if gpunode is None:
            continue
        status = gpunode.status
        body: dict[str, Any] = {}
        if allocation:
            # Read from the model: dumping every node's status each round costs more
            # than the rest of this function.
            have = status.allocated_gpus if status is not None else None
            if have != allocated.get(name, 0):
                body["allocatedGpus"] = allocated.get(name, 0)
        phase = status.phase if status is not None else None
        if name in view.stale and phase != GpuNodePhase.UNKNOWN:
            body["phase"] = GpuNodePhase.UNKNOWN.value
        if body:
            out.append(Write("GpuNode", name, None, entry.resource_version, body))
    return out


#: The write of a GpuNode's GPU power cap annotation (not its status).
POWER_CAP_KIND = "GpuNodePowerCap"


def power_cap_writes(view: FleetView, plan: Plan) -> list[Write]:
    """Each GpuNode's ``compute.cango.io/gpu-power-limit-w``: the cap the plan wants at its
    site (placement.powercap) in watts per GPU, or none; written only where it differs."""
    shares = {s.name: s.gpu_power_cap_share for s in plan.sites}
    out = []
    for name, entry in sorted(view.world.gpunodes.items()):
        gpunode = entry.gpunode
        if gpunode is None:
            continue
        share = shares.get(str(gpunode.spec.site))
        want = None if share is None else str(round(gpunode.spec.gpu.max_power_w * share))
        have = (gpunode.metadata.annotations or {}).get(POWER_LIMIT_ANNOTATION)
        if want != have:
            body = {POWER_LIMIT_ANNOTATION: want}
            out.append(Write(POWER_CAP_KIND, name, None, entry.resource_version, body))
    return out


def node_writes(view: FleetView) -> list[Write]:
    out = []
    for gpunode in view.world.valid_gpunodes():
        node = view.world.node_of(gpunode)
        if node is None:
            continue
        patch = build_node_patch(
            gpunode,
            labels=node.labels,
            taints=node.taints,
            resource_version=node.resource_version,
            stale=gpunode.name in view.stale,
        )
        if patch is not None:
            out.append(Write("Node", node.name, None, node.resource_version, patch))
    return out


def _usable(gpunode: GpuNode, view: FleetView) -> bool:
    phase = gpunode.status.phase if gpunode.status is not None else None
    return (
        phase in WORKING_PHASES
        and not gpunode.spec.unschedulable
        and gpunode.name not in view.stale
        and gpunode.name not in view.nodeless
        and gpunode.name not in view.not_ready
    )


def _healthy_gpus(gpunode: GpuNode) -> int:
    reported = gpunode.status.gpus if gpunode.status is not None else []
    if not reported:
        return gpunode.spec.gpu.count
    return min(gpunode.spec.gpu.count, sum(1 for g in reported if g.healthy))


def node_views_by_site(view: FleetView, plan: Plan) -> dict[str, list[NodeView]]:
    """Each site's GPU nodes: usable or not, their healthy and allocated GPUs."""
    allocated = allocated_gpus(plan)
    nodes_at: dict[str, list[NodeView]] = {}
    for gpunode in view.world.valid_gpunodes():
        nodes_at.setdefault(gpunode.spec.site, []).append(
            NodeView(
                gpunode=gpunode,
                usable=_usable(gpunode, view),
                allocated_gpus=allocated.get(gpunode.name, 0),
                healthy_gpus=_healthy_gpus(gpunode),
            )
        )
    return nodes_at


def site_round_conditions(view: FleetView) -> dict[str, list[dict[str, Any]]]:
    """The conditions the round owns on each Site (``ClusterReachable`` for a federated
    site, ``NodesReporting`` for one with GpuNodes, ``MeterReconciled`` for one whose
    meter and miners both report, ``MinersAtTarget`` for one whose miners are driven),
    with their transition times kept."""
    totals: dict[str, int] = {}
    stale: dict[str, int] = {}
    for gpunode in view.gpunodes.values():
        totals[gpunode.spec.site] = totals.get(gpunode.spec.site, 0) + 1
        if gpunode.name in view.stale:
            stale[gpunode.spec.site] = stale.get(gpunode.spec.site, 0) + 1
    out: dict[str, list[dict[str, Any]]] = {}
    for name, site in view.sites.items():
        observed = []
        if name in view.reachability:
            observed.append(reachability_observation(view.reachability[name]))
        if totals.get(name):
            observed.append(
                heartbeat_observation(totals[name], stale.get(name, 0), view.stale_after)
            )
        existing = site.status.conditions if site.status is not None else []
        gap = meter_gap(site)
        if gap is not None:
            observed.append(reconciled_observation(gap, existing, view.now))
        miners = miners_observation(site)
        if miners is not None:
            observed.append(miners)
        settled = settle_conditions(existing, observed, now=view.now)
        out[name] = [condition_json(c) for c in settled]
    return out


def site_writes(
    view: FleetView, plan: Plan, conditions: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[Write]:
    """Each Site's aggregates and the round's ``conditions`` (from
    :func:`site_round_conditions`), where they change something."""
    power = {s.name: s for s in plan.sites}
    committed: dict[str, float] = {}
    for p in plan.placements:
        committed[p.site] = committed.get(p.site, 0.0) + p.power_w
    nodes_at = node_views_by_site(view, plan)
    out = []
    for name, site in sorted(view.sites.items()):
        site_power = power.get(name)
        body = site_aggregates(
            nodes_at.get(name, []),
            pue=site.spec.power.pue,
            committed_w=committed.get(name, 0.0),
            available_kw=site_power.available_kw_after if site_power else None,
            mining_target_kw=site_power.mining_target_kw if site_power else None,
        )
        if has_live_feed(site):
            del body["power"]  # the feed runner writes those, from the same GPU load
        body["observedGeneration"] = site.metadata.generation
        stored = _dump_status(site).get("conditions") or []
        body["conditions"] = with_round_conditions(stored, conditions.get(name, ()))
        if differs(body, _dump_status(site)):
            version = view.world.sites[name].resource_version
            out.append(Write("Site", name, None, version, body))
    return out


def site_loads(view: FleetView, plan: Plan) -> dict[str, GpuLoad]:
    """Each site's GPU load for the power model: measured node power and the power
    promised to the plan's replicas (both in kW, before PUE)."""
    node_w: dict[str, float] = {}
    for gpunode in view.gpunodes.values():
        if gpunode.status is not None and gpunode.status.power_w is not None:
            site = gpunode.spec.site
            node_w[site] = node_w.get(site, 0.0) + gpunode.status.power_w
    committed_w: dict[str, float] = {}
    for p in plan.placements:
        committed_w[p.site] = committed_w.get(p.site, 0.0) + p.power_w
    return {
        name: GpuLoad(
            node_power_kw=round(node_w.get(name, 0.0) / 1000, 3),
            committed_kw=round(committed_w.get(name, 0.0) / 1000, 3),
        )
        for name in view.sites
    }


def _dump_status(resource: Site | GpuNode) -> Mapping[str, Any]:
    if resource.status is None:
        return {}
    dumped: Mapping[str, Any] = resource.status.model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    return dumped


def write_fingerprint(write: Write) -> str:
    return fingerprint(write.body)
