"""The fleet as one round plans it: the indexes, corrected by what only the operator knows.

* a job's placements are the ones the operator last wrote, when the watch has not
  shown that write yet (see :mod:`memory`);
* a GpuNode whose heartbeat is stale is Unknown, whatever its status still says;
* a GpuNode whose Kubernetes Node is gone is left out (its replicas are re-placed);
* jobs being deleted are left out; jobs whose spec does not parse are set aside as
  failed, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cango_operator.api import GpuNode, GpuNodePhase, GpuNodeStatus, InferenceJob, Site
from cango_operator.operator.indexes import JobEntry
from cango_operator.operator.memory import WriteMemory
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


def build_view(world: World, memory: WriteMemory, now: datetime, stale_after: float) -> FleetView:
    view = FleetView(world=world, now=now)
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
        view.jobs[key] = job
    for site in world.valid_sites():
        view.sites[site.name] = site
    for gpunode in world.valid_gpunodes():
        # The engine knows GPU nodes by their GpuNode name; Deployments pin to spec.nodeName.
        if world.node_of(gpunode) is None:
            view.nodeless.add(gpunode.name)
            continue
        if is_stale(gpunode, now, stale_after):
            view.stale.add(gpunode.name)
            view.gpunodes[gpunode.name] = _with_phase(gpunode, GpuNodePhase.UNKNOWN)
        else:
            view.gpunodes[gpunode.name] = gpunode
    return view


def _with_status(job: InferenceJob, status: Mapping[str, Any]) -> InferenceJob:
    """The job with the status we wrote (parsed like the API server's copy would be)."""
    body = job.model_dump(by_alias=True, exclude_none=True, mode="json")
    body["status"] = {
        k: v for k, v in {**body.get("status", {}), **status}.items() if v is not None
    }
    return InferenceJob.model_validate(body)


def _with_phase(gpunode: GpuNode, phase: GpuNodePhase) -> GpuNode:
    status = gpunode.status or GpuNodeStatus()
    return gpunode.model_copy(update={"status": status.model_copy(update={"phase": phase})})
