"""The engine's input, from the round's fleet view.

Placements already decided come from the jobs' statuses (as corrected by the view);
allocation and committed power are *not* read back from GpuNode and Site statuses: the
operator derives those from the same placements, so reading them back would only count
the same replicas twice, one round late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from cango_operator.api import GpuNode, InferenceJob, Site
from cango_operator.operator.view import FleetView
from cango_operator.placement import (
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

logger = logging.getLogger(__name__)
In = TypeVar("In")
Out = TypeVar("Out")


def _each(
    items: Iterable[In], convert: Callable[[In], Out], name_of: Callable[[Out], str]
) -> list[Out]:
    """Convert every item; one that the engine refuses (or repeats a name) is logged and
    left out, so one bad object never stops the whole fleet from being planned."""
    out = []
    seen: set[str] = set()
    for item in items:
        try:
            state = convert(item)
        except SnapshotError as exc:
            logger.warning("left out of planning: %s", exc)
            continue
        name = name_of(state)
        if name in seen:
            logger.warning("left out of planning: %s appears twice", name)
            continue
        seen.add(name)
        out.append(state)
    return out


def build_snapshot(view: FleetView) -> Snapshot:
    draw_w: dict[str, float] = {}
    for gpunode in view.gpunodes.values():
        if gpunode.status is not None and gpunode.status.power_w is not None:
            site = gpunode.spec.site
            draw_w[site] = draw_w.get(site, 0.0) + gpunode.status.power_w
    sites = _each(
        sorted(view.sites.values(), key=lambda s: s.name),
        lambda s: _site(s, draw_w.get(s.name, 0.0)),
        lambda s: s.name,
    )
    nodes = _each(sorted(view.gpunodes.values(), key=lambda n: n.name), _node, lambda n: n.name)
    jobs = _each(view.jobs.values(), _job, lambda j: j.key)
    placements = _each(
        (
            (f"{job.metadata.namespace}/{job.name}", p)
            for job in view.jobs.values()
            for p in (job.status.placements if job.status is not None else [])
            if p.replicas > 0
        ),
        lambda kp: ExistingPlacement(
            job=kp[0],
            node=kp[1].node,
            replicas=kp[1].replicas,
            gpus=kp[1].gpus,
            power_w=kp[1].power_w,
        ),
        lambda p: f"{p.job} on {p.node}",
    )
    return Snapshot(
        sites=tuple(sites), nodes=tuple(nodes), jobs=tuple(jobs), placements=tuple(placements)
    )


def _site(site: Site, draw_w: float) -> SiteState:
    spec = site.spec
    power = site.status.power if site.status is not None else None
    capacity = spec.power.capacity_kw
    if power is not None and power.capacity_kw:
        capacity = power.capacity_kw
    other = spec.mining.load_kw
    if power is not None and power.other_load_kw is not None:
        other = power.other_load_kw
    phase = site.status.phase if site.status is not None else None
    return SiteState(
        name=site.name,
        region=spec.region,
        capacity_kw=capacity,
        reserve_kw=min(spec.power.reserve_kw, capacity * 0.999),
        other_load_kw=other,
        gpu_draw_kw=draw_w * spec.power.pue / 1000.0,
        mining_load_kw=spec.mining.load_kw,
        curtailable_kw=spec.mining.curtailable_kw,
        pue=spec.power.pue,
        phase=SitePhase(phase.value) if phase is not None else SitePhase.READY,
        cordoned=spec.cordoned,
        energy_price_usd_per_mwh=spec.energy_price_usd_per_mwh or 0.0,
        latency_ms={
            **{k: float(v) for k, v in spec.latency_ms.items()},
            **{
                k: float(v)
                for k, v in ((site.status.latency_ms or {}) if site.status else {}).items()
            },
        },
    )


def _node(gpunode: GpuNode) -> NodeState:
    spec = gpunode.spec
    status = gpunode.status
    healthy: int | None = None
    if status is not None and status.gpus:
        healthy = min(spec.gpu.count, sum(1 for g in status.gpus if g.healthy))
    phase = status.phase if status is not None else None
    return NodeState(
        name=spec.node_name,
        site=spec.site,
        gpu_model=spec.gpu.model,
        gpu_count=spec.gpu.count,
        gpu_memory_mib=spec.gpu.memory_mib,
        gpu_max_power_w=float(spec.gpu.max_power_w),
        healthy_gpus=healthy,
        phase=NodePhase(phase.value) if phase is not None else NodePhase.READY,
        unschedulable=spec.unschedulable,
    )


def _job(job: InferenceJob) -> JobRequest:
    spec = job.spec
    placement = spec.placement
    return JobRequest(
        namespace=job.metadata.namespace or "",
        name=job.name,
        replicas=spec.replicas,
        gpu_count=spec.gpu.count,
        gpu_models=tuple(spec.gpu.models),
        min_memory_mib=spec.gpu.min_memory_mib or 0,
        estimated_power_w=float(spec.estimated_power_w) if spec.estimated_power_w else None,
        client_region=placement.client_region,
        max_latency_ms=float(placement.max_latency_ms) if placement.max_latency_ms else None,
        allowed_regions=tuple(placement.allowed_regions),
        min_sites=placement.min_sites,
        max_replicas_per_site=placement.max_replicas_per_site,
        objective=Objective(placement.objective.value),
        priority=spec.priority,
        preemptible=spec.preemptible,
    )
