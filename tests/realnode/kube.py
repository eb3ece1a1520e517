"""Helpers of the real-node tests: the chart's values for a cluster without kube-proxy,
pods and their readiness as the API server reports them, and port-forward."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from cango_operator.devcluster import LocalCluster, find_tool
from cango_operator.devcluster.realnode import NODE_NAME, PodNetwork
from cango_operator.devcluster.tools import free_port
from tests.e2e.harness import wait_for

SITE = "rn-site"
REGION = "rn-users"
SIM_GPUS = 2
#: The Gateway the chart installs and its gateway serves.
GATEWAY = "inference"


def api_port(cluster: LocalCluster) -> int:
    """The API server's port (it listens on every address, the pod bridge's included)."""
    server = json.loads(cluster.kubectl("config", "view", "--minify", "-o", "json").stdout)
    port: int | None = urlparse(server["clusters"][0]["cluster"]["server"]).port
    assert port is not None
    return port


def no_kube_proxy_env(cluster: LocalCluster, net: PodNetwork) -> list[dict[str, str]]:
    """What a pod needs to reach the API server with no kube-proxy: its address on the
    pod bridge (the host's side) instead of the `kubernetes` Service's IP."""
    return [
        {"name": "KUBERNETES_SERVICE_HOST", "value": net.gateway},
        {"name": "KUBERNETES_SERVICE_PORT", "value": str(api_port(cluster))},
    ]


def chart_values(cluster: LocalCluster, net: PodNetwork, operator_image: str) -> dict[str, Any]:
    """The chart on the real node: the locally built image (never pulled), one operator
    replica, simulated GPUs, the gateway, and the API server reached without kube-proxy."""
    repository, tag = operator_image.rsplit(":", 1)
    env = no_kube_proxy_env(cluster, net)
    return {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        # Not onto a kwok node, where nothing would run.
        "operator": {
            "replicas": 1,
            "extraEnv": env,
            "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
        },
        "agent": {"simulate": True, "extraArgs": [f"--sim-gpus={SIM_GPUS}"], "extraEnv": env},
        # The tenants' gateway (Envoy in the same image), serving the Gateway it installs.
        "gateway": {
            "name": GATEWAY,
            "install": True,
            "extraEnv": env,
            "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
        },
    }


def get_json(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def pods(cluster: LocalCluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    """Pods matching ``selector`` that are not being deleted."""
    items = get_json(cluster, "pods", "-n", namespace, "-l", selector)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def pod_events(cluster: LocalCluster, namespace: str, pod: str) -> list[str]:
    events = get_json(
        cluster, "events", "-n", namespace, "--field-selector", f"involvedObject.name={pod}"
    )["items"]
    return [f"{e['reason']}: {e.get('message', '')}" for e in events]


def wait_ready_on_real_node(
    cluster: LocalCluster, namespace: str, selector: str, timeout: float = 120
) -> dict[str, Any]:
    """The one pod of ``selector`` on the real node, once its containers run and its
    readiness probe passes; on timeout the failure shows the pod's events (a probe
    failing, an image missing, a Pod Security refusal)."""

    def found() -> dict[str, Any] | None:
        on_node = [
            p for p in pods(cluster, namespace, selector) if p["spec"].get("nodeName") == NODE_NAME
        ]
        return on_node[0] if len(on_node) == 1 and ready(on_node[0]) else None

    def state() -> object:
        return {
            p["metadata"]["name"]: {
                "node": p["spec"].get("nodeName"),
                "phase": p.get("status", {}).get("phase"),
                "events": pod_events(cluster, namespace, p["metadata"]["name"])[-6:],
            }
            for p in pods(cluster, namespace, selector)
        }

    return wait_for(f"a Ready pod of {selector} on {NODE_NAME}", found, timeout, 1.0, state)


@contextmanager
def port_forward(
    cluster: LocalCluster, namespace: str, pod: str, port: int, timeout: float = 30
) -> Iterator[str]:
    """``kubectl port-forward --address 127.0.0.1`` to a pod; yields the local base URL
    once it accepts connections (bounded by ``timeout``)."""
    local = free_port()
    cmd = [
        find_tool("kubectl", cluster.bin_dir),
        "port-forward",
        "--address",
        "127.0.0.1",
        "-n",
        namespace,
        f"pod/{pod}",
        f"{local}:{port}",
    ]
    proc = subprocess.Popen(
        cmd, env=cluster.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(("127.0.0.1", local)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"port-forward to {pod}:{port} failed: {proc.stdout}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{local}"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def post_json(url: str, body: dict[str, Any], timeout: float = 10) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())
