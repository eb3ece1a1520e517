"""One projection per watched kind: what the operator reads of an object, taken in one place.

The indexes keep these records for the rounds (:mod:`indexes`), and the change filter
compares them to decide whether an event can change a round (:mod:`relevance`), so both
read the same fields in the same way: a Node's operator labels are the same keys, its
readiness is the same condition.

Pure: no kopf, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cango_operator.api import parse_rfc3339
from cango_operator.builders.labels import LABEL_PREFIX


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


@dataclass(frozen=True)
class NamespaceEntry:
    """A namespace, for an operator limited to some namespaces.

    kopf stops watching a namespace as soon as it starts terminating, so the DELETED events
    of the jobs, Deployments and Services in it never arrive and their records would stay
    in the indexes (their placements holding GPUs) until a restart. The round counts only
    objects of namespaces that are here and not terminating.
    """

    name: str
    terminating: bool


def namespace_entry(body: Mapping[str, Any]) -> NamespaceEntry:
    return NamespaceEntry(str(meta_of(body).get("name", "")), deleting(body))


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
