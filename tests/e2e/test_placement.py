"""Jobs are placed and realised on the real control plane: every replica Running where the
plan put it, everything owned by the job, and gone with it."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import ENFORCE_LABEL, Fleet, wait_for
from tests.e2e.scenarios import (
    assert_every_replica_runs_where_planned,
    delete_job_and_wait_until_its_objects_are_gone,
)

pytestmark = pytest.mark.cluster


class TestPlacement:
    def test_every_replica_runs_on_a_node_the_plan_chose(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        near = fleet.site("near", latency_ms=20)
        far = fleet.site("far", latency_ms=40)
        fleet.nodes(near, 2, gpus=8)
        fleet.nodes(far, 1, gpus=4)
        fleet.job("chat", replicas=5, gpu={"count": 1})
        fleet.job("big", replicas=2, gpu={"count": 2})
        fleet.job("spread", replicas=2, placement={"minSites": 2})
        start_operator()

        fleet.wait_running()

        assert_every_replica_runs_where_planned(fleet)
        assert set(fleet.jobs()["spread"]["status"]["sites"]) == {near, far}

    def test_the_pods_are_admitted_where_pod_security_enforces_restricted(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("only", latency_ms=10)
        fleet.nodes(site, 1, gpus=8)
        fleet.job("chat", replicas=2)
        start_operator()
        fleet.wait_running()

        labels = fleet.core.read_namespace(fleet.namespace).metadata.labels
        assert labels[ENFORCE_LABEL] == "restricted"
        assert len(fleet.running_pods("chat")) == 2
        # Enforced indeed: a pod that may escalate is refused there.
        loose = {
            "metadata": {"name": "loose"},
            "spec": {"containers": [{"name": "c", "image": "example/x:1"}]},
        }
        with pytest.raises(ApiException) as refused:
            fleet.core.create_namespaced_pod(fleet.namespace, loose)
        assert refused.value.status == 403
        assert "restricted" in str(refused.value.body)

    def test_objects_are_owned_by_the_job_and_deleted_with_it(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("only", latency_ms=10)
        (node,) = fleet.nodes(site, 1, gpus=8)
        fleet.job("chat", replicas=3)
        fleet.job("keep", replicas=1)
        start_operator()
        fleet.wait_running()

        job = fleet.get_job("chat")
        owned = [
            d for d in fleet.deployments() if d.metadata.labels["compute.cango.io/job"] == "chat"
        ]
        assert owned
        for dep in owned:
            (ref,) = dep.metadata.owner_references
            assert (ref.kind, ref.name, ref.uid, ref.controller) == (
                "InferenceJob",
                "chat",
                job["metadata"]["uid"],
                True,
            )
        svc = fleet.core.read_namespaced_service("chat", fleet.namespace)
        assert svc.metadata.owner_references[0].uid == job["metadata"]["uid"]
        networking = client.NetworkingV1Api(fleet.core.api_client)
        policy = networking.read_namespaced_network_policy("chat", fleet.namespace)
        assert policy.metadata.owner_references[0].uid == job["metadata"]["uid"]
        assert policy.spec.pod_selector.match_labels == {"compute.cango.io/job": "chat"}
        assert fleet.get_cluster("gpunodes", node)["status"]["allocatedGpus"] == 4

        delete_job_and_wait_until_its_objects_are_gone(fleet, "chat")
        wait_for(
            "the node's allocation to drop to the remaining job",
            lambda: fleet.get_cluster("gpunodes", node)["status"]["allocatedGpus"] == 1,
        )
        assert fleet.phases() == {"keep": "Running"}
