"""One projection per watched kind: what the operator reads of an object, taken in one place.

A kind's projection (:class:`Projection`) is read from a watch event's body once and has
two parts: the record its index keeps for the rounds (:mod:`indexes`), and its *plan
inputs*, the part of the object that can change what a round decides or writes, which
the change filter compares to decide whether the event is worth a round
(:mod:`relevance`). Where the two are the same fields (a Node, a Deployment or Service, a
ManifestWork) the plan
inputs are the record itself, less its resourceVersion, or a part of it (a Namespace, a
ManagedCluster). For the three resources of the API they differ in purpose, and the
projection says how:

- the record keeps the parsed model (or why it does not parse), for the rounds;
- the plan inputs leave out what the rounds write themselves (statuses, aggregates) and
  what only the clock reads (heartbeat times), and compare measured power with a step
  (:class:`Measured`). They are read from the body, not from the model, so that an
  object that does not parse still asks for a round when its spec changes.

Pure: no kopf, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from cango_operator.api import GpuNode, InferenceJob, Site, describe_errors, parse_rfc3339
from cango_operator.builders.hashing import stamped_hash
from cango_operator.builders.httproute import HTTP_PORT, GatewayAddress, served_listener
from cango_operator.builders.labels import (
    JOB_LABEL,
    LABEL_PREFIX,
    NODE_LABEL,
    SITE_LABEL,
    TENANT_LABEL,
)
from cango_operator.builders.manifestwork import (
    READY_FEEDBACK,
    SITE_REPLICAS_FEEDBACK,
    UPDATED_FEEDBACK,
    job_of_work,
)
from cango_operator.builders.workload import QUEUE_LABEL, REPLICA_LABEL

E_co = TypeVar("E_co", covariant=True)

#: Measured power below this change (W) never requests a round by itself.
MIN_POWER_STEP_W = 50.0
#: ... nor a change below this share of the node's or site's nominal power.
POWER_STEP_SHARE = 0.05
#: For a site's power numbers (kW): the smallest step that counts.
MIN_SITE_STEP_KW = 1.0


@dataclass(frozen=True)
class Measured:
    """A measured number and the least change of it that counts: power moves a little
    with every heartbeat, and a round for each of those would plan nothing new."""

    name: str
    value: float | None
    step: float

    def moved_from(self, before: Measured) -> bool:
        """Whether it differs from ``before`` by more than its step (or has come or gone)."""
        if self.name != before.name or (self.value is None) != (before.value is None):
            return True
        return (
            self.value is not None
            and before.value is not None
            and abs(self.value - before.value) > self.step
        )


@dataclass(frozen=True)
class PlanInputs:
    """What rounds read from one object: ``exact`` fields compared whole, ``measured``
    values compared with their step."""

    exact: tuple[Any, ...]
    measured: tuple[Measured, ...] = ()

    def differs_from(self, before: PlanInputs) -> bool:
        if self.exact != before.exact or len(self.measured) != len(before.measured):
            return True
        return any(
            now.moved_from(then) for now, then in zip(self.measured, before.measured, strict=True)
        )


@dataclass(frozen=True)
class Projection(Generic[E_co]):
    """What the operator reads of one object: ``entry``, the record its index keeps
    (None: the index leaves the object out), and ``inputs``, what of it can change a round."""

    entry: E_co
    inputs: PlanInputs


def same_record(entry: Any) -> PlanInputs:
    """Plan inputs that are the index's record itself, but for its resourceVersion (which
    changes with every write, heartbeats included)."""
    if entry is None:
        return PlanInputs((None,))
    return PlanInputs((replace(entry, resource_version=""),))


def meta_of(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return body.get("metadata") or {}


def status_of(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return body.get("status") or {}


def deleting(body: Mapping[str, Any]) -> bool:
    """Whether the object is being deleted (it has a ``deletionTimestamp``)."""
    return bool(meta_of(body).get("deletionTimestamp"))


def operator_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """The labels of the operator's own (``compute.cango.io/``): the only ones it reads."""
    return {k: str(v) for k, v in (labels or {}).items() if k.startswith(LABEL_PREFIX)}


def condition_of(body: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    """The status condition of ``type_``; empty when there is none."""
    conditions = status_of(body).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_), {})


def current_ready_replicas(body: Mapping[str, Any]) -> int:
    """A Deployment's ready replicas running the current template (during a rollout the
    old pods do not count), never more than it asks for. Services have none."""
    status = status_of(body)
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    return min(ready, updated, int((body.get("spec") or {}).get("replicas") or 0))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _spec_and_deletion(body: Mapping[str, Any]) -> tuple[str, bool]:
    """What every resource of the API asks a round for: its spec (generation alone would
    miss objects without a status subresource) and whether it is being deleted."""
    return (_canonical(body.get("spec")), deleting(body))


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a body the API models read, without managedFields."""
    meta = dict(meta_of(body))
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


def job_projection(body: Mapping[str, Any]) -> Projection[JobEntry]:
    """An InferenceJob. Plan inputs: its spec and the placements recorded in its status
    (the engine keeps those). Ready counts, phase, conditions and messages are the
    operator's own output, written by the rounds from other objects."""
    meta = meta_of(body)
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    job: InferenceJob | None = None
    error: str | None = None
    try:
        job = InferenceJob.model_validate(_plain(body))
    except ValidationError as exc:
        error = _parse_error(exc, "InferenceJob", f"{namespace}/{name}")
    status = status_of(body)
    entry = JobEntry(
        namespace=namespace,
        name=name,
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        generation=meta.get("generation"),
        deleting=deleting(body),
        job=job,
        error=error,
        raw_status=dict(status),
    )
    queue = (meta.get("labels") or {}).get(QUEUE_LABEL)
    inputs = PlanInputs((*_spec_and_deletion(body), _canonical(status.get("placements")), queue))
    return Projection(entry, inputs)


@dataclass(frozen=True)
class ClusterEntry:
    """One Site or GpuNode: parsed, or the reason it does not parse."""

    name: str
    resource_version: str
    site: Site | None = None
    gpunode: GpuNode | None = None
    error: str | None = None


def _cluster_entry(body: Mapping[str, Any], model: type[Site] | type[GpuNode]) -> ClusterEntry:
    meta = meta_of(body)
    name, rv = str(meta.get("name", "")), str(meta.get("resourceVersion", ""))
    try:
        parsed = model.model_validate(_plain(body))
    except ValidationError as exc:
        return ClusterEntry(name, rv, error=_parse_error(exc, model.__name__, name))
    if isinstance(parsed, Site):
        return ClusterEntry(name, rv, site=parsed)
    return ClusterEntry(name, rv, gpunode=parsed)


def site_projection(body: Mapping[str, Any]) -> Projection[ClusterEntry]:
    """A Site. Plan inputs: spec, phase, price, measured latency, and the power numbers
    the engine reads (within a step of its capacity); whether a live feed has reported.
    Not the GPU and node aggregates, which the rounds write."""
    status = status_of(body)
    power = status.get("power") or {}
    capacity = float(((body.get("spec") or {}).get("power") or {}).get("capacityKw") or 0.0)
    step = max(MIN_SITE_STEP_KW, POWER_STEP_SHARE * capacity)
    measured = tuple(
        Measured(key, _number(power.get(key)), step)
        for key in ("capacityKw", "otherLoadKw", "gpuDrawKw", "committedKw")
    )
    exact = (
        *_spec_and_deletion(body),
        status.get("phase"),
        status.get("energyPriceUsdPerMwh"),
        _canonical(status.get("latencyMs")),
        power.get("feed") is not None,
    )
    return Projection(_cluster_entry(body, Site), PlanInputs(exact, measured))


def gpunode_projection(body: Mapping[str, Any]) -> Projection[ClusterEntry]:
    """A GpuNode. Plan inputs: spec, phase, which GPUs are unhealthy, GPUs allocated,
    whether an agent has ever reported, and the node's measured power (within a step of
    its nominal power). Not the heartbeat time (staleness is checked by the clock),
    temperatures or utilisation."""
    status = status_of(body)
    gpu = ((body.get("spec") or {}).get("gpu")) or {}
    nominal = float(gpu.get("count") or 0) * float(gpu.get("maxPowerW") or 0)
    unhealthy = tuple(
        sorted(
            int(g.get("index", -1)) for g in status.get("gpus") or [] if g.get("healthy") is False
        )
    )
    exact = (
        *_spec_and_deletion(body),
        status.get("phase"),
        unhealthy,
        status.get("allocatedGpus"),
        status.get("lastHeartbeatTime") is not None,
    )
    step = max(MIN_POWER_STEP_W, POWER_STEP_SHARE * nominal)
    power = Measured("powerW", _number(status.get("powerW")), step)
    return Projection(_cluster_entry(body, GpuNode), PlanInputs(exact, (power,)))


@dataclass(frozen=True)
class NodeEntry:
    """One Kubernetes Node: what placement and the GpuNode sync need."""

    name: str
    resource_version: str
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    unschedulable: bool
    ready: bool
    deleting: bool


def node_entry(body: Mapping[str, Any]) -> NodeEntry:
    meta = meta_of(body)
    spec = body.get("spec") or {}
    return NodeEntry(
        name=str(meta.get("name", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        labels=operator_labels(meta.get("labels")),
        taints=tuple(dict(t) for t in spec.get("taints") or []),
        unschedulable=bool(spec.get("unschedulable")),
        ready=condition_of(body, "Ready").get("status") == "True",
        deleting=deleting(body),
    )


def node_projection(body: Mapping[str, Any]) -> Projection[NodeEntry]:
    """A Kubernetes Node. Plan inputs: its record. Not its status heartbeats, images,
    addresses or capacity."""
    entry = node_entry(body)
    return Projection(entry, same_record(entry))


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


def owned_projection(kind: str, body: Mapping[str, Any]) -> Projection[OwnedEntry | None]:
    """A Deployment, Service, NetworkPolicy, InferencePool or HTTPRoute of a job (None:
    not one of a job). Plan
    inputs: its record: which job, site and node, the template hash, its owner, replicas,
    and ready replicas of the current template. Not observedGeneration, conditions or the
    counts of a rollout in between."""
    meta = meta_of(body)
    labels = operator_labels(meta.get("labels"))
    job = labels.get(JOB_LABEL)
    entry = None
    if job:
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
        entry = OwnedEntry(
            kind=kind,
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            resource_version=str(meta.get("resourceVersion", "")),
            job=job,
            site=labels.get(SITE_LABEL),
            node=labels.get(NODE_LABEL),
            applied_hash=stamped_hash(body),
            owner_uid=owners[0].get("uid") if owners else None,
            replicas=int((body.get("spec") or {}).get("replicas") or 0),
            ready_replicas=current_ready_replicas(body),
            deleting=deleting(body),
        )
    return Projection(entry, same_record(entry))


def deployment_projection(body: Mapping[str, Any]) -> Projection[OwnedEntry | None]:
    return owned_projection("Deployment", body)


@dataclass(frozen=True)
class WorkloadEntry:
    """A Kueue Workload the operator wrote for one replica of a job (builders.workload),
    and what Kueue says of it: ``admitted`` (place the replica), ``evicted`` (Kueue takes
    the quota back: stop the replica), ``pending`` (why it waits)."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    job: str
    replica: int
    admitted: bool
    evicted: bool
    pending: str | None
    deleting: bool


def workload_projection(body: Mapping[str, Any]) -> Projection[WorkloadEntry | None]:
    """A Workload of a job's replica (None: not one of the operator's). Plan inputs: its
    record but for the pending message (Kueue rewrites it as the queue moves)."""
    meta = meta_of(body)
    labels = meta.get("labels") or {}
    job = labels.get(JOB_LABEL)
    replica = str(labels.get(REPLICA_LABEL, ""))
    entry = None
    if job and replica.isdigit():
        admitted = condition_of(body, "Admitted").get("status") == "True"
        reserved = condition_of(body, "QuotaReserved")
        entry = WorkloadEntry(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            resource_version=str(meta.get("resourceVersion", "")),
            job=str(job),
            replica=int(replica),
            admitted=admitted,
            evicted=condition_of(body, "Evicted").get("status") == "True",
            pending=None if admitted else str(reserved.get("message") or "") or None,
            deleting=deleting(body),
        )
    inputs = same_record(None if entry is None else replace(entry, pending=None))
    return Projection(entry, inputs)


def service_projection(body: Mapping[str, Any]) -> Projection[OwnedEntry | None]:
    return owned_projection("Service", body)


def network_policy_projection(body: Mapping[str, Any]) -> Projection[OwnedEntry | None]:
    return owned_projection("NetworkPolicy", body)


def inference_pool_projection(body: Mapping[str, Any]) -> Projection[OwnedEntry | None]:
    return owned_projection("InferencePool", body)


def http_route_projection(body: Mapping[str, Any]) -> Projection[OwnedEntry | None]:
    return owned_projection("HTTPRoute", body)


@dataclass(frozen=True)
class GatewayEntry:
    """A Gateway (only with ``--gateway``): where it listens, as its controller wrote it
    (None: no address yet)."""

    namespace: str
    name: str
    address: GatewayAddress | None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def gateway_entry(body: Mapping[str, Any]) -> GatewayEntry:
    meta = meta_of(body)
    addresses = [a for a in status_of(body).get("addresses") or [] if a.get("value")]
    listener = served_listener(body)
    address = None
    if addresses:
        host = str(addresses[0]["value"])
        if listener is None:
            address = GatewayAddress(host, HTTP_PORT)
        else:
            address = GatewayAddress(host, listener.port, listener.tls)
    return GatewayEntry(str(meta.get("namespace", "")), str(meta.get("name", "")), address)


def gateway_projection(body: Mapping[str, Any]) -> Projection[GatewayEntry]:
    """A Gateway. Plan inputs: its record (the address a job's status.endpoint names).
    Not its conditions, its other listeners' settings or its other addresses."""
    entry = gateway_entry(body)
    return Projection(entry, PlanInputs((entry,)))


@dataclass(frozen=True)
class WorkEntry:
    """A ManifestWork the operator wrote: which job it carries to which cluster, and what
    the cluster's work agent reported back of each Deployment (``feedback``: the integer
    values of its status feedback, by name): from them its ready replicas of the current
    template, and its ``spec.replicas`` there (lower than the work's when the site's
    guard stopped some while the hub was away)."""

    cluster: str
    name: str
    uid: str
    resource_version: str
    job: str
    applied_hash: str | None
    deleting: bool
    feedback: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def ready(self) -> dict[str, int]:
        """Ready replicas of the current template per Deployment."""
        return {
            name: min(v.get(READY_FEEDBACK, 0), v.get(UPDATED_FEEDBACK, 0))
            for name, v in self.feedback.items()
        }

    @property
    def site_replicas(self) -> dict[str, int]:
        """Each Deployment's ``spec.replicas`` at the site, where the agent reported it."""
        return {
            name: v[SITE_REPLICAS_FEEDBACK]
            for name, v in self.feedback.items()
            if SITE_REPLICAS_FEEDBACK in v
        }

    def ready_of(self, deployment: str) -> int:
        return self.ready.get(deployment, 0)


def _feedback(status: Mapping[str, Any]) -> dict[str, dict[str, int]]:
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


def work_projection(body: Mapping[str, Any]) -> Projection[WorkEntry | None]:
    """A ManifestWork (None: not one the operator wrote for a job). Plan inputs: its
    record: which job, the hash of what it holds, what its cluster reported of each
    Deployment, deletion. Not its conditions or sync times."""
    meta = meta_of(body)
    job = job_of_work(meta.get("labels") or {})
    entry = None
    if job is not None:
        entry = WorkEntry(
            cluster=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            resource_version=str(meta.get("resourceVersion", "")),
            job=job,
            applied_hash=stamped_hash(body),
            deleting=deleting(body),
            feedback=_feedback(status_of(body)),
        )
    return Projection(entry, same_record(entry))


@dataclass(frozen=True)
class NamespaceEntry:
    """A namespace: whether it is terminating, and the tenant its usage is metered to.

    For an operator limited to some namespaces: kopf stops watching a namespace as soon as
    it starts terminating, so the DELETED events of the jobs, Deployments and Services in
    it never arrive and their records would stay in the indexes (their placements holding
    GPUs) until a restart. The round then counts only objects of namespaces that are here
    and not terminating.

    ``tenant``: the namespace's ``compute.cango.io/tenant`` label, which only whoever may
    edit Namespace objects (the platform admin) sets; the namespace's own name without it.
    """

    name: str
    terminating: bool
    tenant: str


def namespace_entry(body: Mapping[str, Any]) -> NamespaceEntry:
    meta = meta_of(body)
    name = str(meta.get("name", ""))
    tenant = str((meta.get("labels") or {}).get(TENANT_LABEL) or "")
    return NamespaceEntry(name, deleting(body), tenant or name)


def namespace_projection(body: Mapping[str, Any]) -> Projection[NamespaceEntry]:
    """A Namespace. Plan inputs: whether it is terminating and its tenant (a round sets
    usage rates per tenant). Not its other labels or its status."""
    entry = namespace_entry(body)
    return Projection(entry, PlanInputs((entry.terminating, entry.tenant)))


#: OCM's condition on a ManagedCluster: its agent renews its lease (the hub can reach it).
AVAILABLE_CONDITION = "ManagedClusterConditionAvailable"


@dataclass(frozen=True)
class ManagedClusterEntry:
    """A federation's site cluster as OCM's hub sees it (only with ``--federation``).

    ``available`` is OCM's ``ManagedClusterConditionAvailable`` status: "True" while the
    site's agent keeps its lease, "Unknown" once the lease has lapsed (the link or the
    agent is down), "False" when the agent reports the cluster unhealthy; "" before OCM
    has said anything (a cluster not yet accepted). ``since`` is when it last changed.
    """

    name: str
    available: str
    since: datetime | None
    reason: str
    message: str

    @property
    def reachable(self) -> bool:
        return self.available == "True"


def managed_cluster_entry(body: Mapping[str, Any]) -> ManagedClusterEntry:
    available = condition_of(body, AVAILABLE_CONDITION)
    return ManagedClusterEntry(
        name=str(meta_of(body).get("name", "")),
        available=str(available.get("status") or ""),
        since=parse_rfc3339(available.get("lastTransitionTime")),
        reason=str(available.get("reason") or ""),
        message=str(available.get("message") or ""),
    )


def managed_cluster_projection(body: Mapping[str, Any]) -> Projection[ManagedClusterEntry]:
    """A ManagedCluster. Plan inputs: its availability and since when. Not the reason and
    message alone, the agent's other conditions, its capacity or version."""
    entry = managed_cluster_entry(body)
    return Projection(entry, PlanInputs((entry.available, entry.since)))


#: The projection of each watched kind, by plural.
PROJECTIONS: Mapping[str, Callable[[Mapping[str, Any]], Projection[Any]]] = {
    "inferencejobs": job_projection,
    "sites": site_projection,
    "gpunodes": gpunode_projection,
    "nodes": node_projection,
    "deployments": deployment_projection,
    "services": service_projection,
    "workloads": workload_projection,
    "networkpolicies": network_policy_projection,
    "inferencepools": inference_pool_projection,
    "httproutes": http_route_projection,
    "gateways": gateway_projection,
    "manifestworks": work_projection,
    "namespaces": namespace_projection,
    "managedclusters": managed_cluster_projection,
}
