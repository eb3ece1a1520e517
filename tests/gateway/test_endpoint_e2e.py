"""A tenant's endpoint end to end on the real control plane: the operator (with
``--gateway``) places a job at a north-american and a european site and writes its
InferencePool and HTTPRoute; ``cango-operator gateway`` serves them through a real Envoy
to real fake-model-server processes at the pods' IPs (the kwok nodes' pod ranges are in
127.0.0.0/8); the tenant calls the URL in ``status.endpoint`` with its key.

Killing the north-american site under load loses no request; scaling the job through
its ``/scale`` subresource gives replicas the engine places and the gateway routes to.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from cango_operator.devcluster.modelservers import ModelServers
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for
from tests.gateway.harness import (
    StartGateway,
    keys_secret,
    pod_addresses,
    request,
    site_of,
    two_regions,
    under_load,
)

pytestmark = pytest.mark.cluster

GATEWAYS = ("gateway.networking.k8s.io", "v1", "gateways")
ROUTES = ("gateway.networking.k8s.io", "v1", "httproutes")
KEY = "sk-acme-alice-1"


def get(fleet: Fleet, resource: tuple[str, str, str], name: str) -> dict[str, Any]:
    group, version, plural = resource
    found: dict[str, Any] = fleet.custom.get_namespaced_custom_object(
        group, version, fleet.namespace, plural, name
    )
    return found


def condition(obj: dict[str, Any], kind: str) -> str | None:
    for cond in obj.get("conditions") or []:
        if cond["type"] == kind:
            return str(cond["status"])
    return None


class TestATenantsEndpoint:
    def test_from_apply_to_answers_through_failover_and_scaling(
        self,
        fleet: Fleet,
        start_operator: StartOperator,
        start_gateway: StartGateway,
        model_servers: ModelServers,
    ) -> None:
        bed = two_regions(fleet)
        na, eu, europe, port = bed.na, bed.eu, bed.europe, bed.port
        fleet.core.create_namespaced_secret(fleet.namespace, keys_secret("chat-keys", alice=KEY))
        fleet.job(
            "chat",
            replicas=3,
            placement={"objective": "latency"},
            endpoint={
                "path": "/v1",
                "apiKeys": {"secretName": "chat-keys"},
                "rateLimit": {"requestsPerSecond": 2000},
            },
        )
        start_operator("--standalone", "--gateway", f"{fleet.namespace}/inference")
        start_gateway(f"{fleet.namespace}/inference")
        fleet.wait_running()
        served = model_servers.serve(pod_addresses(fleet, "chat"))
        assert len(served) == 3
        assert Counter(model_servers.served.values()) == {na: 2, eu: 1}

        url = wait_for(
            "chat's status.endpoint from the gateway's address",
            lambda: fleet.get_job("chat")["status"].get("endpoint"),
            timeout=60,
        )
        assert url == f"http://127.0.0.1:{port}/v1"
        # Replicas whose server came up after their pod was Ready pass Envoy's health
        # check within seconds; until then the requests go to the others.
        for region, site in ((fleet.region, na), (europe, eu)):
            wait_for(
                f"the gateway to serve chat from {site}",
                lambda region=region, site=site: site_of(port, KEY, region=region) == site,
                timeout=60,
            )
        route = get(fleet, ROUTES, "chat")
        (parent,) = route["status"]["parents"]
        assert condition(parent, "Accepted") == "True"
        assert condition(get(fleet, GATEWAYS, "inference")["status"], "Programmed") == "True"

        # Keys: none, 401; the tenant's, served near its users.
        assert request(port).status == 401
        sites = Counter(request(port, key=KEY).site for _ in range(20))
        assert set(sites) == {na}
        assert {request(port, key=KEY, region=europe).site for _ in range(5)} == {eu}

        # The north-american site dies under load: no request lost.
        results = under_load(port, KEY, during=lambda: model_servers.kill_site(na))
        failed = [r for r in results if r[0] != 200]
        assert not failed, f"{len(failed)} of {len(results)} failed: {failed[:5]}"
        assert results[-1][1] == eu

        # An autoscaler's move: /scale to 5; the engine places 2 more (in europe: the
        # north-american node is full), the gateway routes to them.
        fleet.custom.patch_namespaced_custom_object_scale(
            "compute.cango.io",
            "v1alpha1",
            fleet.namespace,
            "inferencejobs",
            "chat",
            {"spec": {"replicas": 5}},
        )
        wait_for("5 replicas running", lambda: len(fleet.running_pods("chat")) == 5, 90)
        model_servers.serve(pod_addresses(fleet, "chat"))
        eu_addresses = {a for a, s in model_servers.served.items() if s == eu}
        assert len(eu_addresses) == 3
        wait_for(
            "the gateway to route to the new replicas",
            lambda: (
                {request(port, key=KEY, region=europe).served_by for _ in range(30)} == eu_addresses
            ),
            timeout=30,
        )
        scale = fleet.custom.get_namespaced_custom_object_scale(
            "compute.cango.io", "v1alpha1", fleet.namespace, "inferencejobs", "chat"
        )
        assert scale["status"]["replicas"] >= 3
        assert scale["status"]["selector"] == "compute.cango.io/job=chat"
