"""The operator holding tenants to their Kueue quota, on the real control plane: each
replica of a queued job is a Workload, only admitted replicas run, a tenant beyond its
quota borrows what the cohort has idle, and gives it back within a round of its owner
asking; a job none of whose replicas is admitted says Queued.

Two tenants in one cohort of 64 GPUs: ``a`` owns 32, ``b`` 16, the cohort 16 more.
Every replica asks for 8 GPUs; the fleet has 80, so quota, not GPUs, is what binds.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, job_body, wait_for
from tests.kueue.conftest import MakeTenants
from tests.kueue.harness import Tenants

pytestmark = [pytest.mark.cluster, pytest.mark.kueue]

QUOTAS = {"a": 32, "b": 16}
COHORT_OWN = 16
GPUS = 8
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


def submit(fleet: Fleet, t: Tenants, tenant: str, name: str, replicas: int) -> None:
    body = job_body(
        name, t.namespace(tenant), fleet.region, replicas, gpu={"count": GPUS}, preemptible=True
    )
    body["metadata"]["labels"] = {QUEUE_LABEL: "gpus"}
    fleet.custom.create_namespaced_custom_object(
        "compute.cango.io", "v1alpha1", t.namespace(tenant), "inferencejobs", body
    )


def status(fleet: Fleet, t: Tenants, tenant: str, name: str) -> dict[str, Any]:
    job = fleet.custom.get_namespaced_custom_object(
        "compute.cango.io", "v1alpha1", t.namespace(tenant), "inferencejobs", name
    )
    return dict(job.get("status") or {})


def placed(fleet: Fleet, t: Tenants, tenant: str, name: str) -> int:
    return int(status(fleet, t, tenant, name).get("replicas") or 0)


@pytest.fixture
def quota_fleet(fleet: Fleet, tenants: MakeTenants) -> tuple[Fleet, Tenants]:
    site = fleet.site("gpus", latency_ms=10)
    fleet.nodes(site, 10, gpus=8)
    return fleet, tenants(QUOTAS, COHORT_OWN)


def start(start_operator: StartOperator, t: Tenants) -> None:
    start_operator(
        "--standalone",
        "--kueue",
        "--namespace",
        t.namespace("a"),
        "--namespace",
        t.namespace("b"),
    )


class TestQuotas:
    def test_a_tenant_runs_what_it_is_admitted_borrows_idle_quota_and_gives_it_back(
        self, quota_fleet: tuple[Fleet, Tenants], start_operator: StartOperator
    ) -> None:
        fleet, t = quota_fleet
        submit(fleet, t, "a", "chat", 9)
        start(start_operator, t)

        # 32 of its own, 32 borrowed (b's idle 16 and the cohort's 16): 8 replicas run.
        wait_for("a's 8 admitted replicas placed", lambda: placed(fleet, t, "a", "chat") == 8)
        wait_for(
            "a's ninth replica said to wait for quota",
            lambda: (
                "Queued: 1 of 9 replicas wait for quota in LocalQueue gpus"
                in str(status(fleet, t, "a", "chat").get("message"))
            ),
        )
        assert len(t.workloads("a")) == 9

        # b asks for its own 16: a gives back two borrowed replicas.
        submit(fleet, t, "b", "embed", 2)
        wait_for("b's 2 replicas placed", lambda: placed(fleet, t, "b", "embed") == 2)
        assert placed(fleet, t, "a", "chat") == 6
        wait_for(
            "a's replicas beyond its share queued again",
            lambda: "Queued: 3 of 9" in str(status(fleet, t, "a", "chat").get("message")),
        )

    def test_a_job_none_of_whose_replicas_is_admitted_is_queued_not_unschedulable(
        self, quota_fleet: tuple[Fleet, Tenants], start_operator: StartOperator
    ) -> None:
        fleet, t = quota_fleet
        submit(fleet, t, "a", "all", 8)
        start(start_operator, t)
        wait_for("a holding all 64 GPUs", lambda: placed(fleet, t, "a", "all") == 8)

        # b's own 16 are lent out: its 3 x 8 = 24 get 16 back by reclaim and 8 more by
        # fair sharing (a 40, b 24: each borrows 8).
        submit(fleet, t, "b", "late", 3)
        wait_for("b's replicas placed by fair share", lambda: placed(fleet, t, "b", "late") == 3)
        assert placed(fleet, t, "a", "all") == 5

        # Beyond its fair share, a new job of b's waits whole.
        submit(fleet, t, "b", "queued", 1)
        wait_for(
            "b's new job Queued",
            lambda: status(fleet, t, "b", "queued").get("phase") == "Queued",
        )
        message = str(status(fleet, t, "b", "queued").get("message"))
        assert message.startswith("Queued: 1 of 1 replicas wait for quota in LocalQueue gpus")
