"""Act as a ServiceAccount instead of the cluster admin.

The chart's RBAC is only proven sufficient when the operator runs with the credentials a
pod of the chart would have: a token of its ServiceAccount. ``service_account_kubeconfig``
mints such a token (TokenRequest, through ``kubectl create token``) and writes a kubeconfig
that uses it against the same API server, trusting the same CA.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from cango_operator.devcluster.cluster import LocalCluster
from cango_operator.errors import ClusterError


def _admin_cluster_entry(cluster: LocalCluster) -> dict[str, Any]:
    """The API server address and CA of the admin kubeconfig, certificates inlined."""
    view = json.loads(
        cluster.kubectl("config", "view", "--minify", "--flatten", "-o", "json").stdout
    )
    clusters = view.get("clusters") or []
    if not clusters or "server" not in clusters[0].get("cluster", {}):
        raise ClusterError(f"{cluster.kubeconfig}: no cluster with a server address")
    entry: dict[str, Any] = clusters[0]["cluster"]
    return {k: v for k, v in entry.items() if k in ("server", "certificate-authority-data")}


def service_account_kubeconfig(
    cluster: LocalCluster,
    namespace: str,
    service_account: str,
    dest: Path,
    duration: str = "1h",
) -> Path:
    """Write a kubeconfig at ``dest`` that authenticates as ``namespace/service_account``.

    The file holds a bearer token, so it is created readable by its owner only; the token
    is never printed. Raises ClusterError when the ServiceAccount does not exist.
    """
    proc = cluster.kubectl(
        "-n", namespace, "create", "token", service_account, f"--duration={duration}"
    )
    token = proc.stdout.strip()
    if not token:
        raise ClusterError(f"kubectl create token {namespace}/{service_account}: empty token")
    user = f"system:serviceaccount:{namespace}:{service_account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster.name, "cluster": _admin_cluster_entry(cluster)}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": user,
                "context": {"cluster": cluster.name, "user": user, "namespace": namespace},
            }
        ],
        "current-context": user,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    return dest
