"""Reading the cluster's objects into a snapshot: budgets from Sites, replicas from pods."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cango_operator.demo.baseline import JOB_ANNOTATION
from cango_operator.demo.samples import (
    CLUSTER_FIELD,
    ClusterObjects,
    build_snapshot,
    record_pods,
    site_sample,
)

SITE_WITH_STATUS: dict[str, Any] = {
    "metadata": {"name": "a"},
    "spec": {
        "region": "north-america",
        "power": {"capacityKw": 1000, "reserveKw": 50, "pue": 1.2},
        "energyPriceUsdPerMwh": 40,
        "mining": {"loadKw": 700, "curtailableKw": 40},
        "latencyMs": {"north-america": 20, "europe": 95},
    },
    "status": {
        "phase": "Ready",
        "power": {"capacityKw": 800, "otherLoadKw": 700, "availableKw": 60},
        "energyPriceUsdPerMwh": 90,
        "latencyMs": {"north-america": 18},
    },
}
SITE_WITHOUT_STATUS: dict[str, Any] = {
    "metadata": {"name": "b"},
    "spec": {
        "region": "east-africa",
        "power": {"capacityKw": 500, "reserveKw": 20},
        "energyPriceUsdPerMwh": 30,
        "mining": {"loadKw": 450, "curtailableKw": 10},
    },
}


def node(name: str, fleet: str | None, site: str = "a", gpus: int = 8) -> dict[str, Any]:
    labels = {"compute.cango.io/gpu-model": "H100-80GB", "demo.cango.io/site": site}
    if fleet:
        labels["demo.cango.io/fleet"] = fleet
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}},
    }


def pod(
    uid: str, namespace: str, rs: str, node_name: str, *, ready: bool = True, deleting: bool = False
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "uid": uid,
        "namespace": namespace,
        "labels": {"pod-template-hash": "abc12"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": f"{rs}-abc12"}],
    }
    if deleting:
        meta["deletionTimestamp"] = "2025-01-20T00:00:09Z"
    conditions = [
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "lastTransitionTime": "2025-01-20T00:00:04Z",
        }
    ]
    return {
        "metadata": meta,
        "spec": {
            "nodeName": node_name,
            "containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}],
        },
        "status": {"phase": "Running", "conditions": conditions},
    }


OBJECTS = ClusterObjects(
    sites=[SITE_WITH_STATUS, SITE_WITHOUT_STATUS],
    gpunodes=[{"spec": {"gpu": {"model": "H100-80GB", "maxPowerW": 700}}}],
    jobs=[
        {
            "metadata": {
                "name": "chat",
                "namespace": "tenant-t",
                "creationTimestamp": "2025-01-20T00:00:01Z",
            },
            "spec": {
                "replicas": 2,
                "gpu": {"count": 1},
                "placement": {"clientRegion": "north-america", "maxLatencyMs": 50},
            },
            "status": {"phase": "Running"},
        }
    ],
    deployments=[
        {
            "metadata": {
                "name": "chat-a-n001",
                "namespace": "tenant-t",
                "ownerReferences": [{"kind": "InferenceJob", "name": "chat"}],
            },
            "spec": {"replicas": 2},
        },
        {
            "metadata": {
                "name": "chat",
                "namespace": "baseline-t",
                "creationTimestamp": "2025-01-20T00:00:01Z",
                "annotations": {JOB_ANNOTATION: "tenant-t/chat"},
            },
            "spec": {"replicas": 2},
            "status": {"readyReplicas": 1},
        },
    ],
    pods=[
        pod("p1", "tenant-t", "chat-a-n001", "a-n001"),
        pod("p2", "tenant-t", "chat-a-n001", "a-n001", deleting=True),
        pod("p3", "baseline-t", "chat", "base-a-n001"),
        {"metadata": {"uid": "p4", "namespace": "kube-system"}, "spec": {"nodeName": "a-n001"}},
    ],
    nodes=[node("a-n001", "cango"), node("base-a-n001", "baseline"), node("control", None)],
)


class TestSiteSample:
    def test_the_budget_comes_from_the_status_the_operator_wrote(self) -> None:
        sample = site_sample(SITE_WITH_STATUS)
        # capacity 800 - reserve 50 - other load 700 + sheddable min(40, 700)
        assert sample.budget_kw == 90
        assert sample.price_usd_per_mwh == 90
        assert sample.latency_ms == {"north-america": 18, "europe": 95}
        assert sample.available_kw == 60 and sample.powered

    def test_mining_already_shed_is_not_counted_again(self) -> None:
        site = {**SITE_WITH_STATUS, "spec": {**SITE_WITH_STATUS["spec"]}}
        site["spec"]["mining"] = {"loadKw": 720, "curtailableKw": 40}
        sample = site_sample(site)
        # the meter shows 700 of 720: 20 shed, 20 more may be
        assert sample.budget_kw == 800 - 50 - 700 + 20
        assert (sample.mining_kw, sample.nominal_mining_kw, sample.curtailable_kw) == (700, 720, 40)

    def test_without_a_status_the_spec_stands(self) -> None:
        sample = site_sample(SITE_WITHOUT_STATUS)
        assert sample.budget_kw == 500 - 20 - 450 + 10
        assert sample.price_usd_per_mwh == 30 and sample.pue == 1.0
        assert sample.available_kw is None

    def test_an_offline_site_or_one_without_capacity_is_not_powered(self) -> None:
        offline = {**SITE_WITH_STATUS, "status": {**SITE_WITH_STATUS["status"], "phase": "Offline"}}
        assert not site_sample(offline).powered
        dark = {**SITE_WITH_STATUS, "status": {"phase": "Ready", "power": {"capacityKw": 0}}}
        assert not site_sample(dark).powered


class TestSnapshot:
    def test_pods_are_traced_to_their_job_and_world(self) -> None:
        snap = build_snapshot(3.0, 900.0, OBJECTS)
        by_pod = {r.pod: r for r in snap.replicas}
        assert set(by_pod) == {"p1", "p2", "p3"}
        assert (by_pod["p1"].world, by_pod["p1"].job, by_pod["p1"].site) == (
            "cango",
            "tenant-t/chat",
            "a",
        )
        assert (by_pod["p3"].world, by_pod["p3"].job) == ("baseline", "tenant-t/chat")

    def test_a_pod_being_deleted_does_not_serve(self) -> None:
        by_pod = {r.pod: r for r in build_snapshot(3.0, 900.0, OBJECTS).replicas}
        assert by_pod["p1"].serving and by_pod["p3"].serving
        assert not by_pod["p2"].serving

    def test_replica_power_is_gpus_times_the_models_power_without_an_estimate(self) -> None:
        snap = build_snapshot(3.0, 900.0, OBJECTS)
        assert {r.power_w for r in snap.replicas} == {700}

    def test_a_replica_on_gpus_capped_by_the_operator_counts_at_the_cap(self) -> None:
        capped = {
            "metadata": {
                "name": "a-n001",
                "annotations": {"compute.cango.io/gpu-power-limit-w": "420"},
            },
            "spec": {"gpu": {"model": "H100-80GB", "maxPowerW": 700}},
        }
        objects = replace(OBJECTS, gpunodes=[*OBJECTS.gpunodes, capped])
        by_node = {r.node: r.power_w for r in build_snapshot(3.0, 900.0, objects).replicas}
        assert by_node["a-n001"] == 420

    def test_jobs_of_both_worlds_with_their_slo(self) -> None:
        jobs = {j.world: j for j in build_snapshot(3.0, 900.0, OBJECTS).jobs}
        assert (jobs["cango"].desired, jobs["cango"].phase) == (2, "Running")
        assert (jobs["baseline"].phase, jobs["baseline"].max_latency_ms) == ("Degraded", 50)
        assert jobs["baseline"].client_region == "north-america"

    def test_gpus_are_counted_per_fleet_and_site(self) -> None:
        snap = build_snapshot(3.0, 900.0, OBJECTS)
        assert snap.gpus_total == {"cango": 8, "baseline": 8}
        assert snap.gpus_by_site == {("cango", "a"): 8, ("baseline", "a"): 8}


class TestPodHistory:
    def test_creation_and_readiness_times_are_kept_and_vanished_pods_marked(self) -> None:
        records: dict[tuple[str, str], Any] = {}
        snap = build_snapshot(3.0, 900.0, OBJECTS)
        record_pods(records, 3.0, OBJECTS, snap)
        cango = records[("cango", "tenant-t/chat")]
        assert cango.created == datetime(2025, 1, 20, 0, 0, 1, tzinfo=UTC)
        assert cango.pods["p1"].ready_at == datetime(2025, 1, 20, 0, 0, 4, tzinfo=UTC)
        assert ("baseline", "tenant-t/chat") in records
        later = ClusterObjects(**{**OBJECTS.__dict__, "pods": OBJECTS.pods[:1]})
        record_pods(records, 6.0, later, build_snapshot(6.0, 1800.0, later))
        assert cango.pods["p2"].gone_real_s == 6.0 and cango.pods["p1"].gone_real_s is None


class TestPowerLoss:
    def test_a_replica_on_a_node_marked_powered_off_does_not_serve(self) -> None:
        dark = node("a-n001", "cango")
        dark["metadata"]["annotations"] = {"demo.cango.io/power": "off"}
        objects = ClusterObjects(**{**OBJECTS.__dict__, "nodes": [dark, *OBJECTS.nodes[1:]]})
        by_pod = {r.pod: r for r in build_snapshot(3.0, 900.0, objects).replicas}
        assert not by_pod["p1"].serving and by_pod["p3"].serving

    def test_a_site_whose_nodes_are_all_powered_off_is_dark_whatever_its_status_says(self) -> None:
        nodes = []
        for body in (node("a-n001", "cango"), node("base-a-n001", "baseline")):
            body["metadata"]["annotations"] = {"demo.cango.io/power": "off"}
            nodes.append(body)
        objects = ClusterObjects(**{**OBJECTS.__dict__, "nodes": nodes})
        assert not build_snapshot(3.0, 900.0, objects).sites["a"].powered
        assert build_snapshot(3.0, 900.0, OBJECTS).sites["a"].powered


def _at(cluster: str, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as a federated sample reads it from site cluster ``cluster``."""
    return {**obj, CLUSTER_FIELD: cluster}


def _baseline_deployment(replicas: int, ready: int, created: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "chat",
            "namespace": "baseline-t",
            "creationTimestamp": created,
            "annotations": {JOB_ANNOTATION: "tenant-t/chat"},
        },
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready},
    }


#: The operator's Deployment as a site cluster holds it: applied from a ManifestWork, so
#: nothing owns it; its labels say whose it is.
SITE_DEPLOYMENT: dict[str, Any] = {
    "metadata": {
        "name": "chat-a-n001",
        "namespace": "tenant-t",
        "labels": {
            "app.kubernetes.io/managed-by": "cango-operator",
            "compute.cango.io/job": "chat",
        },
    },
    "spec": {"replicas": 1},
}
REPLICA_SET: dict[str, Any] = {
    "metadata": {
        "name": "chat",
        "namespace": "baseline-t",
        "creationTimestamp": "2025-01-20T00:00:01Z",
        "annotations": {JOB_ANNOTATION: "tenant-t/chat"},
    },
    "spec": {
        "manifestWorkTemplate": {
            "workload": {"manifests": [{"kind": "Deployment", "spec": {"replicas": 3}}]}
        }
    },
}


class TestFederatedSamples:
    def test_the_operators_unowned_deployments_at_a_site_are_traced_by_their_labels(self) -> None:
        objects = ClusterObjects(
            **{
                **OBJECTS.__dict__,
                "deployments": [_at("europe", SITE_DEPLOYMENT)],
                "pods": [_at("europe", pod("p1", "tenant-t", "chat-a-n001", "a-n001"))],
            }
        )
        (replica,) = build_snapshot(3.0, 900.0, objects).replicas
        assert (replica.world, replica.job) == ("cango", "tenant-t/chat")

    def test_a_pod_belongs_to_the_deployment_of_its_own_cluster(self) -> None:
        # The same baseline Deployment name in two clusters; only europe's has a pod, and
        # it is traced, while a pod whose cluster holds no such Deployment is not.
        objects = ClusterObjects(
            **{
                **OBJECTS.__dict__,
                "deployments": [
                    _at("europe", _baseline_deployment(1, 1, "2025-01-20T00:00:02Z")),
                    _at("asia", _baseline_deployment(1, 0, "2025-01-20T00:00:03Z")),
                ],
                "pods": [
                    _at("europe", pod("p3", "baseline-t", "chat", "base-a-n001")),
                    _at("nowhere", pod("p9", "baseline-t", "chat", "base-a-n001")),
                ],
            }
        )
        assert [r.pod for r in build_snapshot(3.0, 900.0, objects).replicas] == ["p3"]

    def test_a_baseline_job_sums_its_deployments_over_clusters(self) -> None:
        objects = ClusterObjects(
            **{
                **OBJECTS.__dict__,
                "deployments": [
                    _at("europe", _baseline_deployment(2, 2, "2025-01-20T00:00:02Z")),
                    _at("asia", _baseline_deployment(1, 1, "2025-01-20T00:00:03Z")),
                ],
                "pods": [],
            }
        )
        jobs = {j.world: j for j in build_snapshot(3.0, 900.0, objects).jobs}
        assert (jobs["baseline"].desired, jobs["baseline"].phase) == (3, "Running")

    def test_a_baseline_job_counts_from_its_replica_set_before_any_deployment(self) -> None:
        objects = ClusterObjects(
            **{**OBJECTS.__dict__, "deployments": [], "pods": [], "replica_sets": [REPLICA_SET]}
        )
        jobs = {j.world: j for j in build_snapshot(3.0, 900.0, objects).jobs}
        assert (jobs["baseline"].desired, jobs["baseline"].phase) == (3, "Pending")
        # ...and it was submitted when its replica set was made, not when OCM got it to a
        # site: the baseline's time to Running includes OCM's own placement.
        later = ClusterObjects(
            **{
                **objects.__dict__,
                "deployments": [_at("europe", _baseline_deployment(3, 0, "2025-01-20T00:00:09Z"))],
            }
        )
        records: dict[tuple[str, str], Any] = {}
        record_pods(records, 3.0, later, build_snapshot(3.0, 900.0, later))
        assert records[("baseline", "tenant-t/chat")].created == datetime(
            2025, 1, 20, 0, 0, 1, tzinfo=UTC
        )

    def test_a_site_knows_its_cluster(self) -> None:
        site = {**SITE_WITH_STATUS, "spec": {**SITE_WITH_STATUS["spec"], "cluster": "europe"}}
        assert site_sample(site).cluster == "europe"
        assert site_sample(SITE_WITH_STATUS).cluster == ""
