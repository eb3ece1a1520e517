"""Jobs on the hub run in the site clusters their placements name, through ManifestWorks.

A real hub and three real site clusters (kwok nodes, kube-scheduler each), joined through
Open Cluster Management; the operator on the hub with --federation.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.e2e.harness import GROUP, VERSION, wait_for
from tests.federation.conftest import StartOperator
from tests.federation.harness import FedFleet

pytestmark = [pytest.mark.cluster, pytest.mark.federation]


def three_sites(fleet: FedFleet, nodes: int = 1) -> list[str]:
    sites = [
        fleet.site("a", "site-a", latency_ms=10),
        fleet.site("b", "site-b", latency_ms=20),
        fleet.site("c", "site-c", latency_ms=30),
    ]
    for site in sites:
        fleet.nodes(site, nodes)
    return sites


class TestPlacementAcrossClusters:
    def test_every_replica_runs_in_its_sites_cluster_on_its_node(
        self, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        three_sites(fleet, nodes=2)
        # At most one replica per site: three replicas need all three clusters.
        fleet.job(
            "big",
            replicas=3,
            gpus=8,
            placement={"clientRegion": fleet.region, "maxLatencyMs": 100, "maxReplicasPerSite": 1},
        )
        fleet.job("small", replicas=2, gpus=1)
        start_operator()

        fleet.wait_running(["big", "small"])
        wait_for(
            "each job to run as planned",
            lambda: not fleet.exactly_as_planned(),
            timeout=60,
            state=fleet.exactly_as_planned,
        )
        big = fleet.jobs()["big"]
        clusters = {fleet.sites[p["site"]] for p in big["status"]["placements"]}
        assert clusters == {"site-a", "site-b", "site-c"}
        assert big["status"]["readyReplicas"] == 3
        # One ManifestWork per (job, cluster), in that cluster's namespace on the hub.
        works = sorted(
            (w["metadata"]["namespace"], w["metadata"]["labels"]["compute.cango.io/job"])
            for w in fleet.works()
        )
        small_clusters = {
            fleet.sites[p["site"]] for p in fleet.jobs()["small"]["status"]["placements"]
        }
        assert works == sorted(
            [(c, "big") for c in clusters] + [(c, "small") for c in small_clusters]
        )

    def test_deleting_a_job_removes_its_work_in_every_cluster(
        self, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        three_sites(fleet, nodes=2)
        fleet.job("gone", replicas=3, gpus=8)
        fleet.job("kept", replicas=1, gpus=1)
        start_operator()
        fleet.wait_running(["gone", "kept"])

        fleet.delete_job("gone")

        def left() -> list[str]:
            works = [
                w["metadata"]["name"]
                for w in fleet.works()
                if w["metadata"]["labels"]["compute.cango.io/job"] == "gone"
            ]
            deps = [
                f"{c}/{d.metadata.name}"
                for c in fleet.site_apis
                for d in fleet.deployments(c)
                if d.metadata.labels["compute.cango.io/job"] == "gone"
            ]
            pods = [
                f"{c}/{p.metadata.name}"
                for c in fleet.site_apis
                for p in fleet.pods(c)
                if p.metadata.labels["compute.cango.io/job"] == "gone"
            ]
            return works + deps + pods

        wait_for(
            "the deleted job's works, Deployments and pods to go",
            lambda: not left(),
            timeout=90,
            state=left,
        )
        assert fleet.phases() == {"kept": "Running"}
        assert not fleet.exactly_as_planned()


class TestCrashSafetyAcrossClusters:
    def test_sigkill_during_a_rollout_over_three_clusters_loses_and_duplicates_nothing(
        self, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        sites = three_sites(fleet, nodes=2)
        rng = random.Random(15)
        names = [fleet.job(f"job-{i}", replicas=rng.randint(1, 4), gpus=2) for i in range(8)]
        op = start_operator()
        kills = 0
        for _ in range(5):
            time.sleep(rng.uniform(0.5, 2.5))
            op.kill()
            kills += 1
            op.start()
            op.wait_ready()
        assert kills == 5 and sites

        fleet.wait_running(names, timeout=180)
        wait_for(
            "each job to run exactly as planned, once",
            lambda: not fleet.exactly_as_planned(),
            timeout=90,
            state=fleet.exactly_as_planned,
        )
        assert sorted(fleet.jobs()) == sorted(names)


class TestLeaving:
    def test_removing_a_site_moves_its_replicas_to_another_cluster_and_empties_its_own(
        self, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        near = fleet.site("a", "site-a", latency_ms=10)
        fleet.nodes(near, 1)
        fleet.nodes(fleet.site("b", "site-b", latency_ms=20), 1)
        fleet.job("moves", replicas=2)
        start_operator()
        fleet.wait_running(["moves"])
        assert {p["site"] for p in fleet.jobs()["moves"]["status"]["placements"]} == {near}

        fleet.custom.delete_cluster_custom_object(GROUP, VERSION, "sites", near)

        def moved() -> bool:
            job = fleet.jobs()["moves"]
            placed = {fleet.sites[p["site"]] for p in job["status"].get("placements") or []}
            return (
                placed == {"site-b"}
                and job["status"].get("readyReplicas") == 2
                and not [w for w in fleet.works() if w["metadata"]["namespace"] == "site-a"]
                and not fleet.pods("site-a")
            )

        wait_for(
            "the replicas to run in site-b and none in site-a",
            moved,
            timeout=90,
            state=fleet.explain,
        )
        assert not fleet.exactly_as_planned()
