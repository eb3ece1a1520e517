"""A site out of the hub's reach keeps running what it runs: its work is frozen, not torn
down. The site's agent is stopped (the hub loses the site as it would over a cut link);
the site cluster itself goes on."""

from __future__ import annotations

import time

import pytest

from cango_operator.devcluster.federation import (
    Federation,
    SiteCluster,
    start_agent,
    stop_agent,
)
from tests.e2e.harness import wait_for
from tests.federation.conftest import StartOperator
from tests.federation.harness import FedFleet

pytestmark = [pytest.mark.cluster, pytest.mark.federation]


def two_replicas_at_site_a(
    federation: Federation, fleet: FedFleet, start_operator: StartOperator, job: str
) -> SiteCluster:
    """A job of two replicas Running in cluster site-a; returns that site cluster."""
    fleet.nodes(fleet.site("a", "site-a"), 1)
    fleet.job(job, replicas=2)
    start_operator()
    fleet.wait_running([job])
    return federation.site("site-a")


class TestSiteAway:
    def test_a_job_deleted_while_its_site_is_away_runs_there_until_the_site_is_back(
        self, federation: Federation, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        member = two_replicas_at_site_a(federation, fleet, start_operator, "far")

        def running_at_site() -> int:
            return sum(1 for p in fleet.pods("site-a") if p.status.phase == "Running")

        def work() -> dict | None:  # type: ignore[type-arg]
            works = fleet.works()
            return works[0] if works else None

        stop_agent(federation, member)
        try:
            fleet.delete_job("far")
            wait_for(
                "the work to be Terminating on the hub",
                lambda: (work() or {}).get("metadata", {}).get("deletionTimestamp"),
                timeout=30,
            )
            time.sleep(5)  # the site would have had time to remove it, were it told
            assert work() is not None
            assert running_at_site() == 2
        finally:
            start_agent(federation, member)

        wait_for("the work to be gone from the hub", lambda: work() is None, timeout=90)
        wait_for(
            "the job's pods to be gone at the site",
            lambda: not fleet.pods("site-a"),
            timeout=90,
            state=lambda: [p.metadata.name for p in fleet.pods("site-a")],
        )

    def test_a_site_away_keeps_its_replicas_and_the_operator_leaves_its_work_as_it_is(
        self, federation: Federation, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        member = two_replicas_at_site_a(federation, fleet, start_operator, "stays")

        def specs() -> list[tuple[str, int]]:
            return [(w["metadata"]["name"], w["metadata"]["generation"]) for w in fleet.works()]

        before = specs()

        stop_agent(federation, member)
        try:
            time.sleep(10)
            # Nothing told the operator to move the replicas (the nodes' heartbeats are
            # not in this test): the work is not rewritten, the site runs on.
            assert specs() == before
            assert sum(1 for p in fleet.pods("site-a") if p.status.phase == "Running") == 2
            assert fleet.phases() == {"stays": "Running"}
        finally:
            start_agent(federation, member)
