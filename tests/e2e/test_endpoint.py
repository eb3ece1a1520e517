"""A tenant's endpoint on the real control plane, with the Gateway API's and the Inference
Extension's CRDs applied (no gateway controller, no data plane): the built InferencePool
and HTTPRoute are valid objects of those CRDs; the operator started with --gateway gives a
job that asks for an endpoint both, owned by it and selecting its pods, writes its URL
once the gateway has an address, gives a job that does not ask none, and the garbage
collector takes both away with the job."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from cango_operator.api import InferenceJob
from cango_operator.builders import GatewayRef, build_http_route, build_inference_pool
from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.gateway import install_gateway_crds
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, job_body, wait_for

pytestmark = pytest.mark.cluster

POOLS = ("inference.networking.k8s.io", "v1", "inferencepools")
ROUTES = ("gateway.networking.k8s.io", "v1", "httproutes")
GATEWAYS = ("gateway.networking.k8s.io", "v1", "gateways")


@pytest.fixture(scope="module")
def gateway_cluster(e2e_cluster: LocalCluster) -> LocalCluster:
    install_gateway_crds(e2e_cluster)
    return e2e_cluster


def create(fleet: Fleet, resource: tuple[str, str, str], body: dict[str, Any], **kw: Any) -> Any:
    group, version, plural = resource
    return fleet.custom.create_namespaced_custom_object(
        group, version, fleet.namespace, plural, body, **kw
    )


def get(fleet: Fleet, resource: tuple[str, str, str], name: str) -> dict[str, Any] | None:
    group, version, plural = resource
    try:
        found: dict[str, Any] = fleet.custom.get_namespaced_custom_object(
            group, version, fleet.namespace, plural, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found


def a_job(fleet: Fleet, **spec: Any) -> InferenceJob:
    body = job_body("chat", fleet.namespace, fleet.region, **spec)
    body["metadata"]["uid"] = "00000000-0000-0000-0000-000000000001"
    return InferenceJob.model_validate(body)


@pytest.mark.usefixtures("gateway_cluster")
class TestTheBuiltObjectsAgainstTheCrds:
    """Server-side dry runs: the API server validates them against the CRDs' schemas and
    CEL rules, and stores nothing."""

    @pytest.mark.parametrize(
        "endpoint",
        [{}, {"path": "/v1"}, {"path": "/v1/chat/", "hostname": "chat.acme.example.com"}],
        ids=["root", "path", "path-and-hostname"],
    )
    def test_pool_and_route_are_accepted(self, fleet: Fleet, endpoint: dict[str, Any]) -> None:
        job = a_job(fleet, endpoint=endpoint)
        gateway = GatewayRef("gateway-system", "inference")
        pool = create(fleet, POOLS, build_inference_pool(job), dry_run="All")
        route = create(fleet, ROUTES, build_http_route(job, gateway), dry_run="All")
        assert pool["spec"]["selector"] == {"matchLabels": {"compute.cango.io/job": "chat"}}
        assert route["spec"]["rules"][0]["backendRefs"][0]["kind"] == "InferencePool"

    def test_the_check_can_fail_a_pool_without_ports_is_refused(self, fleet: Fleet) -> None:
        pool = copy.deepcopy(build_inference_pool(a_job(fleet, endpoint={})))
        pool["spec"]["targetPorts"] = []
        with pytest.raises(ApiException) as refused:
            create(fleet, POOLS, pool, dry_run="All")
        assert refused.value.status == 422
        assert "targetPorts" in str(refused.value.body)


class TestTheOperatorWithAGateway:
    def test_a_job_that_asks_gets_its_pool_route_and_url_and_loses_them_with_it(
        self, gateway_cluster: LocalCluster, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("only", latency_ms=10)
        fleet.nodes(site, 1, gpus=8)
        gateway = {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "inference"},
            "spec": {
                "gatewayClassName": "envoy",
                "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}],
            },
        }
        create(fleet, GATEWAYS, gateway)
        fleet.job("chat", replicas=2, endpoint={"path": "/v1"})
        fleet.job("plain", replicas=1)
        start_operator("--standalone", "--gateway", f"{fleet.namespace}/inference")
        fleet.wait_running()

        job = fleet.get_job("chat")
        pool = wait_for("chat's InferencePool", lambda: get(fleet, POOLS, "chat"))
        route = wait_for("chat's HTTPRoute", lambda: get(fleet, ROUTES, "chat"))
        for owned in (pool, route):
            (ref,) = owned["metadata"]["ownerReferences"]
            assert (ref["kind"], ref["uid"], ref["controller"]) == (
                "InferenceJob",
                job["metadata"]["uid"],
                True,
            )
        selector = pool["spec"]["selector"]["matchLabels"]
        selected = [
            p
            for p in fleet.running_pods("chat")
            if selector.items() <= (p.metadata.labels or {}).items()
        ]
        assert len(selected) == 2
        assert pool["spec"]["targetPorts"] == [{"number": 8000}]
        assert route["spec"]["parentRefs"][0]["name"] == "inference"
        assert route["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/v1"
        assert get(fleet, POOLS, "plain") is None
        assert get(fleet, ROUTES, "plain") is None
        assert "endpoint" not in job["status"]  # the gateway has no address yet

        group, version, plural = GATEWAYS
        fleet.custom.patch_namespaced_custom_object_status(
            group,
            version,
            fleet.namespace,
            plural,
            "inference",
            {"status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.7"}]}},
        )
        wait_for(
            "chat's status.endpoint",
            lambda: fleet.get_job("chat")["status"].get("endpoint") == "http://203.0.113.7/v1",
        )
        assert "endpoint" not in fleet.get_job("plain")["status"]

        fleet.delete_job("chat")
        wait_for(
            "chat's InferencePool and HTTPRoute to be collected with it",
            lambda: get(fleet, POOLS, "chat") is None and get(fleet, ROUTES, "chat") is None,
            timeout=60,
        )
