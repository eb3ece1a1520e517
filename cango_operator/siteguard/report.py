"""What the guard did while the hub was away, told to the hub once it is back.

The report goes where a site's own hub credentials may write: an annotation on each
GpuNode that lost replicas (``compute.cango.io/site-guard-report``), holding JSON::

    {"cluster": "latam-1",
     "unreachableSince": "2026-12-04T17:40:02Z",   # when the guard judged the hub away
     "reachableAt": "2026-12-04T17:52:10Z",        # when it answered again
     "shed": [                                     # in the order the guard stopped them
       {"at": "2026-12-04T17:41:15Z", "site": "latam-1-a", "namespace": "tenant-acme",
        "job": "llama-chat", "deployment": "llama-chat-gpu-7-1a2b3c", "gpunode": "gpu-7",
        "fromReplicas": 3, "toReplicas": 1,
        "reason": "site Curtailed, 1.2 kW of GPU work over its budget while the hub is
                   unreachable"}]}

One annotation per GpuNode holds every scale-down of that node's Deployments during the
last time away (``reachableAt`` tells one report from the next). ``toReplicas`` is what
the Deployment runs now; the hub's ManifestWork still says ``fromReplicas`` (or what the
hub planned meanwhile) until the hub writes that Deployment again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cango_operator.api import rfc3339

REPORT_ANNOTATION = "compute.cango.io/site-guard-report"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class ShedRecord:
    """One scale-down the guard made."""

    at: datetime
    site: str
    namespace: str
    job: str
    deployment: str
    gpunode: str
    from_replicas: int
    to_replicas: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": rfc3339(self.at),
            "site": self.site,
            "namespace": self.namespace,
            "job": self.job,
            "deployment": self.deployment,
            "gpunode": self.gpunode,
            "fromReplicas": self.from_replicas,
            "toReplicas": self.to_replicas,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShedRecord:
        return cls(
            at=parse_time(str(data["at"])),
            site=str(data["site"]),
            namespace=str(data["namespace"]),
            job=str(data["job"]),
            deployment=str(data["deployment"]),
            gpunode=str(data["gpunode"]),
            from_replicas=int(data["fromReplicas"]),
            to_replicas=int(data["toReplicas"]),
            reason=str(data["reason"]),
        )


def reports_by_gpunode(
    records: Iterable[ShedRecord],
    *,
    cluster: str,
    unreachable_since: datetime | None,
    reachable_at: datetime,
) -> dict[str, str]:
    """GpuNode name -> the JSON of its annotation (see the module docstring)."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_node.setdefault(record.gpunode, []).append(record.to_dict())
    head: dict[str, Any] = {"cluster": cluster}
    if unreachable_since is not None:
        head["unreachableSince"] = rfc3339(unreachable_since)
    head["reachableAt"] = rfc3339(reachable_at)
    return {
        node: json.dumps({**head, "shed": shed}, separators=(",", ":"))
        for node, shed in sorted(by_node.items())
    }
