"""Small helpers for the chart tests that touch the cluster."""

from __future__ import annotations

from cango_operator.devcluster import LocalCluster

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"


def restricted_namespace(cluster: LocalCluster, name: str) -> str:
    """Create a namespace whose pods the API server holds to Pod Security `restricted`."""
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, f"{ENFORCE_LABEL}=restricted")
    return name
