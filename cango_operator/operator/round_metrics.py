"""What one planning round tells Prometheus: the fleet (sites, GPU nodes, jobs), usage
per namespace and tenant, and how long jobs waited for their replicas."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from cango_operator.api import JobPhase
from cango_operator.builders.meter import meter_gap
from cango_operator.operator import metrics
from cango_operator.operator.fleet_metrics import (
    FleetFigures,
    JobFigures,
    NodeFigures,
    PlacementClock,
    SiteFigures,
    UsageKey,
    UsageRate,
    main_reason,
)
from cango_operator.operator.statuses import (
    JobDecision,
    allocated_gpus,
    node_views_by_site,
    placements_by_job,
)
from cango_operator.operator.view import FleetView
from cango_operator.placement import Plan

_CLOCK = PlacementClock()


def record_round(
    view: FleetView, plan: Plan, decisions: Sequence[JobDecision], recorded: Collection[str]
) -> None:
    """Publish the round's figures; ``recorded``: keys of jobs whose decision was written."""
    metrics.FLEET.update(fleet_figures(view, plan, decisions))
    metrics.USAGE.set_rates(usage_rates(plan, view.world.tenant_of))
    _time_placements(view, plan, decisions, recorded)


def standby() -> None:
    """This instance stopped being the active one: the active one reports the fleet."""
    metrics.FLEET.clear()
    metrics.USAGE.stop()


def fleet_figures(view: FleetView, plan: Plan, decisions: Sequence[JobDecision]) -> FleetFigures:
    nodes_at = node_views_by_site(view, plan)
    replicas_at: dict[str, int] = {}
    for p in plan.placements:
        replicas_at[p.site] = replicas_at.get(p.site, 0) + p.replicas
    sites = tuple(
        SiteFigures(
            name=name,
            region=site.spec.region,
            gpus=sum(n.gpunode.spec.gpu.count for n in nodes_at.get(name, [])),
            allocated_gpus=sum(n.allocated_gpus for n in nodes_at.get(name, [])),
            free_gpus=sum(
                max(0, n.healthy_gpus - n.allocated_gpus)
                for n in nodes_at.get(name, [])
                if n.usable
            ),
            replicas=replicas_at.get(name, 0),
            meter_gap_kw=gap.gap_kw if (gap := meter_gap(site)) is not None else None,
            meter_gap_ratio=gap.ratio if gap is not None else None,
        )
        for name, site in sorted(view.sites.items())
    )
    allocated = allocated_gpus(plan)
    nodes = tuple(
        NodeFigures(
            name=g.name,
            site=g.spec.site,
            model=g.spec.gpu.model,
            gpus=g.spec.gpu.count,
            allocated_gpus=allocated.get(g.name, 0),
        )
        for g in sorted(view.world.valid_gpunodes(), key=lambda g: g.name)
    )
    jobs = [_job_figures(d) for d in decisions]
    jobs += [
        JobFigures(e.namespace, e.name, JobPhase.FAILED.value, 0, 0, None, {})
        for e in view.failed.values()
    ]
    unschedulable: dict[str, int] = {}
    for u in plan.unschedulable:
        reason = main_reason(u.reasons)
        unschedulable[reason] = unschedulable.get(reason, 0) + 1
    return FleetFigures(sites, nodes, tuple(jobs), unschedulable)


def _job_figures(d: JobDecision) -> JobFigures:
    namespace, _, name = d.key.partition("/")
    placed: dict[str, int] = {}
    for row in d.rows:
        placed[row.site] = placed.get(row.site, 0) + row.replicas
    latency = d.status.get("latencyMs")
    return JobFigures(
        namespace=namespace,
        name=name,
        phase=str(d.status["phase"]),
        replicas=d.job.spec.replicas,
        ready_replicas=int(d.status.get("readyReplicas") or 0),
        latency_ms=float(latency) if latency is not None else None,
        placed=placed,
    )


def usage_rates(plan: Plan, tenant_of: Callable[[str], str]) -> dict[UsageKey, UsageRate]:
    """GPUs and kW (estimated, before PUE) each namespace's placed replicas hold, under
    the namespace's tenant now."""
    gpus: dict[UsageKey, float] = {}
    kw: dict[UsageKey, float] = {}
    for p in plan.placements:
        namespace = p.job.partition("/")[0]
        key = UsageKey(namespace, tenant_of(namespace))
        gpus[key] = gpus.get(key, 0.0) + p.gpus
        kw[key] = kw.get(key, 0.0) + p.power_w / 1000
    return {key: UsageRate(gpus[key], kw[key]) for key in gpus}


def _time_placements(
    view: FleetView, plan: Plan, decisions: Sequence[JobDecision], recorded: Collection[str]
) -> None:
    now = view.now.timestamp()
    by_job = placements_by_job(plan)
    for d in decisions:
        if d.key not in recorded:
            continue  # not written: the next round decides again
        placed_now = sum(p.new_replicas for p in by_job.get(d.key, ()))
        never_placed = not (view.current_status.get(d.key) or {}).get("placements")
        created = d.job.metadata.creation_timestamp
        latency = _CLOCK.observe(
            d.key,
            now,
            missing=max(0, d.job.spec.replicas - int(d.status.get("replicas") or 0)),
            placed_now=placed_now,
            created=created.timestamp() if never_placed and created is not None else None,
        )
        if latency is not None:
            metrics.PLACEMENT_LATENCY.observe(latency)
    _CLOCK.keep_only({d.key for d in decisions})
