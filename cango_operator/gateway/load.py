"""Spill by measured load: a replica with too many requests in flight is marked degraded
for Envoy, so new requests go to the region's other replicas and, when the whole region is
busy, to the next region's, until it has worked its queue down.

The measure is Envoy's own: the requests this gateway has in flight to each replica
(``rq_active`` of each host in the admin interface's ``/clusters?format=json``, summed over
the clusters that hold the replica). Envoy sends to degraded hosts only when there are
not enough healthy ones in any priority, so a region with some replicas busy keeps most
of its traffic and spills the busy ones' share. A replica is busy from ``spill_at``
requests in flight and stays busy until it is down to half of that, so it does not flap
at the threshold.

Pure: the controller fetches the JSON and applies the result to the model it writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Set
from typing import Any

from cango_operator.gateway.model import GatewayModel


def active_requests(clusters: Mapping[str, Any]) -> dict[str, int]:
    """Requests in flight per replica ("IP:PORT"), from Envoy's ``/clusters?format=json``."""
    active: dict[str, int] = {}
    for cluster in clusters.get("cluster_statuses") or []:
        for host in cluster.get("host_statuses") or []:
            socket = (host.get("address") or {}).get("socket_address") or {}
            if "address" not in socket:
                continue
            address = f"{socket['address']}:{socket.get('port_value', 0)}"
            for stat in host.get("stats") or []:
                if stat.get("name") == "rq_active":
                    active[address] = active.get(address, 0) + int(stat.get("value") or 0)
    return active


def busy_replicas(active: Mapping[str, int], previously: Set[str], spill_at: int) -> frozenset[str]:
    """The replicas to spill from: ``spill_at`` or more in flight, or busy before and
    still above half of it. ``spill_at`` 0: none."""
    if spill_at <= 0:
        return frozenset()
    return frozenset(
        address
        for address, count in active.items()
        if count >= spill_at or (address in previously and count > spill_at // 2)
    )


def with_busy(model: GatewayModel, busy: Set[str]) -> GatewayModel:
    """``model`` with its busy replicas marked."""
    if not busy and not any(b.busy for r in model.routes for b in r.backends):
        return model
    routes = tuple(
        dataclasses.replace(
            route,
            backends=tuple(
                dataclasses.replace(b, busy=f"{b.ip}:{b.port}" in busy) for b in route.backends
            ),
        )
        for route in model.routes
    )
    return dataclasses.replace(model, routes=routes)
