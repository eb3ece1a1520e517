"""The local control plane is real: kwok GPU nodes, the real kube-scheduler binds pods to
them, kwok runs them, and stopping a cluster leaves no process or port behind."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from cango_operator.devcluster import (
    GpuNodeShape,
    LocalCluster,
    apply_dev_nodes,
    cluster_down,
    cluster_up,
    ensure_bin_dir,
)

pytestmark = pytest.mark.cluster


def _wait(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def gpu_nodes(cluster: LocalCluster, api_client: Any) -> list[str]:
    from kubernetes import client

    shapes = [
        GpuNodeShape("cp-test-gpu-a", "site-a", "H100-80GB", 8),
        GpuNodeShape("cp-test-gpu-b", "site-b", "L40S-48GB", 4),
    ]
    return apply_dev_nodes(client.CoreV1Api(api_client), shapes)


def test_kubectl_lists_kwok_gpu_nodes_with_allocatable_gpus(
    cluster: LocalCluster, gpu_nodes: list[str]
) -> None:
    def ready_nodes() -> dict[str, Any] | None:
        out = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)
        nodes = {
            n["metadata"]["name"]: n for n in out["items"] if n["metadata"]["name"] in gpu_nodes
        }
        ready = {
            name: n
            for name, n in nodes.items()
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n["status"].get("conditions", [])
            )
        }
        return ready if len(ready) == len(gpu_nodes) else None

    nodes = _wait("kwok to mark the GPU nodes Ready", ready_nodes)
    assert nodes["cp-test-gpu-a"]["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert nodes["cp-test-gpu-b"]["status"]["allocatable"]["nvidia.com/gpu"] == "4"
    assert nodes["cp-test-gpu-a"]["metadata"]["labels"]["compute.cango.io/site"] == "site-a"


def test_a_gpu_pod_is_bound_by_kube_scheduler_and_run_by_kwok(
    cluster: LocalCluster, gpu_nodes: list[str]
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "gpu-pod", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "registry.invalid/inference:1",
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                }
            ]
        },
    }
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(pod))

    def running() -> dict[str, Any] | None:
        got = json.loads(cluster.kubectl("get", "pod", "gpu-pod", "-o", "json").stdout)
        return got if got["status"].get("phase") == "Running" else None

    got = _wait("the GPU pod to be Running", running)
    assert got["spec"]["nodeName"] in gpu_nodes
    events = json.loads(
        cluster.kubectl(
            "get", "events", "--field-selector", "involvedObject.name=gpu-pod", "-o", "json"
        ).stdout
    )["items"]
    scheduled = [e for e in events if e["reason"] == "Scheduled"]
    assert scheduled, "no Scheduled event: the pod was not bound by kube-scheduler"
    assert (scheduled[0].get("reportingComponent") or scheduled[0]["source"].get("component")) == (
        "default-scheduler"
    )


def test_a_pod_asking_for_more_gpus_than_any_node_has_stays_pending(
    cluster: LocalCluster, gpu_nodes: list[str]
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "too-big", "namespace": "default"},
        "spec": {
            "containers": [
                {"name": "m", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "9"}}}
            ]
        },
    }
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(pod))

    def unschedulable() -> bool:
        got = json.loads(cluster.kubectl("get", "pod", "too-big", "-o", "json").stdout)
        conds = got["status"].get("conditions", [])
        return any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conds
        )

    _wait("the scheduler to report the pod Unschedulable", unschedulable)
    got = json.loads(cluster.kubectl("get", "pod", "too-big", "-o", "json").stdout)
    assert got["status"]["phase"] == "Pending"
    assert "nodeName" not in got["spec"]


def _pids_mentioning(text: str) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True)
    return [int(line.split(None, 1)[0]) for line in out.stdout.splitlines() if text in line]


def test_cluster_down_leaves_no_process_or_port_behind(tmp_path: Path) -> None:
    bin_dir = ensure_bin_dir()
    name = "cango-down-check"
    up = cluster_up(name, tmp_path, bin_dir)
    server = yaml.safe_load(up.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    port = urlparse(server).port
    assert port is not None
    assert _pids_mentioning(str(tmp_path)), "the cluster's processes should be running"

    cluster_down(name, tmp_path, bin_dir)

    _wait("the cluster's processes to exit", lambda: not _pids_mentioning(str(tmp_path)), 30)
    owner = _listener_of(port)
    # Another developer's cluster may take the freed port at once; it must not be ours.
    assert owner is None or str(tmp_path) not in owner, f"port {port} still held by: {owner}"


def _listener_of(port: int) -> str | None:
    """Command line of the process listening on the port, or None when nobody listens."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) != 0:
            return None
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    pids = re.findall(r"pid=(\d+)", out)
    if not pids:
        # A kwokctl of another session probes ports by listening for an instant.
        return None
    try:
        return Path(f"/proc/{pids[0]}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return None
