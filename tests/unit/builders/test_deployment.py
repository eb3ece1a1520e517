"""The Deployment of one placement line: pinned, GPU-requesting, owned, restricted."""

from __future__ import annotations

from typing import Any

import pytest

from cango_operator.api import JobPlacement
from cango_operator.builders import (
    build_deployment,
    build_placement_deployment,
    build_service,
    replica_power_w,
    stamped_hash,
)
from cango_operator.builders.labels import (
    APPLIED_HASH_ANNOTATION,
    GPU_RESOURCE,
    GPUNODE_ANNOTATION,
    JOB_LABEL,
    MANAGED_BY_LABEL,
    NODE_LABEL,
    PREEMPTIBLE_ANNOTATION,
    PRIORITY_ANNOTATION,
    REPLICA_POWER_ANNOTATION,
    SITE_LABEL,
)
from tests.unit.builders.factories import job


def _pod(dep: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = dep["spec"]["template"]["spec"]
    return spec


class TestPinning:
    def test_pods_may_only_run_on_the_decided_node(self) -> None:
        dep = build_deployment(job(), "tx-1", "tx-1-n004", 3)
        terms = _pod(dep)["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert terms == [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["tx-1-n004"]}]}
        ]
        assert dep["spec"]["replicas"] == 3

    def test_pods_tolerate_the_gpu_taint(self) -> None:
        tolerations = _pod(build_deployment(job(), "s", "n", 1))["tolerations"]
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in (
            tolerations
        )

    def test_a_rollout_never_surges_onto_a_full_node(self) -> None:
        strategy = build_deployment(job(), "s", "n", 2)["spec"]["strategy"]
        assert strategy["rollingUpdate"]["maxSurge"] == 0


class TestResources:
    def test_each_replica_requests_and_is_limited_to_its_gpus(self) -> None:
        j = job(gpu={"count": 4}, container={"resources": {"cpu": "8", "memory": "64Gi"}})
        resources = _pod(build_deployment(j, "s", "n", 1))["containers"][0]["resources"]
        assert resources["requests"] == {GPU_RESOURCE: "4", "cpu": "8", "memory": "64Gi"}
        assert resources["limits"] == {GPU_RESOURCE: "4", "memory": "64Gi"}

    def test_container_spec_is_carried_over(self) -> None:
        j = job(
            container={
                "image": "ghcr.io/acme/whisper:3",
                "command": ["serve"],
                "args": ["--model", "/m"],
                "port": 9000,
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                ],
            }
        )
        container = _pod(build_deployment(j, "s", "n", 1))["containers"][0]
        assert container["image"] == "ghcr.io/acme/whisper:3"
        assert container["command"] == ["serve"]
        assert container["args"] == ["--model", "/m"]
        assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
        assert container["env"] == [
            {"name": "A", "value": "1"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ]


class TestRestrictedPodSecurity:
    def test_pod_and_container_meet_the_restricted_standard(self) -> None:
        pod = _pod(build_deployment(job(), "s", "n", 1))
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        ctx = pod["containers"][0]["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert pod["automountServiceAccountToken"] is False


class TestOwnershipAndLabels:
    def test_the_job_owns_and_controls_its_deployment(self) -> None:
        dep = build_deployment(job(name="svc-a"), "s", "n", 1)
        assert dep["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "compute.cango.io/v1alpha1",
                "kind": "InferenceJob",
                "name": "svc-a",
                "uid": "uid-svc-a",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]

    def test_labels_name_job_site_node_and_manager(self) -> None:
        dep = build_deployment(job(name="svc-a"), "tx-1", "tx-1-n1", 1)
        labels = dep["metadata"]["labels"]
        assert labels[JOB_LABEL] == "svc-a"
        assert labels[SITE_LABEL] == "tx-1"
        assert labels[NODE_LABEL] == "tx-1-n1"
        assert labels[MANAGED_BY_LABEL] == "cango-operator"
        assert dep["spec"]["template"]["metadata"]["labels"] == labels
        assert dep["spec"]["selector"]["matchLabels"] == {
            JOB_LABEL: "svc-a",
            NODE_LABEL: "tx-1-n1",
        }

    def test_a_job_without_uid_cannot_own_anything(self) -> None:
        j = job()
        j.metadata.uid = None
        with pytest.raises(ValueError, match=r"metadata\.uid"):
            build_deployment(j, "s", "n", 1)


class TestFingerprint:
    def test_same_input_same_hash_and_changes_follow_the_input(self) -> None:
        a = build_deployment(job(), "s", "n", 1)
        assert stamped_hash(a) == stamped_hash(build_deployment(job(), "s", "n", 1))
        assert stamped_hash(a) != stamped_hash(build_deployment(job(), "s", "n", 2))
        assert stamped_hash(a) != stamped_hash(
            build_deployment(job(container={"image": "other:1"}), "s", "n", 1)
        )


class TestService:
    def test_one_service_named_after_the_job_selects_all_its_pods(self) -> None:
        svc = build_service(job(name="llama-chat", container={"port": 8080}))
        assert svc["metadata"]["name"] == "llama-chat"
        assert svc["spec"]["selector"] == {JOB_LABEL: "llama-chat"}
        assert svc["spec"]["ports"] == [
            {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
        ]
        assert svc["metadata"]["ownerReferences"][0]["uid"] == "uid-llama-chat"
        assert stamped_hash(svc)


class TestWhatTheSiteGuardReads:
    def test_priority_preemptibility_replica_power_and_gpunode_on_the_deployment(self) -> None:
        j = job(priority=40, preemptible=True)
        dep = build_deployment(j, "s", "gpu-7", 3, replica_power_w=2100 / 3)
        annotations = dict(dep["metadata"]["annotations"])
        annotations.pop(APPLIED_HASH_ANNOTATION)
        assert annotations == {
            PRIORITY_ANNOTATION: "40",
            PREEMPTIBLE_ANNOTATION: "true",
            REPLICA_POWER_ANNOTATION: "700",
            GPUNODE_ANNOTATION: "gpu-7",
        }

    def test_fractional_watts_keep_one_decimal_and_unknown_power_is_left_out(self) -> None:
        dep = build_deployment(job(), "s", "n", 3, replica_power_w=1000 / 3)
        assert dep["metadata"]["annotations"][REPLICA_POWER_ANNOTATION] == "333.3"
        assert (
            REPLICA_POWER_ANNOTATION
            not in build_deployment(job(), "s", "n", 1)["metadata"]["annotations"]
        )

    def test_the_pods_do_not_carry_them(self) -> None:
        dep = build_deployment(job(priority=5), "s", "n", 1, replica_power_w=700)
        assert "annotations" not in dep["spec"]["template"]["metadata"]

    def test_one_replicas_share_of_a_placement_lines_power(self) -> None:
        assert replica_power_w(2100.0, 3) == 700.0
        assert replica_power_w(None, 3) is None
        assert replica_power_w(0.0, 0) is None

    def test_a_plan_line_gives_its_replicas_power_share(self) -> None:
        row = JobPlacement(site="s", node="n", replicas=2, power_w=1400.0)
        dep = build_placement_deployment(job(), row)
        assert dep["spec"]["replicas"] == 2
        assert dep["metadata"]["annotations"][REPLICA_POWER_ANNOTATION] == "700"
