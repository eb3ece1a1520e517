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
from dataclasses import dataclass
from typing import Any

from cango_operator.builders.hashing import stamped_hash
from cango_operator.builders.labels import JOB_LABEL, NODE_LABEL, SITE_LABEL
from cango_operator.operator.projections import (
    ClusterEntry,
    JobEntry,
    ManagedClusterEntry,
    NamespaceEntry,
    NodeEntry,
    WorkEntry,
    current_ready_replicas,
    deleting,
    gpunode_projection,
    job_projection,
    managed_cluster_projection,
    namespace_projection,
    node_projection,
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


@dataclass(frozen=True)
class OwnedEntry:
    """A Deployment or Service the operator manages."""

    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: str
    job: str
    site: str | None
    node: str | None
    applied_hash: str | None
    owner_uid: str | None
    replicas: int
    ready_replicas: int
    deleting: bool


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
    meta = body.get("metadata") or {}
    labels = meta.get("labels") or {}
    job = labels.get(JOB_LABEL)
    if not job:
        return {}
    owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
    spec = body.get("spec") or {}
    namespace = str(meta.get("namespace", ""))
    entry = OwnedEntry(
        kind=kind,
        namespace=namespace,
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        job=str(job),
        site=labels.get(SITE_LABEL),
        node=labels.get(NODE_LABEL),
        applied_hash=stamped_hash(body),
        owner_uid=owners[0].get("uid") if owners else None,
        replicas=int(spec.get("replicas") or 0),
        ready_replicas=current_ready_replicas(body),
        deleting=deleting(body),
    )
    return {(namespace, str(job)): entry}


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
