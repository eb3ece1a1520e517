"""What the local control plane needs so that a real node can join it, as a kwokctl
configuration file for ``cluster_up(extra_args=...)``:

- kwok manages only the nodes annotated ``kwok.x-k8s.io/node=fake`` (every simulated node
  carries it, devcluster/nodes.py), not the real one (kwokctl's binary runtime would have
  it manage all nodes);
- the API server uses its admin certificate as its kubelet client certificate (logs,
  exec, port-forward reach the kubelet authenticated), and its Service range is pinned to
  the one the pod network makes unreachable;
- its serving certificate also names the pod bridge's gateway address: pods reach the
  API server there (no kube-proxy, no Service IP; chart README, "Without kube-proxy").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cango_operator.devcluster.nodes import KWOK_ANNOTATION
from cango_operator.devcluster.realnode.network import PodNetwork


def kwokctl_config(workdir: Path, name: str, net: PodNetwork) -> dict[str, Any]:
    pki = workdir / "clusters" / name / "pki"  # where kwokctl writes the cluster's PKI

    def args(**values: str) -> list[dict[str, str]]:
        return [{"key": k.replace("_", "-"), "value": v} for k, v in values.items()]

    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {"kubeApiserverCertSANs": [net.gateway]},
        "componentsPatches": [
            {
                "name": "kwok-controller",
                "extraArgs": args(
                    manage_all_nodes="false",
                    manage_nodes_with_annotation_selector=f"{KWOK_ANNOTATION}=fake",
                ),
            },
            {
                "name": "kube-apiserver",
                "extraArgs": args(
                    kubelet_client_certificate=str(pki / "admin.crt"),
                    kubelet_client_key=str(pki / "admin.key"),
                    service_cluster_ip_range=net.service_range,
                ),
            },
        ],
    }


def cluster_args(workdir: Path, name: str, net: PodNetwork) -> list[str]:
    """``kwokctl create cluster`` arguments: the configuration, written beside the
    cluster's state."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{name}-realnode.kwokctl.yaml"
    path.write_text(json.dumps(kwokctl_config(workdir, name, net), indent=2))
    return ["--config", str(path)]
