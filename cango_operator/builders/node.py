"""What a Kubernetes Node should carry for its GpuNode: site and model labels, and the
``compute.cango.io/unhealthy:NoSchedule`` taint while the GpuNode must take no new work.

The patch is computed against the Node as observed: only our labels and our taint are
touched, every other taint (the node lifecycle controller's, the cluster admin's) stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cango_operator.api import GpuNode, GpuNodePhase
from cango_operator.builders.labels import GPU_MODEL_LABEL, SITE_LABEL, UNHEALTHY_TAINT_KEY

#: GpuNode phases in which the Node is tainted.
TAINTED_PHASES = frozenset({GpuNodePhase.UNHEALTHY, GpuNodePhase.UNKNOWN})


def unhealthy_reason(gpunode: GpuNode, *, stale: bool) -> str | None:
    """Why the node must take no new work, or None when it may."""
    if gpunode.spec.unschedulable:
        return "Cordoned"
    if stale:
        return "HeartbeatStale"
    phase = gpunode.status.phase if gpunode.status is not None else None
    if phase in TAINTED_PHASES:
        return str(phase)
    return None


def node_labels(gpunode: GpuNode) -> dict[str, str]:
    """The labels a GpuNode puts on its Node."""
    return {SITE_LABEL: gpunode.spec.site, GPU_MODEL_LABEL: gpunode.spec.gpu.model}


def unhealthy_taint(reason: str) -> dict[str, str]:
    return {"key": UNHEALTHY_TAINT_KEY, "value": reason, "effect": "NoSchedule"}


def build_node_patch(
    gpunode: GpuNode,
    *,
    labels: Mapping[str, str],
    taints: Sequence[Mapping[str, Any]],
    resource_version: str | None,
    stale: bool = False,
) -> dict[str, Any] | None:
    """A merge patch bringing the Node in step with ``gpunode``; None when it already is.

    ``labels`` and ``taints`` are the Node's current ones. Taints are a list that a merge
    patch replaces whole, so the patch carries ``resourceVersion``: if someone else
    changed the Node meanwhile, the API server refuses it (409) and the next round retries
    from a fresh view instead of overwriting their taint.
    """
    patch: dict[str, Any] = {}
    wanted_labels = node_labels(gpunode)
    changed_labels = {k: v for k, v in wanted_labels.items() if labels.get(k) != v}
    if changed_labels:
        patch["metadata"] = {"labels": changed_labels}

    reason = unhealthy_reason(gpunode, stale=stale)
    others = [dict(t) for t in taints if t.get("key") != UNHEALTHY_TAINT_KEY]
    ours = [dict(t) for t in taints if t.get("key") == UNHEALTHY_TAINT_KEY]
    wanted_ours = [unhealthy_taint(reason)] if reason is not None else []
    if _taint_keys(ours) != _taint_keys(wanted_ours):
        patch.setdefault("spec", {})["taints"] = others + wanted_ours
        if resource_version is not None:
            patch.setdefault("metadata", {})["resourceVersion"] = resource_version
    return patch or None


def _taint_keys(taints: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted(
        (str(t.get("key")), str(t.get("value") or ""), str(t.get("effect"))) for t in taints
    )
