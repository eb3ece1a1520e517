"""The local development control plane: binaries, cluster lifecycle, simulated GPU nodes.

Used by ``make cluster-up``, the test fixtures and the demo; never by the operator itself.
"""

from cango_operator.devcluster.cluster import LocalCluster, cluster_down, cluster_up
from cango_operator.devcluster.identity import service_account_kubeconfig
from cango_operator.devcluster.nodes import GpuNodeShape, apply_dev_nodes, build_kwok_node
from cango_operator.devcluster.tools import ensure_bin_dir, find_tool

__all__ = [
    "GpuNodeShape",
    "LocalCluster",
    "apply_dev_nodes",
    "build_kwok_node",
    "cluster_down",
    "cluster_up",
    "ensure_bin_dir",
    "find_tool",
    "service_account_kubeconfig",
]
