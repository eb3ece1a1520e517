"""A tenant's endpoint end to end on the real control plane: the operator (with
``--gateway``) places a job at a north-american and a european site and writes its
InferencePool and HTTPRoute; ``cango-operator gateway`` serves them through a real Envoy
to real fake-model-server processes at the pods' IPs (the kwok nodes' pod ranges are in
127.0.0.0/8); the tenant calls the URL in ``status.endpoint`` with its key.

Killing the north-american site under load loses no request; scaling the job through
its ``/scale`` subresource gives replicas the engine places and the gateway routes to.
"""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.gateway import install_gateway_crds
from cango_operator.devcluster.modelservers import ModelServers, PodAddress
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, terminate, wait_for
from tests.gateway.harness import request
from tests.loopback import free_port

pytestmark = pytest.mark.cluster

GATEWAYS = ("gateway.networking.k8s.io", "v1", "gateways")
ROUTES = ("gateway.networking.k8s.io", "v1", "httproutes")
KEY = "sk-acme-alice-1"


@pytest.fixture(scope="module")
def gateway_cluster(e2e_cluster: LocalCluster) -> LocalCluster:
    install_gateway_crds(e2e_cluster)
    return e2e_cluster


@pytest.fixture
def servers() -> Iterator[ModelServers]:
    running = ModelServers()
    yield running
    running.stop()


StartGateway = Callable[[str], int]


@pytest.fixture
def start_gateway(
    gateway_cluster: LocalCluster,
    fleet: Fleet,
    tmp_path: Path,
) -> Iterator[StartGateway]:
    """``cango-operator gateway`` for the Gateway ``name`` in the fleet's namespace;
    returns its admin port. Stopped at the end; its log printed on failure."""
    procs: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "gateway.log"

    def start(name: str) -> int:
        admin = free_port()
        with log_path.open("ab") as log:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "cango_operator",
                        "gateway",
                        "--gateway",
                        f"{fleet.namespace}/{name}",
                        "--kubeconfig",
                        str(gateway_cluster.kubeconfig),
                        "--admin",
                        f"127.0.0.1:{admin}",
                        "--config-dir",
                        str(tmp_path / "envoy"),
                        "--interval",
                        "0.5",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=gateway_cluster.env(),
                )
            )
        return admin

    yield start
    for proc in procs:
        terminate(proc)
    if log_path.exists():
        print("--- gateway log ---\n" + "\n".join(log_path.read_text().splitlines()[-40:]))


def create(fleet: Fleet, resource: tuple[str, str, str], body: dict[str, Any]) -> Any:
    group, version, plural = resource
    return fleet.custom.create_namespaced_custom_object(
        group, version, fleet.namespace, plural, body
    )


def get(fleet: Fleet, resource: tuple[str, str, str], name: str) -> dict[str, Any]:
    group, version, plural = resource
    found: dict[str, Any] = fleet.custom.get_namespaced_custom_object(
        group, version, fleet.namespace, plural, name
    )
    return found


def pod_addresses(fleet: Fleet, job: str) -> list[PodAddress]:
    return [
        PodAddress(p.status.pod_ip, 8000, p.metadata.labels["compute.cango.io/site"])
        for p in fleet.running_pods(job)
        if p.status.pod_ip
    ]


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
        servers: ModelServers,
    ) -> None:
        europe = fleet.name("europe")
        octet = random.randint(100, 250)
        na = fleet.site("na", latency_ms=10, latency_to={europe: 90})
        eu = fleet.site("eu", latency_ms=60, latency_to={europe: 10}, region=europe)
        fleet.nodes(na, 1, gpus=2, pod_cidrs=[f"127.{octet}.1.0/24"])
        fleet.nodes(eu, 1, gpus=8, pod_cidrs=[f"127.{octet}.2.0/24"])
        port = free_port()
        create(
            fleet,
            GATEWAYS,
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "inference"},
                "spec": {
                    "gatewayClassName": "cango",
                    "listeners": [{"name": "http", "protocol": "HTTP", "port": port}],
                },
            },
        )
        fleet.core.create_namespaced_secret(
            fleet.namespace,
            {
                "metadata": {"name": "chat-keys"},
                "data": {"alice": base64.b64encode(KEY.encode()).decode()},
            },
        )
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
        start_gateway("inference")
        fleet.wait_running()
        served = servers.serve(pod_addresses(fleet, "chat"))
        assert len(served) == 3
        assert Counter(servers.served.values()) == {na: 2, eu: 1}

        url = wait_for(
            "chat's status.endpoint from the gateway's address",
            lambda: fleet.get_job("chat")["status"].get("endpoint"),
            timeout=60,
        )
        assert url == f"http://127.0.0.1:{port}/v1"
        # Replicas whose server came up after their pod was Ready pass Envoy's health
        # check within seconds; until then the requests go to the others.
        wait_for(
            "the gateway to serve chat from north-america",
            lambda: request(port, key=KEY).site == na,
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
        results = under_load(port, during=lambda: servers.kill_site(na))
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
        servers.serve(pod_addresses(fleet, "chat"))
        eu_addresses = {a for a, s in servers.served.items() if s == eu}
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


def under_load(
    port: int, during: Callable[[], object], clients: int = 4, seconds: float = 3.0
) -> list[tuple[int, str]]:
    """Requests from ``clients`` threads for ``seconds``, ``during`` run after the first
    second; every (status, site), in order of completion."""
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        for _ in range(20_000):
            if stop.is_set():
                return
            try:
                answer = request(port, key=KEY, timeout=5)
                outcome = (answer.status, answer.site or answer.body.decode(errors="replace"))
            except OSError as exc:
                outcome = (0, type(exc).__name__)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    during()
    time.sleep(seconds - 1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    return results
