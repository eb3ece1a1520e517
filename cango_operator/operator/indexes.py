"""What the operator keeps in memory about the cluster: kopf indexes of small records.

kopf calls these functions on every watch event and keeps the returned records, keyed,
until the object is deleted. Records hold only what a planning round reads (not whole
bodies, minus ``managedFields``), and the API resources are parsed once here, when they
change, not in every round. A resource that does not parse is indexed with its error,
so the round can say so in its status instead of ignoring it.

The functions are coroutines only so that kopf calls them in the event loop rather than
handing each event to a worker thread; they never await.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cango_operator.api import GpuNode, InferenceJob, Site, describe_errors
from cango_operator.builders.hashing import stamped_hash
from cango_operator.builders.labels import JOB_LABEL, NODE_LABEL, SITE_LABEL
from cango_operator.builders.manifestwork import (
    READY_FEEDBACK,
    SITE_REPLICAS_FEEDBACK,
    UPDATED_FEEDBACK,
    job_of_work,
)
from cango_operator.operator.projections import (
    ManagedClusterEntry,
    NamespaceEntry,
    NodeEntry,
    current_ready_replicas,
    deleting,
    managed_cluster_entry,
    namespace_entry,
    node_entry,
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


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a body the API models read, without managedFields."""
    meta = dict(body.get("metadata") or {})
    meta.pop("managedFields", None)
    out = {k: body[k] for k in ("apiVersion", "kind", "spec", "status") if k in body}
    out["metadata"] = meta
    return out


def _parse_error(exc: ValidationError, kind: str, name: str) -> str:
    return f"{kind} {name}: " + "; ".join(describe_errors(exc))


@dataclass(frozen=True)
class JobEntry:
    """One InferenceJob: parsed, or the reason it does not parse."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    generation: int | None
    deleting: bool
    job: InferenceJob | None
    error: str | None
    raw_status: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ClusterEntry:
    """One Site or GpuNode: parsed, or the reason it does not parse."""

    name: str
    resource_version: str
    site: Site | None = None
    gpunode: GpuNode | None = None
    error: str | None = None


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
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    job: InferenceJob | None = None
    error: str | None = None
    try:
        job = InferenceJob.model_validate(_plain(body))
    except ValidationError as exc:
        error = _parse_error(exc, "InferenceJob", f"{namespace}/{name}")
    entry = JobEntry(
        namespace=namespace,
        name=name,
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        generation=meta.get("generation"),
        deleting=deleting(body),
        job=job,
        error=error,
        raw_status=dict(body.get("status") or {}),
    )
    return {(namespace, name): entry}


async def index_site(body: Mapping[str, Any], **_: Any) -> dict[str, ClusterEntry]:
    meta = body.get("metadata") or {}
    name = str(meta.get("name", ""))
    rv = str(meta.get("resourceVersion", ""))
    try:
        return {name: ClusterEntry(name, rv, site=Site.model_validate(_plain(body)))}
    except ValidationError as exc:
        return {name: ClusterEntry(name, rv, error=_parse_error(exc, "Site", name))}


async def index_gpunode(body: Mapping[str, Any], **_: Any) -> dict[str, ClusterEntry]:
    meta = body.get("metadata") or {}
    name = str(meta.get("name", ""))
    rv = str(meta.get("resourceVersion", ""))
    try:
        return {name: ClusterEntry(name, rv, gpunode=GpuNode.model_validate(_plain(body)))}
    except ValidationError as exc:
        return {name: ClusterEntry(name, rv, error=_parse_error(exc, "GpuNode", name))}


async def index_node(body: Mapping[str, Any], **_: Any) -> dict[str, NodeEntry]:
    entry = node_entry(body)
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


@dataclass(frozen=True)
class WorkEntry:
    """A ManifestWork the operator wrote: which job it carries to which cluster, and what
    the cluster's work agent reported back: ready replicas per Deployment (current
    template only), and each Deployment's ``spec.replicas`` there (lower than the work's
    when the site's guard stopped some while the hub was away)."""

    cluster: str
    name: str
    uid: str
    resource_version: str
    job: str
    applied_hash: str | None
    deleting: bool
    ready: Mapping[str, int]
    site_replicas: Mapping[str, int] = field(default_factory=dict)

    def ready_of(self, deployment: str) -> int:
        return self.ready.get(deployment, 0)


def _feedback(status: Mapping[str, Any]) -> dict[str, int]:
    """Ready replicas of the current template per Deployment, from status feedback."""
    return {
        name: min(v.get(READY_FEEDBACK, 0), v.get(UPDATED_FEEDBACK, 0))
        for name, v in _values(status).items()
    }


def _site_replicas(status: Mapping[str, Any]) -> dict[str, int]:
    """Each Deployment's ``spec.replicas`` at the site, where the agent reported it."""
    return {
        name: v[SITE_REPLICAS_FEEDBACK]
        for name, v in _values(status).items()
        if SITE_REPLICAS_FEEDBACK in v
    }


def _values(status: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """The integer status feedback of each Deployment of a work, by name."""
    out: dict[str, dict[str, int]] = {}
    for manifest in (status.get("resourceStatus") or {}).get("manifests") or []:
        meta = manifest.get("resourceMeta") or {}
        if meta.get("kind") != "Deployment":
            continue
        values: dict[str, int] = {}
        for value in (manifest.get("statusFeedback") or {}).get("values") or []:
            number = (value.get("fieldValue") or {}).get("integer")
            if isinstance(number, int):
                values[str(value.get("name"))] = number
        out[str(meta.get("name", ""))] = values
    return out


async def index_work(body: Mapping[str, Any], **_: Any) -> dict[tuple[str, str], WorkEntry]:
    meta = body.get("metadata") or {}
    job = job_of_work(meta.get("labels") or {})
    if job is None:
        return {}
    entry = WorkEntry(
        cluster=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        job=job,
        applied_hash=stamped_hash(body),
        deleting=deleting(body),
        ready=_feedback(body.get("status") or {}),
        site_replicas=_site_replicas(body.get("status") or {}),
    )
    return {(entry.cluster, entry.name): entry}


async def index_namespace(body: Mapping[str, Any], **_: Any) -> dict[str, NamespaceEntry]:
    entry = namespace_entry(body)
    return {entry.name: entry}


async def index_managed_cluster(
    body: Mapping[str, Any], **_: Any
) -> dict[str, ManagedClusterEntry]:
    entry = managed_cluster_entry(body)
    return {entry.name: entry}
