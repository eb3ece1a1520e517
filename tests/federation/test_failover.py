"""A site cut off from the hub, as the jobs see it: its replicas run on the whole time;
a job that allows it gets replacements elsewhere after its grace, one that does not
waits; when the link heals the surplus goes and every job runs exactly its plan, once.

The link is a real TCP link between the site's OCM agent and the hub (the test bed's
WAN link), cut and healed; the hub learns of the cut from OCM's lease."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cango_operator.devcluster.federation import (
    LEASE_GRACE_S,
    Federation,
    availability,
    cut_link,
    heal_link,
)
from tests.e2e.harness import wait_for
from tests.federation.conftest import StartOperator
from tests.federation.harness import FedFleet, running_pods

pytestmark = [pytest.mark.cluster, pytest.mark.federation]

#: The hub marks a site Unknown after 5 lease durations without a renewal.
DETECTION_S = LEASE_GRACE_S
GRACE_S = 5
#: The acceptance bound for replacements Running after the grace, and for the surplus to
#: be gone after the heal.
REPLACEMENT_S = 20
SURPLUS_S = 30


def status_of(fleet: FedFleet, job: str) -> dict[str, Any]:
    status: dict[str, Any] = fleet.jobs()[job].get("status") or {}
    return status


def reachable_condition(fleet: FedFleet, job: str) -> dict[str, Any]:
    conditions = {c["type"]: c for c in status_of(fleet, job).get("conditions") or []}
    found: dict[str, Any] = conditions.get("ReplicasReachable") or {}
    return found


def pods_of(fleet: FedFleet, cluster: str, job: str) -> set[tuple[str, str]]:
    return {
        (p.metadata.name, p.metadata.uid)
        for p in fleet.pods(cluster)
        if p.status.phase == "Running"
        and (p.metadata.labels or {}).get("compute.cango.io/job") == job
    }


class TestASiteCutOff:
    def test_replaced_after_the_grace_surplus_gone_after_the_heal_waiting_jobs_left_alone(
        self,
        federation: Federation,
        fleet: FedFleet,
        start_operator: StartOperator,
        cut_site: str,
    ) -> None:
        # The cut site is the nearest, so everything goes there first; site-b is the
        # fallback.
        near = fleet.site("near", cut_site, latency_ms=10)
        far = fleet.site("far", "site-b", latency_ms=40)
        fleet.nodes(near, 1)
        fleet.nodes(far, 1)
        fleet.job("quick", replicas=2, failover={"replaceAfterSeconds": GRACE_S})
        fleet.job("patient", replicas=1, failover={"replace": False})
        start_operator()
        fleet.wait_running(["quick", "patient"])
        originals = running_pods(fleet, cut_site)
        assert len(originals) == 3 and not running_pods(fleet, "site-b")

        cut_at = time.monotonic()
        cut_link(federation, cut_site)
        wait_for(
            "the jobs to count their replicas at the cut site as unknown",
            lambda: (
                (
                    status_of(fleet, "quick").get("unknownReplicas"),
                    status_of(fleet, "patient").get("unknownReplicas"),
                )
                == (2, 1)
            ),
            timeout=DETECTION_S + 15,
            every=0.5,
            state=lambda: {j: status_of(fleet, j) for j in ("quick", "patient")},
        )
        marked = time.monotonic() - cut_at
        print(f"unknown {marked:.1f} s after the cut")

        def replaced() -> bool:
            assert running_pods(fleet, cut_site) == originals  # they run on, untouched
            return len(pods_of(fleet, "site-b", "quick")) == 2

        wait_for(
            "quick's replacements to run at site-b",
            replaced,
            timeout=GRACE_S + REPLACEMENT_S,
            every=0.5,
            state=lambda: status_of(fleet, "quick"),
        )
        print(f"replacements Running {time.monotonic() - cut_at - marked:.1f} s after the mark")
        quick = status_of(fleet, "quick")
        assert [(p["site"], p["replicas"]) for p in quick["unreachablePlacements"]] == [(near, 2)]
        assert "2 replaced elsewhere" in reachable_condition(fleet, "quick")["message"]
        # The patient job waits for its site, and says so.
        patient = status_of(fleet, "patient")
        assert [p["site"] for p in patient["placements"]] == [near]
        assert not pods_of(fleet, "site-b", "patient")
        assert "not replaced" in reachable_condition(fleet, "patient")["message"]
        assert availability(federation.hub, cut_site) == "Unknown"

        healed_at = time.monotonic()
        heal_link(federation, cut_site)
        wait_for(
            "every job to run exactly its plan, once, the surplus gone",
            lambda: (
                not fleet.exactly_as_planned()
                and not status_of(fleet, "quick").get("unknownReplicas")
            ),
            timeout=DETECTION_S + SURPLUS_S,
            every=0.5,
            state=fleet.exactly_as_planned,
        )
        print(f"surplus gone {time.monotonic() - healed_at:.1f} s after the heal")
        assert reachable_condition(fleet, "quick")["status"] == "True"
        assert reachable_condition(fleet, "patient")["status"] == "True"
        # The originals, nearer the clients, are the ones kept: never restarted.
        assert len(pods_of(fleet, cut_site, "quick")) == 2 and not pods_of(fleet, "site-b", "quick")
        assert running_pods(fleet, cut_site) == originals
