"""Jobs held to a tenant's Kueue quota: one Workload per wanted replica, only admitted and
not evicted ones may run, evicted ones are given back, and what waits says why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders import names
from cango_operator.builders.status import job_status
from cango_operator.builders.workload import QUEUE_LABEL, build_workload
from cango_operator.operator.applier import job_key
from cango_operator.operator.projections import WorkloadEntry, workload_projection
from cango_operator.operator.quota import job_quotas, workload_writes
from tests.unit.builders.factories import job

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def queued_job(replicas: int = 3, gpus: int = 8, queue: str | None = "gpus") -> InferenceJob:
    j = job(replicas=replicas, gpu={"count": gpus})
    if queue is not None:
        j.metadata.labels = {QUEUE_LABEL: queue}
    return j


def kueue_says(
    workload: dict[str, Any], *, admitted: bool = False, evicted: bool = False, why: str = ""
) -> dict[str, Any]:
    """The Workload as Kueue leaves it: conditions only."""
    conditions = [
        {"type": "QuotaReserved", "status": str(admitted), "message": why},
        {"type": "Admitted", "status": str(admitted)},
    ]
    if evicted:
        conditions.append({"type": "Evicted", "status": "True", "reason": "Preempted"})
    return {**workload, "status": {"conditions": conditions}}


def entries(j: InferenceJob, states: list[dict[str, Any]]) -> dict[str, list[WorkloadEntry]]:
    """``states[i]``: what Kueue says of replica i's Workload."""
    out = []
    for i, state in enumerate(states):
        body = kueue_says(build_workload(j, i, "gpus"), **state)
        entry = workload_projection(body).entry
        assert entry is not None
        out.append(entry)
    return {job_key(j): out}


class TestTheWorkloadOfAReplica:
    def test_asks_for_the_replicas_gpus_in_the_jobs_queue_with_its_priority(self) -> None:
        j = queued_job(gpus=4)
        j.spec.priority = 50
        w = build_workload(j, 2, "gpus")
        assert w["spec"]["queueName"] == "gpus"
        assert w["spec"]["priority"] == 50
        (podset,) = w["spec"]["podSets"]
        assert podset["count"] == 1
        requests = podset["template"]["spec"]["containers"][0]["resources"]["requests"]
        assert requests == {"nvidia.com/gpu": "4"}
        assert w["metadata"]["ownerReferences"][0]["uid"] == j.metadata.uid

    def test_another_gpu_count_is_another_workload_never_a_resized_one(self) -> None:
        assert names.workload_name("chat", 0, 8) != names.workload_name("chat", 0, 4)
        assert names.workload_name("chat", 0, 8) == names.workload_name("chat", 0, 8)


class TestWhatMayRun:
    def test_admitted_replicas_run_evicted_and_pending_ones_wait_with_kueues_word(self) -> None:
        j = queued_job(replicas=4)
        why = "insufficient unused quota for nvidia.com/gpu in flavor gpu, 8 more needed"
        workloads = entries(
            j, [{"admitted": True}, {"admitted": True, "evicted": True}, {"why": why}]
        )
        (queued,) = job_quotas({"t/j": j}, workloads).values()
        assert (queued.admitted, queued.waiting) == (1, 3)
        assert queued.message() == (
            f"Queued: 3 of 4 replicas wait for quota in LocalQueue gpus: {why}"
        )

    def test_a_job_without_a_queue_is_not_held_to_any_quota(self) -> None:
        assert job_quotas({"t/j": queued_job(queue=None)}, {}) == {}


class TestWorkloadWrites:
    def test_each_wanted_replica_without_a_workload_gets_one(self) -> None:
        j = queued_job(replicas=3)
        writes = workload_writes({"t/j": j}, entries(j, [{"admitted": True}]))
        assert [w["metadata"]["labels"]["compute.cango.io/replica"] for w in writes.apply] == [
            "1",
            "2",
        ]
        assert list(writes.delete) == []

    def test_evicted_ones_and_those_beyond_the_replicas_are_deleted(self) -> None:
        j = queued_job(replicas=3)
        workloads = entries(j, [{"admitted": True}, {"admitted": True, "evicted": True}, {}])
        j.spec.replicas = 2
        writes = workload_writes({"t/j": j}, workloads)
        assert sorted(e.replica for e in writes.delete) == [1, 2]
        assert list(writes.apply) == []

    def test_a_job_taken_off_its_queue_gives_every_workload_back(self) -> None:
        j = queued_job(replicas=2)
        workloads = entries(j, [{"admitted": True}, {"admitted": True}])
        j.metadata.labels = {}
        assert len(workload_writes({"t/j": j}, workloads).delete) == 2


class TestTheStatusOfAQueuedJob:
    def test_nothing_admitted_is_queued_not_unschedulable(self) -> None:
        status = job_status(
            queued_job(replicas=2),
            [],
            ready=0,
            shortfall=None,
            latency_by_site={},
            now=NOW,
            queued="Queued: 2 of 2 replicas wait for quota in LocalQueue gpus",
        )
        assert status["phase"] == "Queued"
        assert status["message"].startswith("Queued: 2 of 2")
        placed = next(c for c in status["conditions"] if c["type"] == "Placed")
        assert (placed["status"], placed["reason"]) == ("False", "Queued")
