"""GPU power caps, the second actuator: cap a site's GPUs when that serves more GPUs within
its power budget than the site can serve at full power.

A capped GPU draws its cap at most, so at a site whose power, not its GPUs, is what runs
out (mining already shed as far as it may), capping every GPU to a share of its
``maxPowerW`` fits more replicas into the same kW; each replica then serves a little
slower. The rule, per round, at the sites whose Site allows it
(``spec.power.gpuPowerCapShare``: the lowest share allowed):

1. plan with the caps in force (the GpuNodes' ``compute.cango.io/gpu-power-limit-w``);
2. when some job is left short for power, plan again with every allowed, uncapped site
   capped to its lowest share, and keep that plan when it serves strictly more GPUs
   (compared priority by priority, highest first: never more of a lower priority for
   less of a higher one);
3. plan again with every capped site uncapped, and lift the caps when that serves as many
   GPUs at every priority and stops no more running replicas (the cap is no longer what
   makes the work fit).

The plan says the cap per site (``SiteBudget.gpu_power_cap_share``); the operator asks the
site's node agents for it and their NVML telemetry shows it enforced. Until it is, the
GPUs draw what they drew, and at a metered site meter first holds the replicas the cap
made room for (their room is measured, not promised). A cap is planned for one round's
worth of work: the snapshot's draw at a newly capped site is taken to fall by the cap's
share too, as it will once the agents apply it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from cango_operator.placement.engine import plan as plan_snapshot
from cango_operator.placement.plan import Plan
from cango_operator.placement.plugins.site_power import NO_POWER
from cango_operator.placement.snapshot import Snapshot

PlanFn = Callable[[Snapshot], Plan]


def plan_with_power_caps(snapshot: Snapshot, plan_fn: PlanFn = plan_snapshot) -> Plan:
    """The plan of ``snapshot`` with the GPU power caps the rule above asks for."""
    current = plan_fn(snapshot)
    allowed = {
        s.name: s.gpu_power_cap_share
        for s in snapshot.sites
        if s.gpu_power_cap_share is not None and s.gpu_power_cap_share < 1.0
    }
    capped = {n.site for n in snapshot.nodes if n.power_share < 1.0}
    uncapped = {site: share for site, share in allowed.items() if site not in capped}
    if uncapped and _short_for_power(current):
        candidate = plan_fn(with_caps(snapshot, uncapped))
        if served(snapshot, candidate) > served(snapshot, current):
            return candidate
    if capped:
        lifted = plan_fn(with_caps(snapshot, dict.fromkeys(capped, 1.0)))
        if served(snapshot, lifted) >= served(snapshot, current) and _stopped(lifted) <= _stopped(
            current
        ):
            return lifted
    return current


def with_caps(snapshot: Snapshot, shares: Mapping[str, float]) -> Snapshot:
    """``snapshot`` with every GPU node of the named sites capped to its share (1.0: not
    capped). Where the cap changes, the running replicas there count at their jobs' power
    under the new cap (the power recorded was under the old one) and the site's measured
    GPU draw is scaled alike."""
    nodes = tuple(
        replace(n, power_share=shares[n.site]) if n.site in shares else n for n in snapshot.nodes
    )
    before = {n.site: n.power_share for n in snapshot.nodes if n.site in shares}
    sites = tuple(
        replace(s, gpu_draw_kw=s.gpu_draw_kw * shares[s.name] / before[s.name])
        if s.name in before and before[s.name] > 0
        else s
        for s in snapshot.sites
    )
    moved = {
        n.name for n in snapshot.nodes if n.site in before and before[n.site] != shares[n.site]
    }
    jobs = {j.key for j in snapshot.jobs}
    placements = tuple(
        replace(p, power_w=None) if p.node in moved and p.job in jobs else p
        for p in snapshot.placements
    )
    return replace(snapshot, sites=sites, nodes=nodes, placements=placements)


def served(snapshot: Snapshot, plan: Plan) -> tuple[int, ...]:
    """GPUs the plan serves per priority, highest priority first (compared as a tuple)."""
    jobs = {j.key: j for j in snapshot.jobs}
    priorities = sorted({j.priority for j in snapshot.jobs}, reverse=True)
    gpus = dict.fromkeys(priorities, 0)
    for p in plan.placements:
        job = jobs.get(p.job)
        if job is not None:
            gpus[job.priority] += p.replicas * job.gpu_count
    return tuple(gpus[p] for p in priorities)


def _short_for_power(plan: Plan) -> bool:
    return any(u.reasons.get(NO_POWER) for u in plan.unschedulable)


def _stopped(plan: Plan) -> int:
    return sum(e.replicas for e in plan.evictions)
