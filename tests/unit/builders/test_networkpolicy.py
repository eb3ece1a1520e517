"""The NetworkPolicy of a job: its pods are reached on its port from its own namespace
and from gateway namespaces, and from nothing else."""

from __future__ import annotations

from cango_operator.builders import build_network_policy, build_service
from cango_operator.builders.labels import GATEWAY_LABEL, JOB_LABEL
from tests.unit.builders.factories import job


def test_it_selects_the_jobs_pods_and_admits_only_its_namespace_and_gateways() -> None:
    j = job()
    policy = build_network_policy(j)
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {JOB_LABEL: "llama-chat"}}
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [
        {"podSelector": {}},
        {"namespaceSelector": {"matchLabels": {GATEWAY_LABEL: "true"}}},
    ]
    service = build_service(j)
    assert rule["ports"] == [{"port": service["spec"]["ports"][0]["targetPort"], "protocol": "TCP"}]


def test_it_is_owned_by_the_job_and_named_as_its_service() -> None:
    j = job()
    meta = build_network_policy(j)["metadata"]
    assert meta["name"] == build_service(j)["metadata"]["name"]
    assert meta["namespace"] == "tenant-acme"
    assert meta["ownerReferences"][0]["kind"] == "InferenceJob"
