"""The node agent against the real API server, with simulated GPUs on kwok nodes.

Each test has its own kwok Node (labelled with a site) and drives the agent one interval
at a time with ``tick()``, except the loop test, which lets it run on its own clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.agent import (
    FAULT_ANNOTATION,
    POWER_LIMIT_ANNOTATION,
    Agent,
    AgentConfig,
    KubeClient,
    PodGpuCounter,
    SimulatedSource,
    TickResult,
)
from cango_operator.agent.latency import ProbeTarget
from cango_operator.devcluster import GpuNodeShape, LocalCluster, apply_dev_nodes
from tests.loopback import accepting_endpoint, free_port

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
GPUNODE_CRD = REPO / "crds" / "compute.cango.io_gpunodes.yaml"


#: On every object these tests create, so they leave the session's cluster as they found it.
OWNER_LABEL = "test.cango.io/owner"
OWNER = f"{OWNER_LABEL}=agent-tests"


@pytest.fixture(scope="module")
def gpunode_crd(cluster: LocalCluster) -> Iterator[None]:
    cluster.kubectl("apply", "-f", str(GPUNODE_CRD))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/gpunodes.compute.cango.io"
    )
    yield
    for kind in ("pods", "gpunodes", "nodes"):
        cluster.kubectl("delete", kind, "-A", "-l", OWNER, "--wait=false")


@pytest.fixture
def kube(api_client: Any, gpunode_crd: None) -> KubeClient:
    return KubeClient(api_client)


def make_node(api_client: Any, name: str, site: str = "tx-test-1", count: int = 8) -> None:
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    apply_dev_nodes(core, [GpuNodeShape(name, site, "H100-80GB", count)])
    # Cordoned: pods of other test modules must not land here (these tests bind theirs).
    core.patch_node(
        name,
        {"metadata": {"labels": {OWNER_LABEL: "agent-tests"}}, "spec": {"unschedulable": True}},
    )


def gpunode_manifest(name: str, count: int = 8, overhead_w: int = 1000) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "compute.cango.io/v1alpha1",
            "kind": "GpuNode",
            "metadata": {"name": name, "labels": {OWNER_LABEL: "agent-tests"}},
            "spec": {
                "site": "tx-test-1",
                "nodeName": name,
                "gpu": {"model": "H100-80GB", "count": count, "memoryMiB": 81559, "maxPowerW": 700},
                "overheadW": overhead_w,
            },
        }
    )


class Harness:
    """An agent for one kwok node with a simulated source whose load follows its pods."""

    def __init__(self, kube: KubeClient, cluster: LocalCluster, node: str, **config: Any) -> None:
        self.cluster = cluster
        self.node = node
        self.source = SimulatedSource(
            "H100-80GB", 8, gpus_in_use=PodGpuCounter(kube, node), seed=node
        )
        self.agent = Agent(AgentConfig(node_name=node, **config), self.source, kube)

    async def tick(self) -> TickResult:
        return await self.agent.tick()

    def gpunode(self) -> dict[str, Any]:
        out = self.cluster.kubectl(
            "get", "gpunode", self.node, "-o", "json", "--show-managed-fields"
        ).stdout
        got: dict[str, Any] = json.loads(out)
        return got

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.gpunode().get("status") or {}
        return status

    def run_pod(self, name: str, gpus: int) -> None:
        """A pod bound to the node asking for ``gpus``; returns once kwok runs it."""
        pod_name = f"{self.node}-{name}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": "default",
                "labels": {OWNER_LABEL: "agent-tests"},
            },
            "spec": {
                "nodeName": self.node,
                "containers": [
                    {
                        "name": "main",
                        "image": "registry.invalid/inference:1",
                        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                    }
                ],
            },
        }
        self.cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(pod))
        wait_for(
            "kwok to run the pod",
            lambda: (
                self.cluster.kubectl(
                    "get", "pod", pod_name, "-o", "jsonpath={.status.phase}"
                ).stdout
                == "Running"
            ),
        )

    def annotate(self, key: str, value: str | None) -> None:
        arg = f"{key}-" if value is None else f"{key}={value}"
        self.cluster.kubectl("annotate", "--overwrite", "gpunode", self.node, arg)


@pytest.fixture
def harness(
    kube: KubeClient, cluster: LocalCluster, api_client: Any, request: pytest.FixtureRequest
) -> Harness:
    """A kwok node with a GpuNode a site operator wrote, named after the test."""
    name = "agent-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    make_node(api_client, name)
    cluster.kubectl("apply", "-f", "-", input_text=gpunode_manifest(name))
    return Harness(kube, cluster, name)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class TestStatusOnTheApiServer:
    async def test_status_appears_with_every_gpu(self, harness: Harness) -> None:
        result = await harness.tick()
        assert result.skipped == ""
        status = harness.status()
        assert status["phase"] == "Ready"
        assert [g["index"] for g in status["gpus"]] == list(range(8))
        assert [g["uuid"] for g in status["gpus"]] == list(harness.source.uuids)
        assert all(g["healthy"] for g in status["gpus"])
        assert status["powerW"] == 8 * 70 + 1000  # idle GPUs plus the spec's overhead
        (cond,) = status["conditions"]
        assert (cond["type"], cond["status"]) == ("GpusHealthy", "True")
        assert status["observedGeneration"] == harness.gpunode()["metadata"]["generation"]

    async def test_an_unchanged_node_sends_only_the_heartbeat(self, harness: Harness) -> None:
        await harness.tick()
        again = await harness.tick()
        assert again.sent == ("lastHeartbeatTime",)

    async def test_load_follows_the_gpus_of_running_pods_on_the_node(
        self, harness: Harness
    ) -> None:
        await harness.tick()
        idle_power = harness.status()["powerW"]
        harness.run_pod("work", gpus=2)
        result = await harness.tick()
        assert "gpus" in result.sent
        status = harness.status()
        assert [g["utilizationPct"] for g in status["gpus"]] == [87, 87] + [0] * 6
        assert status["powerW"] > idle_power + 2 * 500

    async def test_the_loop_keeps_the_heartbeat_fresh_at_its_interval(
        self, harness: Harness
    ) -> None:
        harness.agent.config = AgentConfig(node_name=harness.node, interval_s=1.0, jitter=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(harness.agent.run(stop))
        try:
            first = await asyncio.to_thread(
                wait_for, "a first heartbeat", lambda: harness.status().get("lastHeartbeatTime")
            )
            later = await asyncio.to_thread(
                wait_for,
                "the heartbeat to move on",
                lambda: (t := harness.status().get("lastHeartbeatTime")) != first and t,
                10,
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert later > first
        assert harness.agent.healthy()


class TestGpuHealthOnTheApiServer:
    async def test_xid_79_makes_the_gpu_unhealthy_the_node_degraded_and_clearing_recovers(
        self, harness: Harness
    ) -> None:
        await harness.tick()
        harness.annotate(FAULT_ANNOTATION, "xid=79,gpu=2")
        await harness.tick()
        status = harness.status()
        gpu2 = status["gpus"][2]
        assert (gpu2["healthy"], gpu2["lastXid"]) == (False, 79)
        assert all(g["healthy"] for g in status["gpus"] if g["index"] != 2)
        assert status["phase"] == "Degraded"
        (cond,) = status["conditions"]
        assert (cond["status"], cond["reason"]) == ("False", "SomeGpusUnhealthy")
        assert "gpu 2: XID 79 (fallen off the bus)" in cond["message"]
        assert (
            harness.cluster.kubectl(
                "get", "gpunode", harness.node, "-o", "jsonpath={.status.phase}"
            ).stdout
            == "Degraded"
        )

        harness.annotate(FAULT_ANNOTATION, None)
        await harness.tick()
        status = harness.status()
        assert status["phase"] == "Ready"
        assert status["gpus"][2]["healthy"] is True
        assert status["gpus"][2].get("lastXid") is None
        assert status["conditions"][0]["status"] == "True"

    async def test_every_gpu_lost_makes_the_node_unhealthy(self, harness: Harness) -> None:
        harness.annotate(FAULT_ANNOTATION, "; ".join(f"lost,gpu={i}" for i in range(8)))
        await harness.tick()
        assert harness.status()["phase"] == "Unhealthy"


class TestSharingTheStatusWithTheOperator:
    async def test_an_agent_reporting_to_a_hub_reports_the_gpus_its_pods_hold(
        self, harness: Harness, kube: KubeClient
    ) -> None:
        counter = PodGpuCounter(kube, harness.node, bound=True)
        harness.agent = Agent(
            AgentConfig(node_name=harness.node), harness.source, kube, allocation=counter
        )
        await harness.tick()
        assert harness.status()["allocatedGpus"] == 0
        harness.run_pod("a", gpus=2)
        harness.run_pod("b", gpus=3)
        result = await harness.tick()
        assert "allocatedGpus" in result.sent
        assert harness.status()["allocatedGpus"] == 5
        assert (await harness.tick()).sent == ("lastHeartbeatTime",)

    async def test_allocated_gpus_and_the_operators_conditions_are_left_alone(
        self, harness: Harness, kube: KubeClient
    ) -> None:
        await harness.tick()
        operator_condition = {
            "type": "Allocated",
            "status": "True",
            "reason": "Placed",
            "message": "3 GPUs given to replicas",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }
        conditions = [*harness.status()["conditions"], operator_condition]
        kube.custom.patch_cluster_custom_object_status(
            "compute.cango.io",
            "v1alpha1",
            "gpunodes",
            harness.node,
            {"status": {"allocatedGpus": 3, "conditions": conditions}},
            field_manager="cango-operator",
        )
        harness.annotate(FAULT_ANNOTATION, "ecc=1,gpu=0")  # the agent must rewrite conditions
        await harness.tick()
        status = harness.status()
        assert status["allocatedGpus"] == 3
        assert status["phase"] == "Degraded"
        by_type = {c["type"]: c for c in status["conditions"]}
        assert by_type["Allocated"] == operator_condition
        assert by_type["GpusHealthy"]["status"] == "False"
        managers = {m["manager"] for m in harness.gpunode()["metadata"]["managedFields"]}
        assert {"cango-agent", "cango-operator"} <= managers

    async def test_a_write_between_reading_and_patching_is_retried_and_kept(
        self, harness: Harness, kube: KubeClient
    ) -> None:
        await harness.tick()
        operator_condition = {
            "type": "Tainted",
            "status": "True",
            "reason": "GpuUnhealthy",
            "message": "node tainted",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }

        class OperatorWritesFirst(KubeClient):
            """The operator's write lands after the agent read the GpuNode, once."""

            raced = False

            def patch_gpunode_status(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
                if not self.raced:
                    self.raced = True
                    current = self.get_gpunode(harness.node) or {}
                    conditions = [*current["status"]["conditions"], operator_condition]
                    self.custom.patch_cluster_custom_object_status(
                        "compute.cango.io",
                        "v1alpha1",
                        "gpunodes",
                        harness.node,
                        {"status": {"conditions": conditions}},
                        field_manager="cango-operator",
                    )
                return super().patch_gpunode_status(*args, **kwargs)

        racing = OperatorWritesFirst(kube.api_client)
        harness.agent.kube = racing
        harness.annotate(FAULT_ANNOTATION, "xid=48,gpu=1")  # the agent rewrites conditions
        result = await harness.tick()
        assert racing.raced
        assert "conditions" in result.sent
        by_type = {c["type"]: c for c in harness.status()["conditions"]}
        assert by_type["Tainted"] == operator_condition
        assert by_type["GpusHealthy"]["status"] == "False"

    async def test_a_phase_the_operator_marked_unknown_is_put_right(
        self, harness: Harness, kube: KubeClient
    ) -> None:
        await harness.tick()
        kube.custom.patch_cluster_custom_object_status(
            "compute.cango.io",
            "v1alpha1",
            "gpunodes",
            harness.node,
            {"status": {"phase": "Unknown"}},
            field_manager="cango-operator",
        )
        result = await harness.tick()
        assert "phase" in result.sent
        assert harness.status()["phase"] == "Ready"


class TestSelfRegistration:
    async def test_a_site_labelled_node_without_a_gpunode_registers_itself(
        self, kube: KubeClient, cluster: LocalCluster, api_client: Any
    ) -> None:
        name = "agent-self-registered"
        make_node(api_client, name, site="ke-nairobi-2")
        harness = Harness(kube, cluster, name, overhead_w=800)
        result = await harness.tick()
        assert result.registered
        gpunode = harness.gpunode()
        assert gpunode["spec"] == {
            "site": "ke-nairobi-2",
            "nodeName": name,
            "gpu": {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700},
            "overheadW": 800,
            "unschedulable": False,
        }
        (owner,) = gpunode["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"]) == ("Node", name)
        assert gpunode["status"]["phase"] == "Ready"
        again = await harness.tick()
        assert not again.registered

    async def test_a_node_without_a_site_label_waits_and_creates_nothing(
        self, kube: KubeClient, cluster: LocalCluster, api_client: Any
    ) -> None:
        from kubernetes import client

        name = "agent-no-site"
        make_node(api_client, name)
        client.CoreV1Api(api_client).patch_node(
            name, {"metadata": {"labels": {"compute.cango.io/site": None}}}
        )
        harness = Harness(kube, cluster, name)
        result = await harness.tick()
        assert not result.registered
        assert "no compute.cango.io/site label" in result.skipped
        assert kube.get_gpunode(name) is None


class TestCurtailmentAndProbes:
    async def test_a_power_limit_the_operator_asks_for_is_applied_with_power_cap(
        self, kube: KubeClient, cluster: LocalCluster, api_client: Any
    ) -> None:
        name = "agent-power-cap"
        make_node(api_client, name)
        cluster.kubectl("apply", "-f", "-", input_text=gpunode_manifest(name))
        harness = Harness(kube, cluster, name, power_cap=True)
        harness.annotate(POWER_LIMIT_ANNOTATION, "300")
        await harness.tick()
        assert {g["powerLimitW"] for g in harness.status()["gpus"]} == {300}
        harness.annotate(POWER_LIMIT_ANNOTATION, None)
        await harness.tick()
        assert {g["powerLimitW"] for g in harness.status()["gpus"]} == {700}

    async def test_probe_medians_are_reported_per_region(
        self, kube: KubeClient, cluster: LocalCluster, api_client: Any, endpoint: int
    ) -> None:
        name = "agent-probes"
        make_node(api_client, name)
        cluster.kubectl("apply", "-f", "-", input_text=gpunode_manifest(name))
        harness = Harness(
            kube,
            cluster,
            name,
            probes=(ProbeTarget("north-america", "127.0.0.1", endpoint),),
            probe_count=3,
        )
        await harness.agent.probe_once()
        await harness.tick()
        latency = harness.status()["latencyMs"]
        assert set(latency) == {"north-america"}
        assert 0 <= latency["north-america"] < 1000


@pytest.fixture
async def endpoint() -> AsyncIterator[int]:
    """A TCP endpoint on 127.0.0.1 standing in for a client region's load balancer."""
    async with accepting_endpoint() as port:
        yield port


class TestTheCommand:
    def test_the_agent_process_registers_reports_serves_metrics_and_stops_on_sigterm(
        self, cluster: LocalCluster, api_client: Any, gpunode_crd: None
    ) -> None:
        import signal
        import subprocess
        import sys
        import urllib.request

        name = "agent-process"
        make_node(api_client, name, site="br-sp-1")
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cango_operator",
                "agent",
                "--simulate",
                "--sim-model",
                "L40S-48GB",
                "--sim-gpus",
                "4",
                "--node-name",
                name,
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--interval",
                "1",
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            phase = wait_for(
                "the agent to register and report",
                lambda: (
                    cluster.kubectl(
                        "get", "gpunode", name, "-o", "jsonpath={.status.phase}", check=False
                    ).stdout
                ),
            )
            assert phase == "Ready"
            spec = json.loads(
                cluster.kubectl("get", "gpunode", name, "-o", "jsonpath={.spec.gpu}").stdout
            )
            assert (spec["model"], spec["count"]) == ("L40S-48GB", 4)
            local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
            with local.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                metrics = resp.read().decode()
            assert f'cango_gpu_power_watts{{gpu="3",node="{name}"' in metrics
            with local.open(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                assert resp.status == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
        assert proc.returncode == 0, out
        assert "registered GpuNode agent-process: site br-sp-1, 4 x L40S-48GB" in out
