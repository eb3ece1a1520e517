"""Tenants' GPU quotas through Kueue, as the test bed runs it, with one Workload per
InferenceJob replica written straight to the API server (no job integration).

Two tenants in one cohort: ``a`` owns 32 GPUs, ``b`` 16, and the cohort itself 16 more
that neither owns: 64 in all. Every replica asks for 8 GPUs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from tests.e2e.harness import wait_for
from tests.kueue import queues
from tests.kueue.conftest import MakeTenants
from tests.kueue.harness import Tenants
from tests.kueue.queues import GPU, Usage, condition

pytestmark = [pytest.mark.cluster, pytest.mark.kueue]

QUOTAS = {"a": 32, "b": 16}
COHORT_OWN = 16
GPUS = 8
T = TypeVar("T")


def _reason(workload: dict[str, Any], kind: str) -> str | None:
    cond = condition(workload, kind)
    return None if cond is None else str(cond.get("reason"))


def test_a_tenant_within_its_quota_is_admitted_with_each_replicas_flavor_and_gpus(
    tenants: MakeTenants,
) -> None:
    t = tenants(QUOTAS, COHORT_OWN)
    names = t.submit("a", 4, GPUS)

    _wait(t, "a's 4 replicas admitted", lambda: t.admitted("a") == names)

    for workload in t.workloads("a").values():
        assert _reason(workload, "QuotaReserved") == "QuotaReserved"
        assert _reason(workload, "Admitted") == "Admitted"
        admission = workload["status"]["admission"]
        assert admission["clusterQueue"] == t.cluster_queue("a")
        assert admission["podSetAssignments"] == [
            {
                "name": queues.PODSET,
                "count": 1,
                "flavors": {GPU: queues.FLAVOR},
                "resourceUsage": {GPU: str(GPUS)},
            }
        ]
    _reports(t, "a", Usage(total=32, borrowed=0))


def test_a_tenant_beyond_its_quota_borrows_what_the_cohort_has_idle_and_no_more(
    tenants: MakeTenants,
) -> None:
    t = tenants(QUOTAS, COHORT_OWN)
    names = t.submit("a", 9, GPUS)

    _wait(t, "a's first 8 replicas admitted", lambda: len(t.admitted("a")) == 8)

    _reports(t, "a", Usage(total=64, borrowed=32))
    (pending,) = set(names) - set(t.admitted("a"))
    workload = t.workloads("a")[pending]
    assert _reason(workload, "QuotaReserved") == "Pending"
    assert "status" not in workload or "admission" not in workload["status"]


def test_a_tenant_asking_within_its_quota_reclaims_what_another_borrowed_until_it_is_done(
    tenants: MakeTenants,
) -> None:
    t = _a_holding_all_64_gpus(tenants)

    b_names = t.submit("b", 2, GPUS)
    evicted = _wait(t, "Kueue evicts one of a's replicas", lambda: _evicted(t, "a"))

    for workload in evicted:
        assert _reason(workload, "Evicted") == "Preempted"
        assert _reason(workload, "Preempted") == "InCohortReclamation"
        # Kueue leaves the quota with the evicted Workload until its replica is stopped,
        # so b waits for it.
        assert queues.holds_quota(workload)
    assert t.admitted("b") == []
    _wait(
        t,
        "b's first replica to say it waits for a's to stop",
        lambda: _waits_for_preemption(t, "b"),
    )

    def b_admitted() -> bool:
        t.give_back_evicted()
        return t.admitted("b") == b_names

    _wait(t, "b's replicas admitted as a's evicted ones give back their GPUs", b_admitted)

    _reports(t, "a", Usage(total=48, borrowed=16))
    _reports(t, "b", Usage(total=16, borrowed=0))
    given_back = [w for w in t.workloads("a").values() if condition(w, "Evicted")]
    assert len(given_back) == 2
    for workload in given_back:
        assert _reason(workload, "QuotaReserved") == "Pending"
        assert _reason(workload, "Admitted") == "NoReservation"
        assert _reason(workload, "Requeued") == "Preempted"
        assert "admission" not in workload["status"]

    t.remove("b", b_names)
    _wait(t, "a's evicted replicas admitted again", lambda: len(t.admitted("a")) == 8)
    for workload in given_back:
        again = t.workloads("a")[workload["metadata"]["name"]]
        assert not queues.is_true(again, "Evicted")
        assert _reason(again, "Evicted") == "QuotaReserved"


def test_tenants_both_asking_beyond_their_quotas_share_the_rest_fairly(
    tenants: MakeTenants,
) -> None:
    t = _a_holding_all_64_gpus(tenants)

    t.submit("b", 8, GPUS)

    def settled() -> tuple[int, int] | None:
        t.give_back_evicted()
        split = (len(t.admitted("a")), len(t.admitted("b")))
        return split if split == (5, 3) else None

    _wait(t, "the cohort's 16 GPUs split evenly over a's and b's quotas", settled)
    _reports(t, "a", Usage(total=40, borrowed=8))
    _reports(t, "b", Usage(total=24, borrowed=8))
    _wait(t, "equal weighted shares", lambda: t.weighted_share("a") == t.weighted_share("b") > 0)
    reasons = {
        _reason(w, "Preempted") for w in t.workloads("a").values() if condition(w, "Preempted")
    }
    assert reasons == {"InCohortReclamation", "InCohortFairSharing"}


def _wait(t: Tenants, what: str, check: Callable[[], T | None]) -> T:
    """Poll every 0.2 s for at most 20 s; on time-out show every Workload's state."""
    return wait_for(what, check, timeout=20, every=0.2, state=t.states)


def _a_holding_all_64_gpus(tenants: MakeTenants) -> Tenants:
    t = tenants(QUOTAS, COHORT_OWN)
    t.submit("a", 8, GPUS)
    _wait(t, "a borrows all the cohort's idle GPUs", lambda: len(t.admitted("a")) == 8)
    return t


def _waits_for_preemption(t: Tenants, tenant: str) -> bool:
    return any(
        "Pending the preemption of" in str((condition(w, "QuotaReserved") or {}).get("message"))
        for w in t.workloads(tenant).values()
    )


def _evicted(t: Tenants, tenant: str) -> list[dict[str, Any]]:
    return [w for w in t.workloads(tenant).values() if queues.is_true(w, "Evicted")]


def _reports(t: Tenants, tenant: str, usage: Usage) -> None:
    """The tenant's ClusterQueue reports ``usage`` in its status (written a moment after
    the Workloads' admissions)."""
    _wait(t, f"{tenant}'s ClusterQueue to report {usage}", lambda: t.usage(tenant) == usage)
