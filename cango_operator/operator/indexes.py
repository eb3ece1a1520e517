"""What the operator keeps in memory about the cluster: kopf indexes of small records.

kopf calls these functions on every watch event and keeps the returned records, keyed,
until the object is deleted. Records hold only what a planning round reads (not whole
bodies, minus ``managedFields``): each is its kind's projection (:mod:`projections`), so
the API resources are parsed once, when they change, not in every round. A resource that
does not parse is indexed with its error, so the round can say so in its status instead
of ignoring it.

The functions are coroutines only so that kopf calls them in the event loop rather than
handing each event to a worker thread; they never await.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any, TypeVar

from cango_operator.operator.projections import (
    Projection,
    deployment_projection,
    gateway_projection,
    gpunode_projection,
    http_route_projection,
    inference_pool_projection,
    job_projection,
    managed_cluster_projection,
    namespace_projection,
    network_policy_projection,
    node_projection,
    service_projection,
    site_projection,
    work_projection,
    workload_projection,
)

K = TypeVar("K", bound=Hashable)
E = TypeVar("E")
IndexFunction = Callable[..., Coroutine[Any, Any, dict[K, E]]]

JOBS = "jobs_idx"
SITES = "sites_idx"
GPUNODES = "gpunodes_idx"
NODES = "nodes_idx"
DEPLOYMENTS = "deployments_idx"
SERVICES = "services_idx"
NETWORK_POLICIES = "networkpolicies_idx"
#: Only with ``--kueue``: the Workloads of jobs' replicas; see :class:`WorkloadEntry`.
WORKLOADS = "workloads_idx"
#: Only with ``--gateway``: jobs' InferencePools and HTTPRoutes, and the Gateways.
INFERENCE_POOLS = "inferencepools_idx"
HTTP_ROUTES = "httproutes_idx"
GATEWAYS = "gateways_idx"
WORKS = "manifestworks_idx"
#: Every namespace's tenant, and whether it is terminating; see :class:`NamespaceEntry`.
NAMESPACES = "namespaces_idx"
#: Only with ``--federation``: OCM's ManagedClusters; see :class:`ManagedClusterEntry`.
MANAGED_CLUSTERS = "managedclusters_idx"
#: Every index, as kopf passes them to the handlers by name.
INDEX_NAMES = (
    JOBS,
    SITES,
    GPUNODES,
    NODES,
    DEPLOYMENTS,
    SERVICES,
    NETWORK_POLICIES,
    WORKLOADS,
    INFERENCE_POOLS,
    HTTP_ROUTES,
    GATEWAYS,
    WORKS,
    NAMESPACES,
    MANAGED_CLUSTERS,
)


def _index(
    project: Callable[[Mapping[str, Any]], Projection[E | None]], key: Callable[[E], K]
) -> IndexFunction[K, E]:
    """The index function of a kind: its projection's record, under ``key``; none for an
    object the projection leaves out."""

    async def index(body: Mapping[str, Any], **_: Any) -> dict[K, E]:
        entry = project(body).entry
        return {} if entry is None else {key(entry): entry}

    return index


index_job = _index(job_projection, lambda e: (e.namespace, e.name))
index_site = _index(site_projection, lambda e: e.name)
index_gpunode = _index(gpunode_projection, lambda e: e.name)
index_node = _index(node_projection, lambda e: e.name)
index_deployment = _index(deployment_projection, lambda e: (e.namespace, e.job))
index_service = _index(service_projection, lambda e: (e.namespace, e.job))
index_network_policy = _index(network_policy_projection, lambda e: (e.namespace, e.job))
index_workload = _index(workload_projection, lambda e: (e.namespace, e.job))
index_inference_pool = _index(inference_pool_projection, lambda e: (e.namespace, e.job))
index_http_route = _index(http_route_projection, lambda e: (e.namespace, e.job))
index_gateway = _index(gateway_projection, lambda e: (e.namespace, e.name))
index_work = _index(work_projection, lambda e: (e.cluster, e.name))
index_namespace = _index(namespace_projection, lambda e: e.name)
index_managed_cluster = _index(managed_cluster_projection, lambda e: e.name)
