"""A Site's aggregate status: its nodes, GPUs, GPU draw and the power promised to work.

The power feed owns ``status.phase`` and the feed's numbers; these are the fields the
operator adds from its own view of nodes and placements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cango_operator.api import GpuNode


@dataclass(frozen=True)
class NodeView:
    """One GpuNode as the round sees it: usable for new work or not, GPUs given out."""

    gpunode: GpuNode
    usable: bool
    allocated_gpus: int
    healthy_gpus: int


def site_aggregates(
    nodes: Sequence[NodeView],
    *,
    pue: float,
    committed_w: float,
    available_kw: float | None,
    mining_target_kw: float | None,
) -> dict[str, Any]:
    """``status.nodes``, ``status.gpus`` and the operator's part of ``status.power``."""
    draw_w = sum((n.gpunode.status.power_w or 0.0) for n in nodes if n.gpunode.status is not None)
    power: dict[str, Any] = {
        "gpuDrawKw": _kw(draw_w * pue),
        "committedKw": _kw(committed_w * pue),
    }
    if available_kw is not None:
        power["availableKw"] = round(max(0.0, available_kw), 3)
    if mining_target_kw is not None:
        power["miningTargetKw"] = round(max(0.0, mining_target_kw), 3)
    allocated = sum(n.allocated_gpus for n in nodes)
    free = sum(max(0, n.healthy_gpus - n.allocated_gpus) for n in nodes if n.usable)
    return {
        "nodes": {"total": len(nodes), "ready": sum(1 for n in nodes if n.usable)},
        "gpus": {
            "total": sum(n.gpunode.spec.gpu.count for n in nodes),
            "allocated": allocated,
            "free": free,
        },
        "power": power,
    }


def _kw(watts: float) -> float:
    """Watts to kW, rounded to 0.001 kW so float noise never causes a status write."""
    return round(max(0.0, watts) / 1000.0, 3)


def group_by_site(views: Sequence[NodeView]) -> Mapping[str, list[NodeView]]:
    out: dict[str, list[NodeView]] = {}
    for view in views:
        out.setdefault(view.gpunode.spec.site, []).append(view)
    return out
