"""The real node's kubelet: the one built from the control plane's k8s.io/kubernetes
module, talking to our containerd, registered as node ``127.0.0.1`` (its name and
InternalIP), so the API server reaches it on loopback for logs, exec and port-forward.

Its pods' cgroups live under a cgroup root of its own (``/cango-realnode-<id>``, made
here and removed at teardown); cgroup v1 is accepted (``failCgroupV1: false``: this kind
of machine mounts the v1 hierarchies) and swap is not refused.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NODE_NAME = "127.0.0.1"


@dataclass(frozen=True)
class KubeletPaths:
    """Everything the kubelet keeps, under one directory (``KubeletPaths.under``)."""

    base: Path
    root: Path
    config: Path
    certs: Path
    log: Path

    @classmethod
    def under(cls, base: Path) -> KubeletPaths:
        return cls(base, *(base / n for n in ("root", "config.yaml", "pki", "kubelet.log")))


def kubelet_config(
    *, port: int, socket: Path, cgroup_root: str, client_ca: Path, max_pods: int = 30
) -> dict[str, Any]:
    """The KubeletConfiguration. Clients authenticate by certificate (the API server's
    kubelet client certificate, signed by the cluster's CA) and are authorised by the API
    server (webhook); nothing anonymous, no read-only port, loopback only."""
    endpoint = f"unix://{socket}"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": port,
        "readOnlyPort": 0,
        "healthzPort": 0,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(client_ca)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": endpoint,
        "imageServiceEndpoint": endpoint,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "failCgroupV1": False,
        "failSwapOn": False,
        "resolvConf": "",
        "maxPods": max_pods,
        # Images come from archives, never a registry: never collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # A shared development machine: evict only when it is really short.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
        },
        "serializeImagePulls": False,
        "registerNode": True,
        "enableServer": True,
        "enableDebuggingHandlers": True,
        "shutdownGracePeriod": "0s",
    }


def write_config(paths: KubeletPaths, config: dict[str, Any]) -> None:
    paths.base.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(json.dumps(config, indent=2))  # YAML reads JSON


def start(
    kubelet: Path, paths: KubeletPaths, kubeconfig: Path, labels: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start the kubelet (it registers the node itself)."""
    node_labels = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    args = [
        str(kubelet),
        f"--config={paths.config}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={paths.root}",
        f"--cert-dir={paths.certs}",
        f"--hostname-override={NODE_NAME}",
        f"--node-labels={node_labels}",
        "--v=1",
    ]
    with paths.log.open("ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
