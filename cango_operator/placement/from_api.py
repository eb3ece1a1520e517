"""A snapshot from the API models: Sites, GpuNodes and InferenceJobs as read from manifests
or from the cluster.

Status values are used where present (they are what the operator last observed), spec
values otherwise, so a fleet written by hand plans as if freshly installed:

- Site: phase ``status.phase`` (none: Ready); capacity, other load, GPU draw and
  committed power from ``status.power`` (none: ``spec.power.capacityKw``, the mining load
  ``spec.mining.loadKw`` as the only other load, nothing drawn or committed yet). As in
  the power model, the other load is taken to be mining, so it is also the mining load
  ``curtailableKw`` may be shed from; latency
  per region from ``status.latencyMs`` over ``spec.latencyMs``; price from
  ``status.energyPriceUsdPerMwh``, else the spec, else (unknown) the mean of the sites
  that have one, so the cost score treats it as average.
- GpuNode: phase ``status.phase`` (none: Ready); usable GPUs are the count minus the GPUs
  ``status.gpus`` marks unhealthy; ``status.allocatedGpus`` counts as taken.
- InferenceJob: ``status.placements`` are the replicas already running; a job without a
  namespace (a manifest not applied yet) is in ``default``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from cango_operator.api import GpuNode, InferenceJob, Site
from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION, parse_power_limit
from cango_operator.errors import ConfigError
from cango_operator.placement.snapshot import (
    ExistingPlacement,
    JobRequest,
    NodePhase,
    NodeState,
    Objective,
    SitePhase,
    SiteState,
    Snapshot,
    SnapshotError,
)

DEFAULT_NAMESPACE = "default"
In = TypeVar("In")
Out = TypeVar("Out")


def snapshot_from_api(
    sites: Iterable[Site],
    nodes: Iterable[GpuNode],
    jobs: Iterable[InferenceJob],
    default_namespace: str = DEFAULT_NAMESPACE,
    *,
    left_out: Callable[[str], None] | None = None,
    replica_limits: Mapping[str, int] | None = None,
) -> Snapshot:
    """The engine's snapshot of these resources: the one adapter, for ``plan -f`` and
    the operator alike.

    ``left_out`` None: an object the engine refuses raises (a manifest set must be
    right). Given: each object is converted on its own, and one that is refused (or a
    name given twice) is reported to it and left out, so that one bad object in a cluster
    never stops the whole fleet from being planned.

    ``replica_limits``: at most this many replicas of a job (by ``namespace/name``), fewer
    than it asks for (a tenant's quota admits only so many).
    """
    site_list = sorted(sites, key=lambda s: s.metadata.name)
    known = [p for p in (s.energy_price_now() for s in site_list) if p is not None]
    fallback = sum(known) / len(known) if known else 0.0
    job_list = list(jobs)
    each = _Each(left_out)
    return Snapshot(
        sites=tuple(each(site_list, lambda s: site_state(s, fallback), lambda s: s.name)),
        nodes=tuple(
            each(sorted(nodes, key=lambda n: n.metadata.name), node_state, lambda n: n.name)
        ),
        jobs=tuple(
            each(
                job_list,
                lambda j: job_request(
                    j, default_namespace, (replica_limits or {}).get(job_key(j, default_namespace))
                ),
                lambda j: j.key,
            )
        ),
        placements=tuple(
            p
            for rows in each(
                job_list,
                lambda j: running_placements(j, default_namespace),
                lambda rows: rows[0].job if rows else "",
            )
            for p in rows
        ),
    )


class _Each:
    """Converts objects one by one, raising or (with ``left_out``) reporting and leaving
    out the ones that fail and the second of two with one name."""

    def __init__(self, left_out: Callable[[str], None] | None) -> None:
        self.left_out = left_out

    def __call__(
        self, items: Iterable[In], convert: Callable[[In], Out], name_of: Callable[[Out], str]
    ) -> list[Out]:
        if self.left_out is None:
            return [convert(item) for item in items]
        out, seen = [], set()
        for item in items:
            try:
                state = convert(item)
            except (SnapshotError, ValueError) as exc:
                self.left_out(str(exc))
                continue
            name = name_of(state)
            if name and name in seen:
                self.left_out(f"{name} appears twice")
                continue
            seen.add(name)
            out.append(state)
        return out


def site_state(site: Site, fallback_price: float = 0.0) -> SiteState:
    spec = site.spec
    status = site.status
    power = status.power if status is not None else None
    latency = {region: float(ms) for region, ms in site.latency_ms_now().items()}
    price = site.energy_price_now()

    def measured(value: float | None, default: float) -> float:
        return default if value is None else value

    # Non-GPU load is mining at these sites (as the power model takes it): what runs now.
    other_load = measured(power.other_load_kw if power else None, spec.mining.load_kw)
    return SiteState(
        name=site.metadata.name,
        region=str(spec.region),
        capacity_kw=measured(power.capacity_kw if power else None, spec.power.capacity_kw),
        reserve_kw=spec.power.reserve_kw,
        other_load_kw=other_load,
        gpu_draw_kw=measured(power.gpu_draw_kw if power else None, 0.0),
        committed_kw=measured(power.committed_kw if power else None, 0.0),
        mining_load_kw=other_load,
        curtailable_kw=spec.mining.curtailable_kw,
        mining_nominal_kw=spec.mining.load_kw,
        pue=spec.power.pue,
        phase=SitePhase(status.phase.value) if status and status.phase else SitePhase.READY,
        cordoned=spec.cordoned,
        energy_price_usd_per_mwh=fallback_price if price is None else price,
        latency_ms=latency,
        mining_usd_per_kwh=spec.mining.usd_per_kwh(),
        gpu_power_cap_share=spec.power.gpu_power_cap_share,
    )


def node_state(node: GpuNode) -> NodeState:
    spec = node.spec
    status = node.status
    unhealthy = sum(1 for g in status.gpus if not g.healthy) if status else 0
    return NodeState(
        name=node.metadata.name,
        site=str(spec.site),
        gpu_model=str(spec.gpu.model),
        gpu_count=spec.gpu.count,
        gpu_memory_mib=spec.gpu.memory_mib,
        gpu_max_power_w=float(spec.gpu.max_power_w),
        healthy_gpus=max(0, spec.gpu.count - unhealthy) if unhealthy else None,
        allocated_gpus=(status.allocated_gpus or 0) if status else 0,
        phase=NodePhase(status.phase.value) if status and status.phase else NodePhase.READY,
        unschedulable=spec.unschedulable,
        power_share=power_share(node),
    )


def power_share(node: GpuNode) -> float:
    """The share of maxPowerW the operator asked the node's GPUs to be capped to (its
    ``compute.cango.io/gpu-power-limit-w``); 1.0 without one, or with one that is not a
    number of watts (the agent ignores those too)."""
    max_w = float(node.spec.gpu.max_power_w)
    try:
        watts = parse_power_limit((node.metadata.annotations or {}).get(POWER_LIMIT_ANNOTATION))
    except ConfigError:
        return 1.0
    return 1.0 if watts is None or max_w <= 0 else min(1.0, watts / max_w)


def job_key(job: InferenceJob, default_namespace: str = DEFAULT_NAMESPACE) -> str:
    return f"{job.metadata.namespace or default_namespace}/{job.metadata.name}"


def job_request(
    job: InferenceJob, default_namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
) -> JobRequest:
    """The engine's request of ``job``; ``limit``: at most this many replicas."""
    spec = job.spec
    placement = spec.placement
    return JobRequest(
        namespace=job.metadata.namespace or default_namespace,
        name=job.metadata.name,
        replicas=spec.replicas if limit is None else min(spec.replicas, limit),
        gpu_count=spec.gpu.count,
        gpu_models=tuple(str(m) for m in spec.gpu.models),
        min_memory_mib=spec.gpu.min_memory_mib or 0,
        estimated_power_w=(
            float(spec.estimated_power_w) if spec.estimated_power_w is not None else None
        ),
        client_region=str(placement.client_region) if placement.client_region else None,
        max_latency_ms=(
            float(placement.max_latency_ms) if placement.max_latency_ms is not None else None
        ),
        allowed_regions=tuple(str(r) for r in placement.allowed_regions),
        min_sites=placement.min_sites,
        max_replicas_per_site=placement.max_replicas_per_site,
        max_moves_per_round=placement.max_moves_per_round,
        objective=Objective(placement.objective.value),
        priority=spec.priority,
        preemptible=spec.preemptible,
        value_usd_per_gpu_hour=spec.value_usd_per_gpu_hour,
    )


def running_placements(
    job: InferenceJob, default_namespace: str = DEFAULT_NAMESPACE
) -> list[ExistingPlacement]:
    """``status.placements`` as existing placements (rows for one node merged)."""
    if job.status is None:
        return []
    merged: dict[str, tuple[int, int | None, float | None]] = {}
    for row in job.status.placements:
        if row.replicas <= 0:
            continue
        replicas, gpus, power = merged.get(row.node, (0, 0, 0.0))
        merged[row.node] = (
            replicas + row.replicas,
            None if gpus is None or row.gpus is None else gpus + row.gpus,
            None if power is None or row.power_w is None else power + row.power_w,
        )
    key = job_key(job, default_namespace)
    return [
        ExistingPlacement(job=key, node=node, replicas=r, gpus=g, power_w=p)
        for node, (r, g, p) in sorted(merged.items())
    ]
