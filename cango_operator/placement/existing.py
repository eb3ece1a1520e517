"""What happens to replicas that already run, before any new work is placed.

They stay where they are (no needless moves) unless one of these applies, checked in this
order. Evicted replicas of a job that still exists are missing from it afterwards and
are re-placed at the job's turn like any other missing replica.


1. the job is gone ("job deleted") or the node is gone ("node gone");
2. the site is gone or Offline ("site Offline", "site not found"); a cordoned,
   Curtailed or Unknown site keeps its running work (but see 7);
3. the node is Unhealthy or Unknown ("node Unhealthy", ...); a cordoned node keeps it;
4. the job's spec changed so that the node breaks a hard rule (the static filters marked
   ``evicts_running``: region, latency SLO, GPU model, GPU memory);
5. the node has fewer healthy GPUs than its replicas hold ("node lost GPUs"): preemptible
   replicas go first, then lower priority, then by job name;
6. the job was scaled down ("scaled down"): one replica at a time from the site with the
   most replicas, from its node with the fewest; or it has more replicas at a site than
   ``maxReplicasPerSite`` allows;
7. a Ready, Degraded or Curtailed site uses more power than it has even after mining
   sheds all it may (the power model's ``gpuExcessKw`` > 0): replicas go until it fits,
   preemptible ones first, then the rest, lowest priority first within each ("site over
   power budget", or "site Curtailed" at a curtailed site). The budget is a physical
   limit (a grid order, a breaker), so a non-preemptible replica is not exempt; it is the
   last to go and is placed again elsewhere in the same plan where its job's rules allow.
   An Unknown site's numbers are stale, so nothing moves there. The order is
   :func:`shedding.shed_order`, which a site's own guard follows too while the hub is
   out of reach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from cango_operator.placement.framework import Code, Profile, ShapeArrays
from cango_operator.placement.shedding import RunningReplicas, shed_order
from cango_operator.placement.snapshot import JobRequest, NodePhase, SitePhase
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import NODE_PHASES, SITE_MISSING, SITE_PHASES

_SITE_EVICTS = {
    SITE_PHASES.index(SitePhase.OFFLINE): "site Offline",
    SITE_MISSING: "site not found",
}
#: Phases whose power figures are current enough to shed work by.
_SHEDS_BY_POWER = {
    SITE_PHASES.index(SitePhase.READY): "site over power budget",
    SITE_PHASES.index(SitePhase.DEGRADED): "site over power budget",
    SITE_PHASES.index(SitePhase.CURTAILED): "site Curtailed",
}
#: Eviction reasons that mean the site's power could not carry the work.
POWER_REASONS = frozenset(_SHEDS_BY_POWER.values())
_NODE_EVICTS = {
    NODE_PHASES.index(NodePhase.UNHEALTHY): "node Unhealthy",
    NODE_PHASES.index(NodePhase.UNKNOWN): "node Unknown",
}


def review_running(
    profile: Profile,
    state: PlanState,
    jobs: Mapping[str, JobRequest],
    arrays_of: Callable[[JobRequest], ShapeArrays],
) -> None:
    """Evict what must move, in the order of the module docstring."""
    state.evict_orphans()
    _evict_broken(profile, state, jobs, arrays_of)
    _evict_lost_gpus(state, jobs)
    _evict_excess(state, jobs)
    _evict_over_budget(state, jobs)


def _live_rows(state: PlanState, job: str) -> list[int]:
    return sorted(n for n, row in state.kept.get(job, {}).items() if row.replicas > 0)


def _evict_broken(
    profile: Profile,
    state: PlanState,
    jobs: Mapping[str, JobRequest],
    arrays_of: Callable[[JobRequest], ShapeArrays],
) -> None:
    fleet = state.fleet
    rules = [f for f in profile.static_filters if f.evicts_running]
    for key in sorted(state.kept):
        nodes = _live_rows(state, key)
        if not nodes:
            continue
        job = jobs.get(key)
        if job is None:
            for node in nodes:
                state.evict(key, node, state.kept[key][node].replicas, "job deleted")
            continue
        index = np.array(nodes, dtype=np.int64)
        reasons: list[str | None] = [None] * len(nodes)
        for i, node in enumerate(nodes):
            site_phase = int(fleet.site_phase[fleet.node_site[node]])
            reasons[i] = _SITE_EVICTS.get(site_phase) or _NODE_EVICTS.get(
                int(fleet.node_phase[node])
            )
        arrays = arrays_of(job)
        for rule in rules:
            result = rule.filter(arrays, fleet, index)
            if result.status.code == Code.ERROR:
                continue
            for rejection in result.rejections:
                for hit in np.flatnonzero(rejection.mask).tolist():
                    reasons[hit] = reasons[hit] or rejection.reason
        for node, reason in zip(nodes, reasons, strict=True):
            if reason is not None:
                state.evict(key, node, state.kept[key][node].replicas, reason)


def _evict_lost_gpus(state: PlanState, jobs: Mapping[str, JobRequest]) -> None:
    fleet = state.fleet
    by_node: dict[int, list[str]] = {}
    for key in sorted(state.kept):
        for node in _live_rows(state, key):
            by_node.setdefault(node, []).append(key)
    for node in sorted(by_node):
        rows = [(key, state.kept[key][node]) for key in by_node[node]]
        used = sum(row.replicas * row.unit.gpus for _, row in rows)
        usable = int(fleet.node_usable[node])
        while used > usable:
            key, row = min(
                ((k, r) for k, r in rows if r.replicas > 0 and r.unit.gpus > 0),
                key=lambda kr: (not jobs[kr[0]].preemptible, jobs[kr[0]].priority, kr[0]),
            )
            state.evict(key, node, 1, "node lost GPUs")
            used -= row.unit.gpus


def _evict_excess(state: PlanState, jobs: Mapping[str, JobRequest]) -> None:
    for key in sorted(k for k in state.kept if k in jobs):
        job = jobs[key]
        excess = state.kept_count(key) - job.replicas
        while excess > 0:
            counts = _site_counts(state, key)
            site = max(counts, key=lambda s: (counts[s], s))
            _evict_one_at(state, key, site, "scaled down")
            excess -= 1
        cap = job.max_replicas_per_site
        if cap <= 0:
            continue
        counts = _site_counts(state, key)
        for site in sorted(counts):
            for _ in range(counts[site] - cap):
                _evict_one_at(state, key, site, f"maxReplicasPerSite {cap}")


def _site_counts(state: PlanState, key: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for node in _live_rows(state, key):
        site = int(state.fleet.node_site[node])
        counts[site] = counts.get(site, 0) + state.kept[key][node].replicas
    return counts


def _evict_one_at(state: PlanState, key: str, site: int, reason: str) -> None:
    """One replica of ``key`` at ``site``, from the node holding the fewest of them."""
    rows = state.kept[key]
    nodes = [n for n in _live_rows(state, key) if int(state.fleet.node_site[n]) == site]
    node = min(nodes, key=lambda n: (rows[n].replicas, -n))
    state.evict(key, node, 1, reason)


def _evict_over_budget(state: PlanState, jobs: Mapping[str, JobRequest]) -> None:
    fleet = state.fleet
    for site in range(fleet.n_sites):
        reason = _SHEDS_BY_POWER.get(int(fleet.site_phase[site]))
        if reason is None or state.site_power_w[site] >= 0:
            continue
        running = [
            RunningReplicas(
                job=key,
                node=fleet.nodes[node].name,
                replicas=state.kept[key][node].replicas,
                need_w=state.kept[key][node].unit.need_w,
                priority=jobs[key].priority,
                preemptible=jobs[key].preemptible,
            )
            for key in state.kept
            if key in jobs
            for node in _live_rows(state, key)
            if int(fleet.node_site[node]) == site
        ]
        for shed in shed_order(running, -int(state.site_power_w[site])):
            state.evict(shed.row.job, fleet.node_index[shed.row.node], shed.replicas, reason)
