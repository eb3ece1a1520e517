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

from collections.abc import Mapping
from typing import Any

from cango_operator.operator.projections import (
    ClusterEntry,
    JobEntry,
    ManagedClusterEntry,
    NamespaceEntry,
    NodeEntry,
    OwnedEntry,
    WorkEntry,
    gpunode_projection,
    job_projection,
    managed_cluster_projection,
    namespace_projection,
    node_projection,
    owned_projection,
    site_projection,
    work_projection,
)

JOBS = "jobs_idx"
SITES = "sites_idx"
GPUNODES = "gpunodes_idx"
NODES = "nodes_idx"
DEPLOYMENTS = "deployments_idx"
SERVICES = "services_idx"
WORKS = "manifestworks_idx"
#: Only for an operator limited to some namespaces (``--namespace``); see :class:`NamespaceEntry`.
NAMESPACES = "namespaces_idx"
#: Only with ``--federation``: OCM's ManagedClusters; see :class:`ManagedClusterEntry`.
MANAGED_CLUSTERS = "managedclusters_idx"


async def index_job(body: Mapping[str, Any], **_: Any) -> dict[tuple[str, str], JobEntry]:
    entry = job_projection(body).entry
    return {(entry.namespace, entry.name): entry}


async def index_site(body: Mapping[str, Any], **_: Any) -> dict[str, ClusterEntry]:
    entry = site_projection(body).entry
    return {entry.name: entry}


async def index_gpunode(body: Mapping[str, Any], **_: Any) -> dict[str, ClusterEntry]:
    entry = gpunode_projection(body).entry
    return {entry.name: entry}


async def index_node(body: Mapping[str, Any], **_: Any) -> dict[str, NodeEntry]:
    entry = node_projection(body).entry
    return {entry.name: entry}


def _owned(kind: str, body: Mapping[str, Any]) -> dict[tuple[str, str], OwnedEntry]:
    entry = owned_projection(kind, body).entry
    return {} if entry is None else {(entry.namespace, entry.job): entry}


async def index_deployment(body: Mapping[str, Any], **_: Any) -> dict[tuple[str, str], OwnedEntry]:
    return _owned("Deployment", body)


async def index_service(body: Mapping[str, Any], **_: Any) -> dict[tuple[str, str], OwnedEntry]:
    return _owned("Service", body)


async def index_work(body: Mapping[str, Any], **_: Any) -> dict[tuple[str, str], WorkEntry]:
    entry = work_projection(body).entry
    return {} if entry is None else {(entry.cluster, entry.name): entry}


async def index_namespace(body: Mapping[str, Any], **_: Any) -> dict[str, NamespaceEntry]:
    entry = namespace_projection(body).entry
    return {entry.name: entry}


async def index_managed_cluster(
    body: Mapping[str, Any], **_: Any
) -> dict[str, ManagedClusterEntry]:
    entry = managed_cluster_projection(body).entry
    return {entry.name: entry}
