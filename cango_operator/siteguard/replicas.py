"""The replicas running at a site, read from the Deployments the operator wrote there.

Each Deployment carries, besides its site and node labels, the annotations the builder
writes for this purpose (``builders/deployment.py``): the job's priority, whether it is
preemptible, the power of one replica (W, before PUE) and the GpuNode. A Deployment
without a replica power draws nothing as far as the guard can tell, so it is never
stopped (and the guard says so once in its log).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cango_operator.builders import names
from cango_operator.builders.labels import (
    GPUNODE_ANNOTATION,
    JOB_LABEL,
    NODE_LABEL,
    PREEMPTIBLE_ANNOTATION,
    PRIORITY_ANNOTATION,
    REPLICA_POWER_ANNOTATION,
    SITE_LABEL,
)
from cango_operator.placement import RunningReplicas, need_w


@dataclass(frozen=True, slots=True)
class SiteDeployment:
    """One Deployment at the site: where it is, and what it runs as the shed order sees it."""

    namespace: str
    name: str
    site: str
    gpunode: str
    replica_power_w: float | None
    running: RunningReplicas

    @property
    def replicas(self) -> int:
        return self.running.replicas


def _number(text: str | None, kind: type[float] | type[int]) -> float | None:
    try:
        return None if text is None else kind(text)
    except ValueError:
        return None


def read_deployment(manifest: Mapping[str, Any], pue: float) -> SiteDeployment:
    """The Deployment ``manifest`` (as the API returns it) at a site of ``pue``."""
    meta = manifest.get("metadata") or {}
    labels: Mapping[str, str] = meta.get("labels") or {}
    notes: Mapping[str, str] = meta.get("annotations") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    gpunode = notes.get(GPUNODE_ANNOTATION) or labels.get(NODE_LABEL, "")
    power = _number(notes.get(REPLICA_POWER_ANNOTATION), float)
    priority = _number(notes.get(PRIORITY_ANNOTATION), int)
    replicas = int((manifest.get("spec") or {}).get("replicas") or 0)
    return SiteDeployment(
        namespace=namespace,
        name=name,
        site=labels.get(SITE_LABEL, ""),
        gpunode=gpunode,
        replica_power_w=power,
        running=RunningReplicas(
            job=f"{namespace}/{labels.get(JOB_LABEL, name)}",
            node=gpunode,
            replicas=replicas,
            need_w=need_w(power, pue) if power is not None else 0,
            priority=int(priority or 0),
            preemptible=notes.get(PREEMPTIBLE_ANNOTATION) == "true",
        ),
    )


def of_site(manifests: Iterable[Mapping[str, Any]], site: str, pue: float) -> list[SiteDeployment]:
    """The Deployments of ``site`` among ``manifests``, sorted by namespace and name."""
    value = names.label_value(site)
    found = [read_deployment(m, pue) for m in manifests]
    return sorted((d for d in found if d.site == value), key=lambda d: (d.namespace, d.name))


def committed_kw(deployments: Iterable[SiteDeployment]) -> float:
    """Power (kW, before PUE) the replicas the site runs now were placed with."""
    return sum((d.replica_power_w or 0.0) * d.replicas for d in deployments) / 1000
