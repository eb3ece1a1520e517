"""Kubernetes Events (``events.k8s.io/v1``) that record what a controller did to an object.

An Event names the object it is about (``regarding``), a CamelCase ``reason``, the
``action`` taken and a human ``note``; ``type`` is Normal or Warning. An Event lives in
its object's namespace; the API server puts those about cluster-scoped objects (a Site)
in ``default``, as the kubelet's about Nodes. ``kubectl events --for site/NAME -n
default`` shows them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cango_operator.api import API_VERSION

#: The longest note the API server accepts.
MAX_NOTE = 1024
#: Where Events about cluster-scoped objects must go (the API server refuses others).
CLUSTER_SCOPED_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class Regarding:
    """The object an Event is about."""

    kind: str
    name: str
    namespace: str | None = None
    uid: str | None = None
    api_version: str = API_VERSION


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One thing a controller did or saw, before it is an Event object."""

    regarding: Regarding
    reason: str
    action: str
    note: str
    type: Literal["Normal", "Warning"] = "Normal"


def event_manifest(
    record: EventRecord, *, controller: str, instance: str, now: datetime
) -> dict[str, Any]:
    """The Event object for ``record``; its name is unique per object, reason, action,
    note and time (one round may evict a job's replicas from two nodes: two Events)."""
    r = record.regarding
    namespace = event_namespace(r)
    digest = hashlib.sha256(
        f"{r.kind}/{r.namespace}/{r.name}/{record.reason}/{record.action}/{record.note}/"
        f"{now.isoformat()}".encode()
    ).hexdigest()[:10]
    regarding: dict[str, Any] = {"apiVersion": r.api_version, "kind": r.kind, "name": r.name}
    if r.namespace:
        regarding["namespace"] = r.namespace
    if r.uid:
        regarding["uid"] = r.uid
    note = record.note if len(record.note) <= MAX_NOTE else record.note[: MAX_NOTE - 3] + "..."
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"{r.name[:200]}.{digest}", "namespace": namespace},
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingController": controller,
        "reportingInstance": instance[:128],
        "regarding": regarding,
        "reason": record.reason,
        "action": record.action,
        "note": note,
        "type": record.type,
    }


def event_namespace(regarding: Regarding) -> str:
    """The namespace an Event about ``regarding`` is written in."""
    return regarding.namespace or CLUSTER_SCOPED_NAMESPACE
