"""The chart's pods and a tenant's job on a real node (kubelet, containerd, runc): the
image `make image` built runs, Pod Security `restricted` admits every pod, the probes
are really probed, the work answers through port-forward, and no pod can route out of
the machine. Each test names what kwok could not have shown."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cango_operator.builders.labels import JOB_LABEL
from cango_operator.devcluster import GpuNodeShape, LocalCluster, apply_dev_nodes, find_tool
from cango_operator.devcluster.gateway import install_gateway_crds
from cango_operator.devcluster.realnode import NODE_NAME, RealNode
from tests.chart.helm import CHART_DIR, Helm
from tests.chart.kube import restricted_namespace
from tests.e2e.harness import API, site_body, wait_for
from tests.realnode.conftest import NET
from tests.realnode.kube import (
    REGION,
    SIM_GPUS,
    SITE,
    chart_values,
    get_json,
    pod_events,
    pods,
    port_forward,
    post_json,
    ready,
    wait_ready_on_real_node,
)

pytestmark = pytest.mark.realnode

RELEASE = "cango-rn"
OPERATOR = "app.kubernetes.io/component=operator"
AGENT = "app.kubernetes.io/component=agent"
GATEWAY_POD = "app.kubernetes.io/component=gateway"
KWOK_NODE = "rn-kwok-1"
JOB = "tiny-llm"
ROLLOUT = "cango.test/rollout"


@pytest.fixture(scope="module")
def helm(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = find_tool("helm", cluster.bin_dir)
    return Helm(binary, Path(tmp_path_factory.mktemp("helm-home")), cluster.kubeconfig)


@pytest.fixture(scope="module")
def fleet(cluster: LocalCluster, real_node: RealNode, api_client: Any) -> str:
    """The CRDs, the real node's Site and its GPUs as node capacity (what a device plugin
    would report), and a kwok node of another site beside it."""
    from kubernetes import client

    crds = str(CHART_DIR / "crds")
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", crds)
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", crds)
    install_gateway_crds(cluster)
    site = site_body(SITE, REGION, latency_ms=10)
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(site))
    gpus = {"nvidia.com/gpu": str(SIM_GPUS)}
    status = {"status": {"capacity": gpus, "allocatable": gpus}}
    cluster.kubectl(
        "patch",
        "node",
        NODE_NAME,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    apply_dev_nodes(
        client.CoreV1Api(api_client), [GpuNodeShape(KWOK_NODE, "rn-kwok-site", "L4-24GB", 1)]
    )
    return SITE


@pytest.fixture(scope="module")
def release(cluster: LocalCluster, helm: Helm, fleet: str, images: dict[str, str]) -> Iterator[str]:
    """The chart installed in a `restricted` namespace; yields the namespace."""
    ns = restricted_namespace(cluster, f"cango-rn-{os.getpid()}")
    values = chart_values(cluster, NET, images["OPERATOR_IMAGE"])
    started = time.monotonic()
    helm.run("install", RELEASE, str(CHART_DIR), "-n", ns, "-f", str(helm.values_file(values)))
    wait_ready_on_real_node(cluster, ns, OPERATOR)
    wait_ready_on_real_node(cluster, ns, AGENT)
    wait_ready_on_real_node(cluster, ns, GATEWAY_POD)
    print(
        f"operator, agent and gateway Ready {time.monotonic() - started:.1f} s after helm install"
    )
    yield ns
    helm.run("uninstall", RELEASE, "-n", ns, "--wait", check=False)
    cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def tenant(cluster: LocalCluster, release: str, images: dict[str, str]) -> Iterator[str]:
    """A tenant's InferenceJob of one replica serving the model-server image; yields its
    (restricted) namespace once the replica is Ready on the real node."""
    ns = restricted_namespace(cluster, f"rn-tenant-{os.getpid()}")
    job = {
        "apiVersion": API,
        "kind": "InferenceJob",
        "metadata": {"name": JOB, "namespace": ns},
        "spec": {
            "replicas": 1,
            "container": {"image": images["MODEL_SERVER_IMAGE"], "port": 8000},
            "gpu": {"count": 1},
            "placement": {"clientRegion": REGION, "maxLatencyMs": 100},
            "preemptible": True,  # the chart's default InferenceClass asks it
            "endpoint": {"path": "/v1"},
        },
    }
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(job))
    try:
        wait_ready_on_real_node(cluster, ns, f"{JOB_LABEL}={JOB}", timeout=120)
    except AssertionError as exc:
        operator_log = cluster.kubectl("logs", "-n", release, "-l", OPERATOR, "--tail=40")
        raise AssertionError(
            f"{exc}\njob status: {job_status(cluster, ns)}\noperator log:\n{operator_log.stdout}"
        ) from None
    yield ns
    cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


#: Run in a pod: whether it has a default route, and what connecting out gives.
ROUTE_OUT_SCRIPT = """
import json, socket, sys
routes = [line.split()[1] for line in open("/proc/net/route").read().splitlines()[1:]]
out = {"default_route": "00000000" in routes}
for host in sys.argv[1:]:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, 443))
        out[host] = "connected"
    except OSError as e:
        out[host] = e.strerror or str(e)
print(json.dumps(out))
"""


def job_status(cluster: LocalCluster, ns: str) -> dict[str, Any]:
    status: dict[str, Any] = get_json(cluster, "inferencejob", JOB, "-n", ns).get("status", {})
    return status


def test_kwok_leaves_the_real_node_alone(cluster: LocalCluster, fleet: str) -> None:
    node = get_json(cluster, "node", NODE_NAME)
    info = node["status"]["nodeInfo"]
    # The kubelet's own report, not kwok's ("fake", "kwok").
    assert info["containerRuntimeVersion"].startswith("containerd://"), info
    assert info["kubeletVersion"].startswith("v1.36"), info
    kwok = get_json(cluster, "node", KWOK_NODE)
    assert kwok["status"]["nodeInfo"]["kubeletVersion"] == "fake"
    wait_for(
        "the kwok node Ready beside the real one",
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in get_json(cluster, "node", KWOK_NODE)["status"].get("conditions", [])
        ),
    )


def test_operator_and_agent_run_as_real_containers_under_restricted(
    cluster: LocalCluster, release: str, real_node: RealNode
) -> None:
    ns = release
    labels = get_json(cluster, "namespace", ns)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for selector in (OPERATOR, AGENT):
        (pod,) = [p for p in pods(cluster, ns, selector) if p["spec"]["nodeName"] == NODE_NAME]
        (status,) = pod["status"]["containerStatuses"]
        assert status["containerID"].startswith("containerd://")
        assert status["ready"] and "running" in status["state"], status
        assert status["restartCount"] == 0, pod_events(cluster, ns, pod["metadata"]["name"])
    # The process really runs as the image's non-root user with a read-only root.
    (operator,) = pods(cluster, ns, OPERATOR)
    name = operator["metadata"]["name"]
    ids = cluster.kubectl("exec", "-n", ns, name, "--", "id", "-u").stdout.strip()
    assert ids == "65532"
    touch = cluster.kubectl("exec", "-n", ns, name, "--", "touch", "/x", check=False)
    assert touch.returncode != 0 and "Read-only file system" in touch.stderr
    logs = cluster.kubectl("logs", "-n", ns, name).stdout
    assert logs.strip(), "the operator logged nothing"


def test_the_agent_registers_its_gpunode_with_simulated_gpus(
    cluster: LocalCluster, release: str
) -> None:
    def registered() -> dict[str, Any] | None:
        proc = cluster.kubectl("get", "gpunode", NODE_NAME, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    gpunode = wait_for(f"the agent's GpuNode {NODE_NAME}", registered, timeout=60)
    assert gpunode["spec"]["site"] == SITE
    assert gpunode["spec"]["nodeName"] == NODE_NAME
    assert gpunode["spec"]["gpu"]["count"] == SIM_GPUS
    assert gpunode["metadata"]["labels"]["compute.cango.io/registered-by"] == "cango-agent"


def test_a_tenant_job_is_placed_on_the_real_node_and_answers(
    cluster: LocalCluster, tenant: str
) -> None:
    ns = tenant
    status = wait_for(
        "the job Running", lambda: (s := job_status(cluster, ns)).get("phase") == "Running" and s
    )
    assert [p["node"] for p in status["placements"]] == [NODE_NAME], status
    (pod,) = pods(cluster, ns, f"{JOB_LABEL}={JOB}")
    assert ready(pod)  # the kubelet's readiness probe (TCP on the http port) passed
    name = pod["metadata"]["name"]
    with port_forward(cluster, ns, name, 8000) as url:
        answer = post_json(f"{url}/v1/completions", {"prompt": "abc"})
    assert answer["choices"][0]["text"] == "cba"
    assert answer["served_by"] == name


def test_the_charts_gateway_serves_the_job_from_a_real_container(
    cluster: LocalCluster, release: str, tenant: str
) -> None:
    """Envoy (from the image) in a `restricted` pod: the job's route reaches the model
    server's pod over the pod bridge, and only the stats leave the admin interface."""
    (gateway,) = pods(cluster, release, GATEWAY_POD)
    (status,) = gateway["status"]["containerStatuses"]
    assert status["ready"] and status["restartCount"] == 0, status
    service = f"{RELEASE}-cango-operator-gateway"
    url = wait_for(
        "the job's status.endpoint",
        lambda: job_status(cluster, tenant).get("endpoint"),
        timeout=60,
    )
    assert url == f"http://{service}.{release}.svc:8080/v1"
    (work,) = pods(cluster, tenant, f"{JOB_LABEL}={JOB}")
    name = gateway["metadata"]["name"]
    with port_forward(cluster, release, name, 8080) as base:
        errors: list[str] = []

        def answer() -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = post_json(f"{base}/v1/completions", {"prompt": "abc"})
            except urllib.error.HTTPError as exc:
                with exc:
                    errors.append(f"{exc.code}: {exc.read()[:200]!r}")
                return None
            except OSError as exc:
                errors.append(repr(exc))
                return None
            return found

        def state() -> object:
            def admin(path: str) -> str:
                got = cluster.kubectl(
                    *("exec", "-n", release, name, "--", "python3", "-c"),
                    "import urllib.request as u; print(u.urlopen('http://127.0.0.1:9901"
                    f"{path}').read().decode())",
                    check=False,
                )
                return str(got.stdout)[-3000:]

            log = cluster.kubectl("logs", "-n", release, name, "--tail=40", check=False)
            return {
                "errors": errors[-3:],
                "updates": admin("/stats?filter=(lds|cds)"),
                "clusters": admin("/clusters"),
                "log": log.stdout,
            }

        served = wait_for("an answer through the gateway", answer, 90, 0.5, state)
    assert served["choices"][0]["text"] == "cba"
    assert served["served_by"] == work["metadata"]["name"]
    with port_forward(cluster, release, name, 9902) as stats:
        with urllib.request.urlopen(f"{stats}/stats/prometheus", timeout=10) as response:
            text = response.read().decode()
        assert f'envoy_cluster_name="{tenant}/{JOB}/' in text
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{stats}/ready", timeout=10)
        with refused.value as error:
            assert error.code == 404


def test_pods_cannot_route_out_of_the_machine(cluster: LocalCluster, tenant: str) -> None:
    (pod,) = pods(cluster, tenant, f"{JOB_LABEL}={JOB}")
    service_ip = NET.probe_addresses()[2]
    proc = cluster.kubectl(
        *("exec", "-n", tenant, pod["metadata"]["name"], "--"),
        # An address off the machine (documentation range TEST-NET-2: if the guard ever
        # broke, a stray SYN would go nowhere real) and a Service IP.
        *("python3", "-c", ROUTE_OUT_SCRIPT, "198.51.100.7", service_ip),
    )
    out = json.loads(proc.stdout)
    assert out.pop("default_route") is False
    # No route at all: the kernel refuses at once, nothing leaves the pod.
    assert set(out.values()) == {"Network is unreachable"}, out


def test_helm_upgrade_rolls_the_operator_and_the_work_stays_placed(
    cluster: LocalCluster, helm: Helm, release: str, tenant: str, images: dict[str, str]
) -> None:
    (before,) = pods(cluster, release, OPERATOR)
    (work,) = pods(cluster, tenant, f"{JOB_LABEL}={JOB}")
    values = chart_values(cluster, NET, images["OPERATOR_IMAGE"])
    values["operator"]["podAnnotations"] = {ROLLOUT: "2"}
    helm.run("upgrade", RELEASE, str(CHART_DIR), "-n", release, "-f", str(helm.values_file(values)))

    def rolled() -> dict[str, Any] | None:
        current = pods(cluster, release, OPERATOR)
        new = [p for p in current if p["metadata"].get("annotations", {}).get(ROLLOUT) == "2"]
        return new[0] if len(current) == 1 and len(new) == 1 and ready(new[0]) else None

    def state() -> object:
        return {
            p["metadata"]["name"]: (
                p["metadata"].get("annotations"),
                ready(p),
                pod_events(cluster, release, p["metadata"]["name"])[-4:],
            )
            for p in pods(cluster, release, OPERATOR)
        }

    after = wait_for("the operator rolled to a new Ready pod", rolled, 120, 1.0, state)
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    # The new operator takes over the job without touching its running replica.
    time.sleep(15)
    (still,) = pods(cluster, tenant, f"{JOB_LABEL}={JOB}")
    assert still["metadata"]["uid"] == work["metadata"]["uid"] and ready(still)
    status = job_status(cluster, tenant)
    assert status["phase"] == "Running"
    assert [p["node"] for p in status["placements"]] == [NODE_NAME]


def test_a_wrong_probe_port_passes_on_kwok_and_fails_on_the_real_node(
    cluster: LocalCluster, helm: Helm, release: str, images: dict[str, str]
) -> None:
    """The agent's readiness probe aimed at a port nothing listens on: kwok marks its pod
    Ready regardless; the real kubelet probes it, and the check the install passed
    (``wait_ready_on_real_node``) fails naming the probe."""
    values = chart_values(cluster, NET, images["OPERATOR_IMAGE"])
    broken = {"httpGet": {"path": "/healthz", "port": 9999}, "periodSeconds": 2}
    values["agent"]["readinessProbe"] = broken
    values["agent"]["maxUnavailable"] = "100%"  # both agents roll at once
    helm.run("upgrade", RELEASE, str(CHART_DIR), "-n", release, "-f", str(helm.values_file(values)))

    def broken_agents() -> list[dict[str, Any]] | None:
        rolled = [
            p
            for p in pods(cluster, release, AGENT)
            if p["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] == 9999
        ]
        return rolled if len(rolled) == 2 else None

    wait_for("the broken agents on both nodes", broken_agents, timeout=60)
    on_kwok = wait_for(
        "the kwok agent Ready",
        lambda: [
            p for p in broken_agents() or [] if p["spec"].get("nodeName") == KWOK_NODE and ready(p)
        ],
    )
    assert on_kwok, "kwok marks the pod Ready without probing it"
    with pytest.raises(AssertionError) as failed:
        wait_ready_on_real_node(cluster, release, AGENT, timeout=20)
    assert "Readiness probe failed" in str(failed.value) and "9999" in str(failed.value)
