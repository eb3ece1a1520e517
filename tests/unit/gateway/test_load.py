"""Spill by measured load: a replica with too many requests in flight (as Envoy counts
them, over every cluster that holds it) is marked degraded, and stays so until it is down
to half; Envoy then sends new requests to the replicas that are not."""

from __future__ import annotations

from typing import Any

from cango_operator.gateway import envoy
from cango_operator.gateway.load import active_requests, busy_replicas, with_busy
from cango_operator.gateway.model import Backend, GatewayModel, Listener, Route

A, B = "127.1.0.2:8000", "127.1.0.3:8000"


def host(address: str, active: int) -> dict[str, Any]:
    ip, port = address.split(":")
    return {
        "address": {"socket_address": {"address": ip, "port_value": int(port)}},
        "stats": [
            {"name": "cx_active", "type": "GAUGE", "value": "9"},
            {"name": "rq_active", "type": "GAUGE", "value": str(active)},
        ],
    }


def test_in_flight_requests_are_summed_over_the_clusters_holding_a_replica() -> None:
    clusters = {
        "cluster_statuses": [
            {"name": "t/chat/v1/na", "host_statuses": [host(A, 3), host(B, 1)]},
            {"name": "t/chat/v1/*", "host_statuses": [host(A, 2)]},
            {"name": "cango_picker_x", "host_statuses": [{"address": {"pipe": {"path": "/x"}}}]},
        ]
    }
    assert active_requests(clusters) == {A: 5, B: 1}


def test_busy_from_the_threshold_until_down_to_half_of_it() -> None:
    assert busy_replicas({A: 8, B: 7}, frozenset(), spill_at=8) == {A}
    # Still above half: stays busy; a newcomer at the same count is not.
    assert busy_replicas({A: 5, B: 5}, frozenset({A}), spill_at=8) == {A}
    assert busy_replicas({A: 4, B: 5}, frozenset({A}), spill_at=8) == frozenset()


def test_no_spill_at_zero() -> None:
    assert busy_replicas({A: 1000}, frozenset({A}), spill_at=0) == frozenset()


def test_a_busy_replica_is_degraded_for_envoy_and_healthy_again_after() -> None:
    route = Route(
        namespace="t",
        name="chat",
        path="/v1",
        client_region="na",
        backends=(
            Backend("a", "127.1.0.2", 8000, "tx-1", "na"),
            Backend("b", "127.1.0.3", 8000, "tx-1", "na"),
        ),
    )
    model = GatewayModel(Listener("127.0.0.1", 8080), (route,))

    def statuses(m: GatewayModel) -> dict[str, str]:
        eds = envoy.files(m, "/tmp/gw")[envoy.eds_file(envoy.cluster_name(route, "na"))]
        (assignment,) = eds["resources"]
        return {
            e["endpoint"]["hostname"]: e.get("health_status", "-")
            for locality in assignment["endpoints"]
            for e in locality["lb_endpoints"]
        }

    busy = with_busy(model, {A})
    assert statuses(busy) == {"a": "DEGRADED", "b": "-"}
    assert statuses(with_busy(busy, frozenset())) == {"a": "-", "b": "-"}
    assert with_busy(model, frozenset()) is model
