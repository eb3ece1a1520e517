"""The fleet as one round plans it: the indexes, corrected by what only the operator knows.

* a job's placements are the ones the operator last wrote, when the watch has not
  shown that write yet (see :mod:`memory`);
* a GpuNode whose heartbeat is stale is Unknown, whatever its status still says;
* a GpuNode whose Kubernetes Node is gone is left out (its replicas are re-placed);
* a GpuNode of a site in a managed cluster (``spec.cluster``) has its Node there: it is
  judged by its heartbeat alone, and only when the operator runs federated and the
  GpuNode was reported by that cluster (its ``compute.cango.io/cluster`` label); else it
  is left out, so a site cannot bring nodes into another site;
* a GpuNode whose Node is not Ready (a new Node not yet up, or one the node lifecycle
  controller gave up on) is Unknown: its replicas move now, not after Kubernetes'
  five-minute eviction, and nothing new goes there until it is Ready;
* a site with a live power feed that has not reported yet is Unknown (no new work);
* a federated site's cluster is reachable or not as OCM's hub sees it (the agent's lease);
  one out of reach is Unknown (no new work, running work stays), its GpuNodes are
  judged by nothing (their heartbeats cannot arrive; they keep their work), and each
  job's rows there are kept or replaced by the job's failover policy (see
  :mod:`partitions`);
* jobs being deleted are left out; jobs whose spec does not parse are set aside as
  failed, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cango_operator.api import (
    GpuNode,
    GpuNodePhase,
    GpuNodeStatus,
    InferenceJob,
    InferenceJobStatus,
    Site,
    SitePhase,
    SiteStatus,
)
from cango_operator.builders import Reachability, site_latency
from cango_operator.builders.labels import CLUSTER_LABEL
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.partitions import (
    JobRows,
    SiteRank,
    Unreachable,
    next_replacement,
    split_rows,
)
from cango_operator.operator.projections import JobEntry
from cango_operator.operator.sitepower import has_live_feed
from cango_operator.operator.world import World, is_stale


def job_status_key(entry: JobEntry) -> tuple[str, str, str]:
    return ("InferenceJob", entry.namespace, entry.name)


@dataclass
class FleetView:
    world: World
    now: datetime
    jobs: dict[str, InferenceJob] = field(default_factory=dict)
    entries: dict[str, JobEntry] = field(default_factory=dict)
    failed: dict[str, JobEntry] = field(default_factory=dict)
    current_status: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    gpunodes: dict[str, GpuNode] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    nodeless: set[str] = field(default_factory=set)
    not_ready: set[str] = field(default_factory=set)
    #: GpuNodes of sites in managed clusters that the operator may not use (not
    #: federated, or reported by another cluster), with the reason.
    foreign: dict[str, str] = field(default_factory=dict)
    #: Federated sites with ``spec.cluster``: their cluster's reachability, by site.
    reachability: dict[str, Reachability] = field(default_factory=dict)
    #: Jobs with replicas at unreachable sites: their rows as the round plans them.
    partitioned: dict[str, JobRows] = field(default_factory=dict)
    #: The next moment a kept row at an unreachable site falls due for replacement.
    next_replacement: datetime | None = None
    #: Seconds without a heartbeat after which a GpuNode is stale.
    stale_after: float = 0.0


def build_view(
    world: World,
    memory: WriteMemory,
    now: datetime,
    stale_after: float,
    *,
    federated: bool = False,
) -> FleetView:
    view = FleetView(world=world, now=now, stale_after=stale_after)
    if federated:
        for site in world.valid_sites():
            if site.spec.cluster:
                view.reachability[site.name] = _reachability(world, site.spec.cluster)
    away = {
        name: Unreachable(r.cluster, r.since)
        for name, r in view.reachability.items()
        if not r.reachable
    }
    known_sites = {site.name: site for site in world.valid_sites()}
    for key, entry in world.jobs.items():
        if entry.deleting:
            continue
        written = memory.recall(job_status_key(entry), entry.resource_version)
        status: Mapping[str, Any] = written if written is not None else entry.raw_status
        view.current_status[key] = status
        view.entries[key] = entry
        if entry.job is None:
            view.failed[key] = entry
            continue
        job = entry.job
        if written is not None:
            job = _with_status(job, written)
        rows = split_rows(job, away, world.sites.keys(), now, _rank_for(job, known_sites))
        if rows.changed or (job.status is not None and job.status.unreachable_placements):
            view.partitioned[key] = rows
            job = _with_rows(job, rows)
            due = next_replacement(job, rows.waiting, away)
            if due is not None and (view.next_replacement is None or due < view.next_replacement):
                view.next_replacement = due
        view.jobs[key] = job
    for site in world.valid_sites():
        view.sites[site.name] = site if _feed_heard(site) else _as_unknown(site)
        if site.name in away:
            view.sites[site.name] = _as_unknown(view.sites[site.name])
    for gpunode in world.valid_gpunodes():
        cluster = world.cluster_of(gpunode.spec.site)
        if cluster is not None:
            reason = _remote_refusal(gpunode, cluster, federated)
            if reason is not None:
                view.nodeless.add(gpunode.name)
                view.foreign[gpunode.name] = reason
            elif gpunode.spec.site in away:
                # Out of reach: silent, but not known to be down; it keeps its work.
                if is_stale(gpunode, now, stale_after):
                    view.stale.add(gpunode.name)
                view.gpunodes[gpunode.name] = _as_last_known(gpunode)
            elif is_stale(gpunode, now, stale_after):
                view.stale.add(gpunode.name)
                view.gpunodes[gpunode.name] = _with_phase(gpunode, GpuNodePhase.UNKNOWN)
            else:
                view.gpunodes[gpunode.name] = gpunode
            continue
        # The engine knows GPU nodes by their GpuNode name; Deployments pin to spec.nodeName.
        node = world.node_of(gpunode)
        if node is None:
            view.nodeless.add(gpunode.name)
            continue
        if is_stale(gpunode, now, stale_after):
            view.stale.add(gpunode.name)
            view.gpunodes[gpunode.name] = _with_phase(gpunode, GpuNodePhase.UNKNOWN)
        elif not node.ready:
            view.not_ready.add(gpunode.name)
            view.gpunodes[gpunode.name] = _with_phase(gpunode, GpuNodePhase.UNKNOWN)
        else:
            view.gpunodes[gpunode.name] = gpunode
    return view


def _rank_for(job: InferenceJob, sites: Mapping[str, Site]) -> SiteRank:
    """Where the job's replicas are best kept: nearest its client region, then cheapest."""
    region = job.spec.placement.client_region

    def rank(name: str) -> tuple[float, ...]:
        site = sites.get(name)
        if site is None:
            return (math.inf, math.inf)
        latency = site_latency(site, region)
        price = site.energy_price_now()
        return (
            math.inf if latency is None else float(latency),
            math.inf if price is None else float(price),
        )

    return rank


def _with_rows(job: InferenceJob, rows: JobRows) -> InferenceJob:
    """The job as the engine is to see it: running where :func:`split_rows` says."""
    status = job.status or InferenceJobStatus()
    update = {"placements": list(rows.placements), "unreachable_placements": list(rows.unreachable)}
    return job.model_copy(update={"status": status.model_copy(update=update)})


def _as_last_known(gpunode: GpuNode) -> GpuNode:
    """A GpuNode at an unreachable site as last reported; the Unknown the hub wrote since
    it went silent is not a verdict on the node."""
    if gpunode.status is not None and gpunode.status.phase == GpuNodePhase.UNKNOWN:
        return _with_phase(gpunode, GpuNodePhase.READY)
    return gpunode


def _reachability(world: World, cluster: str) -> Reachability:
    entry = world.managed_clusters.get(cluster)
    if entry is None:
        return Reachability(cluster, "")
    return Reachability(cluster, entry.available, entry.since, entry.message)


def _remote_refusal(gpunode: GpuNode, cluster: str, federated: bool) -> str | None:
    """Why a GpuNode of a site in ``cluster`` may not take work, or None when it may."""
    if not federated:
        return f"its site runs in cluster {cluster!r} and the operator is not federated"
    reported_by = gpunode.metadata.labels.get(CLUSTER_LABEL) if gpunode.metadata.labels else None
    if reported_by != cluster:
        return (
            f"its site runs in cluster {cluster!r} but it carries {CLUSTER_LABEL}={reported_by!r}"
        )
    return None


def _with_status(job: InferenceJob, status: Mapping[str, Any]) -> InferenceJob:
    """The job with the status we wrote (parsed like the API server's copy would be)."""
    body = job.model_dump(by_alias=True, exclude_none=True, mode="json")
    body["status"] = {
        k: v for k, v in {**body.get("status", {}), **status}.items() if v is not None
    }
    return InferenceJob.model_validate(body)


def _feed_heard(site: Site) -> bool:
    """A site without a live feed needs none; one with a feed must have reported once."""
    if not has_live_feed(site):
        return True
    power = site.status.power if site.status is not None else None
    return power is not None and power.feed is not None


def _as_unknown(site: Site) -> Site:
    """The site as Unknown to the engine: no new work there, running work stays (a live
    feed that has not reported yet, or a cluster out of reach)."""
    status = site.status or SiteStatus()
    return site.model_copy(
        update={"status": status.model_copy(update={"phase": SitePhase.UNKNOWN})}
    )


def _with_phase(gpunode: GpuNode, phase: GpuNodePhase) -> GpuNode:
    status = gpunode.status or GpuNodeStatus()
    return gpunode.model_copy(update={"status": status.model_copy(update={"phase": phase})})
