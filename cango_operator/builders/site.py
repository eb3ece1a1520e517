"""A Site's aggregate status: its nodes, GPUs, GPU draw and the power promised to work.

The power feed owns ``status.phase`` and the feed's numbers; these are the fields the
operator adds from its own view of nodes and placements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cango_operator.api import GpuNode, Site
from cango_operator.api.conditions import Observation
from cango_operator.builders.meter import COND_METER_RECONCILED
from cango_operator.builders.mining import COND_MINERS_AT_TARGET

#: A federated site's managed cluster is reachable from the hub (its agent keeps its lease).
COND_CLUSTER_REACHABLE = "ClusterReachable"
#: Every GpuNode of the site reports its heartbeat.
COND_NODES_REPORTING = "NodesReporting"
#: The condition types the planning round writes on a Site (the power feed writes others).
ROUND_SITE_CONDITIONS = (
    COND_CLUSTER_REACHABLE,
    COND_NODES_REPORTING,
    COND_METER_RECONCILED,
    COND_MINERS_AT_TARGET,
)


@dataclass(frozen=True)
class Reachability:
    """A federated site's cluster as the hub sees it: OCM's availability and since when."""

    cluster: str
    available: str  # "True", "False", "Unknown", or "" (not joined or accepted yet)
    since: datetime | None = None
    message: str = ""

    @property
    def reachable(self) -> bool:
        return self.available == "True"


def reachability_observation(reach: Reachability) -> Observation:
    """``ClusterReachable``: lease kept (True), lapsed (the link or the agent is down),
    the cluster reported unavailable, or not joined yet."""
    if reach.reachable:
        reason, text = "LeaseRenewed", f"cluster {reach.cluster} keeps its lease on the hub"
    elif reach.available == "Unknown":
        reason = "LeaseExpired"
        text = f"cluster {reach.cluster} has not renewed its lease: the link or its agent is down"
    elif reach.available == "False":
        reason, text = "ClusterUnavailable", f"cluster {reach.cluster} reports itself unavailable"
    else:
        reason, text = (
            "NotJoined",
            f"cluster {reach.cluster} has not joined the hub (or is not accepted)",
        )
    if reach.message and not reach.reachable:
        text = f"{text}; {reach.message}"
    return Observation(COND_CLUSTER_REACHABLE, reach.reachable, reason, text, reach.since)


def heartbeat_observation(total: int, stale: int, stale_after_s: float) -> Observation:
    """``NodesReporting``: every GpuNode's heartbeat is fresh, or how many are stale."""
    if stale == 0:
        return Observation(
            COND_NODES_REPORTING,
            True,
            "HeartbeatsFresh",
            f"no heartbeat of its {total} GpuNodes is older than {stale_after_s:g} s",
        )
    return Observation(
        COND_NODES_REPORTING,
        False,
        "HeartbeatsStale",
        f"{stale} of {total} GpuNodes have not reported for more than {stale_after_s:g} s",
    )


@dataclass(frozen=True)
class NodeView:
    """One GpuNode as the round sees it: usable for new work or not, GPUs given out."""

    gpunode: GpuNode
    usable: bool
    allocated_gpus: int
    healthy_gpus: int


def with_round_conditions(
    stored: Sequence[Mapping[str, Any]], own: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """A Site's conditions as both of their writers put them: the power feed's (and any
    other writer's) first, in their order, then the round's. The feed runner writes the
    round's last copy along with its own, so neither erases the other's."""
    return [dict(c) for c in stored if c.get("type") not in ROUND_SITE_CONDITIONS] + [
        dict(c) for c in own
    ]


def site_latency(site: Site, region: str | None) -> int | None:
    """Measured latency to ``region`` when the site reports one, else the declared one."""
    return None if region is None else site.latency_ms_now().get(region)


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
