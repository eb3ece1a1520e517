"""Jobs held to a tenant's Kueue quota (``--kueue``): how many replicas each may run now,
and the Workloads to write and to delete for it.

A job labelled with a LocalQueue (``kueue.x-k8s.io/queue-name``) has one Workload per
wanted replica (builders.workload). A replica may run while its Workload is admitted and
not evicted; the placement engine sees the job with that many replicas, so it places the
admitted ones and stops the rest. An evicted Workload (Kueue took the quota back for its
owner, or for fair sharing) is deleted once the round has stopped its replica: that gives
the quota back, and the next round queues the replica again with a new Workload. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders import names
from cango_operator.builders.workload import build_workload, queue_of
from cango_operator.operator.applier import job_key
from cango_operator.operator.projections import WorkloadEntry


@dataclass(frozen=True)
class Queued:
    """A job under quota: its queue, the replicas Kueue admits now and those that wait,
    with Kueue's word on why (the first waiting replica's)."""

    queue: str
    admitted: int
    waiting: int
    why: str | None = None

    def message(self) -> str:
        head = f"Queued: {self.waiting} of {self.admitted + self.waiting} replicas wait for "
        head += f"quota in LocalQueue {self.queue}"
        return f"{head}: {self.why}" if self.why else head


@dataclass(frozen=True)
class WorkloadWrites:
    """Workloads to write (new replicas, or replicas queued again) and to delete (beyond
    the wanted replicas, of another GPU count, of a job no longer queued, or evicted)."""

    apply: Sequence[dict[str, Any]] = ()
    delete: Sequence[WorkloadEntry] = ()


def _wanted(job: InferenceJob) -> dict[str, int]:
    """Workload name -> replica index, for every replica the job asks for."""
    gpus = job.spec.gpu.count
    return {names.workload_name(job.metadata.name, i, gpus): i for i in range(job.spec.replicas)}


def job_quotas(
    jobs: Mapping[str, InferenceJob], workloads: Mapping[str, Sequence[WorkloadEntry]]
) -> dict[str, Queued]:
    """Each queued job's admitted and waiting replicas, by job key."""
    out: dict[str, Queued] = {}
    for key, job in jobs.items():
        queue = queue_of(job)
        if queue is None:
            continue
        have = {e.name: e for e in workloads.get(job_key(job), ())}
        admitted, why = 0, None
        for name in _wanted(job):
            entry = have.get(name)
            if entry is not None and entry.admitted and not entry.evicted and not entry.deleting:
                admitted += 1
            elif why is None and entry is not None and entry.pending:
                why = entry.pending
        out[key] = Queued(queue, admitted, job.spec.replicas - admitted, why)
    return out


def workload_writes(
    jobs: Mapping[str, InferenceJob], workloads: Mapping[str, Sequence[WorkloadEntry]]
) -> WorkloadWrites:
    """What makes the Workloads match the jobs."""
    apply: list[dict[str, Any]] = []
    delete: list[WorkloadEntry] = []
    for job in (jobs[k] for k in sorted(jobs)):
        queue = queue_of(job)
        have = {e.name: e for e in workloads.get(job_key(job), ())}
        wanted = _wanted(job) if queue is not None else {}
        for name, entry in sorted(have.items()):
            if entry.deleting:
                continue
            if name not in wanted or entry.evicted:
                delete.append(entry)
        for name, index in wanted.items():
            if name not in have:
                assert queue is not None
                apply.append(build_workload(job, index, queue))
    return WorkloadWrites(apply=apply, delete=delete)
