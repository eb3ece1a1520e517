"""The baseline: an InferenceJob as the plain Deployment a tenant would write without cango."""

from __future__ import annotations

from typing import Any

import pytest

from cango_operator.demo.baseline import (
    JOB_ANNOTATION,
    baseline_namespace,
    build_baseline_deployment,
    build_cluster_set_binding,
    build_ocm_placement,
)
from cango_operator.demo.fleet import FLEET_LABEL, SCENARIO_LABEL
from cango_operator.errors import ManifestError

JOB: dict[str, Any] = {
    "apiVersion": "compute.cango.io/v1alpha1",
    "kind": "InferenceJob",
    "metadata": {"name": "chat", "namespace": "tenant-acme", "labels": {SCENARIO_LABEL: "day"}},
    "spec": {
        "replicas": 3,
        "container": {"image": "registry.example/vllm:1", "args": ["--model", "x"], "port": 8080},
        "gpu": {"count": 2, "models": ["H100-80GB", "H200-141GB"]},
        "placement": {"clientRegion": "north-america", "maxLatencyMs": 50},
        "priority": 500,
    },
}


class TestBaselineDeployment:
    def test_same_replicas_image_and_gpus_per_replica(self) -> None:
        dep = build_baseline_deployment(JOB)
        container = dep["spec"]["template"]["spec"]["containers"][0]
        assert dep["spec"]["replicas"] == 3
        assert container["image"] == "registry.example/vllm:1"
        assert container["args"] == ["--model", "x"]
        assert container["ports"] == [{"containerPort": 8080}]
        assert container["resources"]["limits"] == {"nvidia.com/gpu": "2"}
        assert container["resources"]["requests"] == {"nvidia.com/gpu": "2"}

    def test_allowed_gpu_models_become_a_node_affinity(self) -> None:
        pod = build_baseline_deployment(JOB)["spec"]["template"]["spec"]
        terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
            {
                "key": "compute.cango.io/gpu-model",
                "operator": "In",
                "values": ["H100-80GB", "H200-141GB"],
            }
        ]

    def test_no_power_price_or_latency_awareness_only_the_mirror_fleet(self) -> None:
        pod = build_baseline_deployment(JOB)["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {FLEET_LABEL: "baseline"}
        assert set(pod) == {"nodeSelector", "containers", "affinity"}
        assert "schedulerName" not in pod and "tolerations" not in pod

    def test_any_gpu_model_means_no_affinity(self) -> None:
        job = {**JOB, "spec": {**JOB["spec"], "gpu": {"count": 1, "models": []}}}
        assert "affinity" not in build_baseline_deployment(job)["spec"]["template"]["spec"]

    def test_it_lives_in_the_tenants_baseline_namespace_and_names_its_job(self) -> None:
        dep = build_baseline_deployment(JOB)
        assert dep["metadata"]["namespace"] == "baseline-acme"
        assert dep["metadata"]["annotations"] == {JOB_ANNOTATION: "tenant-acme/chat"}
        assert dep["metadata"]["labels"][SCENARIO_LABEL] == "day"
        selector = dep["spec"]["selector"]["matchLabels"]
        assert selector.items() <= dep["spec"]["template"]["metadata"]["labels"].items()

    def test_a_job_without_a_name_or_image_is_refused_naming_the_field(self) -> None:
        with pytest.raises(ManifestError, match=r"metadata\.name and metadata\.namespace"):
            build_baseline_deployment({"spec": {}})
        no_image = {**JOB, "spec": {**JOB["spec"], "container": {}}}
        with pytest.raises(ManifestError, match=r"tenant-acme/chat: spec\.container\.image"):
            build_baseline_deployment(no_image)


class TestBaselineNamespace:
    @pytest.mark.parametrize(
        ("job_ns", "expected"), [("tenant-acme", "baseline-acme"), ("team-x", "baseline-team-x")]
    )
    def test_it_follows_the_jobs_namespace(self, job_ns: str, expected: str) -> None:
        assert baseline_namespace(job_ns) == expected


class TestThroughOcmPlacement:
    def test_one_cluster_chosen_by_ocms_default_prioritizers_from_every_site_cluster(
        self,
    ) -> None:
        deployment = build_baseline_deployment(JOB)
        placement, _ = build_ocm_placement(deployment)
        assert placement["kind"] == "Placement"
        assert placement["metadata"] == {
            "name": "chat",
            "namespace": "baseline-acme",
            "labels": deployment["metadata"]["labels"],
        }
        # No prioritizer policy: OCM's defaults (balance, steady) decide.
        assert placement["spec"] == {"numberOfClusters": 1, "clusterSets": ["global"]}
        binding = build_cluster_set_binding("baseline-acme")
        assert binding["spec"]["clusterSet"] in placement["spec"]["clusterSets"]

    def test_the_replica_set_carries_the_same_deployment_to_the_chosen_cluster(self) -> None:
        deployment = build_baseline_deployment(JOB)
        _, replica_set = build_ocm_placement(deployment)
        assert replica_set["kind"] == "ManifestWorkReplicaSet"
        assert replica_set["spec"]["placementRefs"] == [{"name": "chat"}]
        manifests = replica_set["spec"]["manifestWorkTemplate"]["workload"]["manifests"]
        assert manifests == [deployment]
        # The report finds the job from the replica set before any Deployment exists.
        assert replica_set["metadata"]["annotations"][JOB_ANNOTATION] == "tenant-acme/chat"
