"""Teardown leaves nothing: with a pod running, the residue check sees the node's
processes, cgroups, mounts and network; after ``stop_real_node`` all of it is gone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.realnode import NODE_NAME, residue, start_real_node, stop_real_node
from cango_operator.devcluster.realnode.host import processes_mentioning
from cango_operator.devcluster.tools import ensure_kubelet_dir
from tests.chart.kube import restricted_namespace
from tests.realnode.conftest import NET
from tests.realnode.kube import wait_ready_on_real_node

pytestmark = pytest.mark.realnode


def pod(name: str, image: str) -> dict[str, object]:
    """The model server as a bare pod meeting `restricted`, pinned to the real node."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "nodeName": NODE_NAME,
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "server",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8000}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                    },
                }
            ],
        },
    }


def test_stopping_the_node_with_a_pod_running_leaves_nothing(
    cluster: LocalCluster, image_dir: Path, images: dict[str, str]
) -> None:
    node = start_real_node(
        cluster, ensure_kubelet_dir(), [image_dir / "model-server.tar"], {}, net=NET
    )
    try:
        ns = restricted_namespace(cluster, f"rn-teardown-{os.getpid()}")
        body = pod("teardown", images["MODEL_SERVER_IMAGE"])
        cluster.kubectl("apply", "-n", ns, "-f", "-", input_text=json.dumps(body))
        wait_ready_on_real_node(cluster, ns, "app=teardown", timeout=60)
        running = residue(node)
        # What teardown must remove is there to see while the pod runs.
        for kind in ("processes", "cgroup_processes", "cgroups", "mounts", "network"):
            assert running[kind], (kind, running)
        shim = str(node.containerd.socket)
        assert processes_mentioning(shim), "no containerd shim seen for the running pod"
    finally:
        stop_real_node(cluster, node)
    left = residue(node)
    assert not any(left.values()), left
    assert processes_mentioning(str(node.containerd.socket)) == []
    assert cluster.kubectl("get", "node", NODE_NAME, check=False).returncode != 0
