"""The hub lost, and the hub restored from a backup: the sites serve on, nothing is torn
down, and the operator on the hub picks up where the hub's state says, without writing
work that did not change.

The hub's control plane (etcd, API server, controller-manager) is stopped for real; a
backup is its etcd data copied while it is stopped, a restore puts that data back (see
cango_operator/devcluster/hub_backup.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster.cluster import cluster_start, cluster_stop
from cango_operator.devcluster.federation import LEASE_GRACE_S, Federation, availability
from cango_operator.devcluster.hub_backup import backup_hub, restore_hub
from tests.e2e.harness import wait_for
from tests.federation.conftest import SITES, StartOperator
from tests.federation.harness import FedFleet, running_pods

pytestmark = [pytest.mark.cluster, pytest.mark.federation]

#: Longer than the lease grace (5 lease durations), so that every lease has lapsed by
#: the time the hub is back: the hub first sees every site Unknown.
OUTAGE_S = LEASE_GRACE_S + 15


def work_versions(fleet: FedFleet) -> dict[str, tuple[int, str]]:
    """Each work's generation and the hash the operator stamped: what a rewrite changes."""
    return {
        w["metadata"]["name"]: (
            w["metadata"]["generation"],
            (w["metadata"].get("annotations") or {}).get("compute.cango.io/applied-hash", ""),
        )
        for w in fleet.works()
    }


def all_pods(fleet: FedFleet) -> dict[str, set[tuple[str, str]]]:
    return {cluster: running_pods(fleet, cluster) for cluster in SITES}


def wait_all_available(federation: Federation) -> None:
    wait_for(
        "every site Available on the hub again",
        lambda: all(availability(federation.hub, s) == "True" for s in SITES),
        timeout=60,
    )


class TestHubLost:
    def test_the_sites_serve_on_and_nothing_is_rewritten_when_the_hub_is_back(
        self, federation: Federation, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        fleet.nodes(fleet.site("a", "site-a"), 1)
        fleet.nodes(fleet.site("b", "site-b", latency_ms=30), 1)
        fleet.job("steady", replicas=2, placement={"minSites": 2})
        operator = start_operator()
        fleet.wait_running(["steady"])
        pods, works = all_pods(fleet), work_versions(fleet)
        assert sum(len(p) for p in pods.values()) == 2

        cluster_stop(federation.hub)
        try:
            deadline = time.monotonic() + OUTAGE_S
            while time.monotonic() < deadline:
                assert all_pods(fleet) == pods  # every site serves on, the same pods
                time.sleep(3)
        finally:
            cluster_start(federation.hub)
        wait_all_available(federation)
        # The operator reconnects; a few rounds later nothing at all has changed.
        wait_for("the job Running again", lambda: fleet.phases() == {"steady": "Running"})
        time.sleep(5)
        assert all_pods(fleet) == pods
        assert work_versions(fleet) == works
        assert fleet.exactly_as_planned() == []
        assert operator.alive()


class TestHubRestored:
    def test_from_an_older_backup_it_wipes_nothing_at_the_sites(
        self,
        federation: Federation,
        fleet: FedFleet,
        start_operator: StartOperator,
        tmp_path: Path,
    ) -> None:
        fleet.nodes(fleet.site("a", "site-a"), 2)
        fleet.job("old", replicas=1)
        start_operator()
        fleet.wait_running(["old"])
        backup = backup_hub(federation, tmp_path / "hub-etcd")
        wait_all_available(federation)

        fleet.job("new", replicas=1)  # made after the backup
        fleet.wait_running(["old", "new"])
        pods = all_pods(fleet)
        assert len(pods["site-a"]) == 2

        restore_hub(federation, backup)
        wait_all_available(federation)
        wait_for("the restored hub's jobs", lambda: set(fleet.jobs()) == {"old"})
        names: list[Any] = [w["metadata"]["name"] for w in fleet.works()]
        assert len(names) == 1 and "old" in names[0]
        # The work of "new" is gone from the hub; the site keeps running what it had
        # (OCM evicts an orphaned work only after the grace period, ten days here).
        time.sleep(10)
        assert all_pods(fleet) == pods
        assert fleet.phases() == {"old": "Running"}
