"""A job's endpoint in the federation: the operator writes the InferencePool and HTTPRoute
on the hub, beside the job; a gateway per region (``cango-operator gateway --region``)
reads them from the hub and the replicas' pods from the site clusters, and sends a
request to its own region's replicas first and to the other region's when those fail.

Two sites in two site clusters: site-a in the users' region, site-b in Europe, one
replica each, served by fake model servers at the pods' loopback IPs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from cango_operator.devcluster.federation import Federation
from cango_operator.devcluster.gateway import install_gateway_crds
from cango_operator.devcluster.modelservers import ModelServers, PodAddress
from tests.e2e.harness import wait_for
from tests.federation.conftest import StartOperator
from tests.federation.harness import FedFleet
from tests.gateway.harness import (
    StartGateway,
    create_gateway,
    gateway_commands,
    keys_secret,
    request,
    site_of,
    under_load,
)

pytestmark = pytest.mark.federation

KEY = "sk-fed-1"


@pytest.fixture(scope="module")
def gateway_hub(federation: Federation) -> Federation:
    install_gateway_crds(federation.hub)
    return federation


@pytest.fixture
def start_gateway(gateway_hub: Federation, tmp_path: Path) -> Iterator[StartGateway]:
    """``cango-operator gateway`` on the hub, reading pods from every site cluster."""
    sites = [
        arg for s in gateway_hub.sites for arg in ("--pods-kubeconfig", str(s.cluster.kubeconfig))
    ]
    hub = gateway_hub.hub
    with gateway_commands(hub.kubeconfig, hub.env(), tmp_path, *sites) as start:
        yield start


def test_each_regions_gateway_serves_its_own_sites_first_and_the_others_when_they_fail(
    fleet: FedFleet,
    start_operator: StartOperator,
    model_servers: ModelServers,
    start_gateway: StartGateway,
) -> None:
    europe = fleet.name("europe")
    octet = random.randint(100, 250)
    na = fleet.site("na", "site-a", latency_ms=10, latency_to={europe: 90})
    eu = fleet.site("eu", "site-b", latency_ms=90, latency_to={europe: 10}, region=europe)
    fleet.nodes(na, 1, gpus=1, pod_cidrs=[f"127.{octet}.1.0/24"])
    fleet.nodes(eu, 1, gpus=1, pod_cidrs=[f"127.{octet}.2.0/24"])
    port = create_gateway(fleet.custom, fleet.namespace)
    fleet.hub_core.create_namespaced_secret(fleet.namespace, keys_secret("keys", t=KEY))
    fleet.job("chat", replicas=2, endpoint={"path": "/v1", "apiKeys": {"secretName": "keys"}})
    start_operator(extra=("--gateway", f"{fleet.namespace}/inference"))
    fleet.wait_running(["chat"])

    pods = [
        PodAddress(p.status.pod_ip, 8000, p.metadata.labels["compute.cango.io/site"])
        for cluster in ("site-a", "site-b")
        for p in fleet.pods(cluster)
        if p.status.pod_ip
    ]
    model_servers.serve(pods)
    assert sorted(model_servers.served.values()) == sorted([na, eu])

    # Two regional gateways on one machine: the Gateway's listener port is one, so the
    # european gateway listens on another loopback address.
    eu_ip = f"127.{octet}.9.1"
    gateway = f"{fleet.namespace}/inference"
    start_gateway(gateway, "--region", fleet.region, name="gateway-na")
    start_gateway(gateway, "--region", europe, "--listen-address", eu_ip, name="gateway-eu")
    wait_for(
        "the north-american gateway to serve from its own site",
        lambda: site_of(port, KEY) == na,
        timeout=60,
    )
    wait_for(
        "the european gateway to serve from its own site",
        lambda: site_of(port, KEY, eu_ip) == eu,
        timeout=60,
    )
    assert {request(port, key=KEY).site for _ in range(10)} == {na}
    assert {request(port, key=KEY, ip=eu_ip).site for _ in range(10)} == {eu}
    assert request(port, ip=eu_ip).status == 401

    # Europe's site dies under load through the european gateway: it falls back to the
    # other region's site, no request lost.
    results = under_load(port, KEY, during=lambda: model_servers.kill_site(eu), ip=eu_ip)
    failed = [r for r in results if r[0] != 200]
    assert not failed, f"{len(failed)} of {len(results)} failed: {failed[:5]}"
    assert results[-1][1] == na
