"""The Gateway API's and its Inference Extension's CRDs in a local cluster: what a job's
endpoint is written as (an InferencePool and an HTTPRoute on a Gateway).

Only the API: the gateway (``cango-operator gateway``) is started by the tests that need
it; otherwise a Gateway's status stays as whoever writes it leaves it.
``hack/gateway/build.sh`` copies the CRDs from the Go modules pinned in
``hack/gateway/versions.env``.
"""

from __future__ import annotations

from pathlib import Path

from cango_operator.devcluster.cluster import LocalCluster
from cango_operator.devcluster.crds import apply_crds
from cango_operator.devcluster.tools import ensure_gateway_dir

#: The CRDs whose Established condition :func:`install_gateway_crds` waits for.
GATEWAY_CRDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "inferencepools.inference.networking.k8s.io",
    # KEDA's, for the autoscaling example (examples/autoscaling/scaledobject.yaml).
    "scaledobjects.keda.sh",
)


def install_gateway_crds(
    cluster: LocalCluster, gateway_dir: Path | None = None, timeout: float = 60
) -> None:
    """Apply the CRDs and wait until the API server serves them."""
    crds = (gateway_dir or ensure_gateway_dir()) / "crds"
    apply_crds(cluster, crds, GATEWAY_CRDS, timeout)
