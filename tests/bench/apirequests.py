"""Every API request the operator makes, counted by the kube-apiserver itself.

The bench cluster runs with an audit policy (``kwokctl --kube-audit-policy``) that logs one
line per request (stage ``ResponseComplete``, level ``Metadata``: no bodies). The operator
is told apart by its user agents: kopf's own client (``kopf/...``: lists, watches, peering,
events) and the Kubernetes client of its writer (``cango-operator/...``; the client's
default ``OpenAPI-Generator/...`` in older versions). The bench's own client says
``cango-bench``, kubectl and the control plane their own names.

Leases (the kwok nodes' heartbeats, thousands a minute) and the API server's own loopback
requests are not logged: the operator makes neither, and they would make the log large.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_USER_AGENT = "cango-bench"
#: The writer's agent before it had its own name was the Kubernetes client's default.
OPERATOR_AGENTS = {"kopf/": "kopf", "cango-operator/": "writer", "OpenAPI-Generator/": "writer"}

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: None
  users: ["system:apiserver"]
- level: None
  resources:
  - group: coordination.k8s.io
    resources: ["leases"]
- level: Metadata
"""


def write_policy(directory: Path) -> Path:
    path = directory / "audit-policy.yaml"
    path.write_text(POLICY)
    return path


def audit_logs(workdir: Path, cluster: str) -> list[Path]:
    """kwokctl's kube-apiserver audit log, with the files it was rotated into (a 2,000
    node run writes hundreds of MB)."""
    return sorted((workdir / "clusters" / cluster / "logs").glob("audit*.log"))


def client_of(user_agent: str) -> str | None:
    """``kopf`` or ``writer`` for the operator's two clients; None for anyone else."""
    for prefix, name in OPERATOR_AGENTS.items():
        if user_agent.startswith(prefix):
            return name
    return None


@dataclass
class RequestCount:
    """The operator's requests received in one time window."""

    total: int = 0
    by_client: Counter[str] = field(default_factory=Counter)
    by_verb: Counter[str] = field(default_factory=Counter)
    by_resource: Counter[str] = field(default_factory=Counter)

    def add(self, client: str, verb: str, resource: str) -> None:
        self.total += 1
        self.by_client[client] += 1
        self.by_verb[verb] += 1
        self.by_resource[resource] += 1

    def as_dict(self, top: int = 12) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_client": dict(self.by_client.most_common()),
            "by_verb": dict(self.by_verb.most_common()),
            "by_resource_verb": dict(self.by_resource.most_common(top)),
        }


def _resource(event: dict[str, Any]) -> str:
    ref = event.get("objectRef") or {}
    name = ref.get("resource") or event.get("requestURI", "?").split("?")[0]
    if ref.get("subresource"):
        name = f"{name}/{ref['subresource']}"
    return f"{name} {event.get('verb', '?')}"


def _when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))


def count_requests(
    logs: list[Path], windows: dict[str, tuple[datetime, datetime]]
) -> dict[str, RequestCount]:
    """The operator's requests received within each named ``[start, end)`` window."""
    counts = {name: RequestCount() for name in windows}
    for log in logs:
        _count_file(log, windows, counts)
    return counts


def _count_file(
    log: Path, windows: dict[str, tuple[datetime, datetime]], counts: dict[str, RequestCount]
) -> None:
    with log.open() as lines:
        for line in lines:
            event = json.loads(line)
            client = client_of(event.get("userAgent", ""))
            if client is None:
                continue
            when = _when(event)
            for name, (start, end) in windows.items():
                if start <= when < end:
                    counts[name].add(client, event.get("verb", "?"), _resource(event))
