"""A real node beside the kwok nodes: kubelet, containerd and runc running real pods on
this machine, on a pod network that cannot route out of it (docs/real-node.md)."""

from cango_operator.devcluster.realnode.kubelet import NODE_NAME
from cango_operator.devcluster.realnode.network import PodNetwork
from cango_operator.devcluster.realnode.node import (
    RealNode,
    residue,
    start_real_node,
    stop_real_node,
)

__all__ = ["NODE_NAME", "PodNetwork", "RealNode", "residue", "start_real_node", "stop_real_node"]
