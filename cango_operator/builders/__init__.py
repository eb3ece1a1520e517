"""Pure builders of everything the operator writes: Deployments, Services, a job's
InferencePool and HTTPRoute, Node patches and statuses. Plain dicts in, plain dicts out;
no kopf, no Kubernetes client, no I/O.
"""

from cango_operator.builders import labels, names
from cango_operator.builders.deployment import (
    build_deployment,
    build_placement_deployment,
    job_labels,
    owner_reference,
    replica_power_w,
    selector,
)
from cango_operator.builders.hashing import fingerprint, stamp, stamped_hash
from cango_operator.builders.httproute import (
    GatewayAddress,
    GatewayRef,
    build_http_route,
    endpoint_url,
)
from cango_operator.builders.inferencepool import build_inference_pool
from cango_operator.builders.networkpolicy import build_network_policy
from cango_operator.builders.node import build_node_patch, node_labels, unhealthy_reason
from cango_operator.builders.service import build_service
from cango_operator.builders.site import (
    ROUND_SITE_CONDITIONS,
    NodeView,
    Reachability,
    group_by_site,
    heartbeat_observation,
    reachability_observation,
    site_aggregates,
    site_latency,
    with_round_conditions,
)
from cango_operator.builders.status import (
    Shortfall,
    Unreached,
    failed_status,
    job_phase,
    job_status,
)

__all__ = [
    "ROUND_SITE_CONDITIONS",
    "GatewayAddress",
    "GatewayRef",
    "NodeView",
    "Reachability",
    "Shortfall",
    "Unreached",
    "build_deployment",
    "build_http_route",
    "build_inference_pool",
    "build_network_policy",
    "build_node_patch",
    "build_placement_deployment",
    "build_service",
    "endpoint_url",
    "failed_status",
    "fingerprint",
    "group_by_site",
    "heartbeat_observation",
    "job_labels",
    "job_phase",
    "job_status",
    "labels",
    "names",
    "node_labels",
    "owner_reference",
    "reachability_observation",
    "replica_power_w",
    "selector",
    "site_aggregates",
    "site_latency",
    "stamp",
    "stamped_hash",
    "unhealthy_reason",
    "with_round_conditions",
]
