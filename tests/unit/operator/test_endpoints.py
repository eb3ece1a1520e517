"""A job's endpoint in the round: with --gateway, a job that asks for one gets the URL in
its status as soon as the URL is known, its InferencePool and HTTPRoute are written once
and not again while unchanged; without --gateway nothing of it exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from cango_operator.api import InferenceJob
from cango_operator.builders import GatewayRef, build_http_route, build_inference_pool
from cango_operator.operator.applier import job_key
from cango_operator.operator.endpoints import EndpointApplier
from cango_operator.operator.kube import KubeWriter
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.projections import (
    gateway_projection,
    http_route_projection,
    inference_pool_projection,
)
from cango_operator.operator.world import World
from tests.unit.builders.factories import job
from tests.unit.operator.fleet import Fleet, decide

GATEWAY = GatewayRef("gateway-system", "inference")


def fleet_with(address: str = "", port: int = 80) -> Fleet:
    fleet = Fleet()
    fleet.site("tx-1")
    fleet.gpu_node("tx-1-n1", "tx-1")
    fleet.gateway("gateway-system", "inference", address=address, port=port)
    fleet.job("chat", endpoint={"path": "/v1"})
    fleet.job("batch")
    return fleet


class TestStatusEndpoint:
    async def test_the_url_is_the_gateways_address_and_the_path(self) -> None:
        rnd = await decide(fleet_with("203.0.113.7"), gateway=GATEWAY)
        assert rnd.jobs["t/chat"].status["endpoint"] == "http://203.0.113.7/v1"

    async def test_a_job_that_asks_for_none_has_none(self) -> None:
        rnd = await decide(fleet_with("203.0.113.7"), gateway=GATEWAY)
        assert rnd.jobs["t/batch"].status["endpoint"] is None

    async def test_without_a_gateway_no_job_has_one(self) -> None:
        rnd = await decide(fleet_with("203.0.113.7"))
        assert rnd.jobs["t/chat"].status["endpoint"] is None

    async def test_none_until_the_gateway_has_an_address_then_written(self) -> None:
        fleet = fleet_with()
        fleet.apply((await decide(fleet, gateway=GATEWAY)).writes())
        assert "endpoint" not in fleet.get("InferenceJob", "chat", "t")["status"]
        fleet.gateway("gateway-system", "inference", address="203.0.113.7", port=8080)
        later = await decide(fleet, gateway=GATEWAY)
        assert later.jobs["t/chat"].write is not None
        fleet.apply(later.writes())
        status = fleet.get("InferenceJob", "chat", "t")["status"]
        assert status["endpoint"] == "http://203.0.113.7:8080/v1"

    async def test_a_hostname_is_the_url_before_the_gateway_has_an_address(self) -> None:
        fleet = fleet_with()
        fleet.job("named", endpoint={"path": "/v1", "hostname": "chat.acme.example.com"})
        rnd = await decide(fleet, gateway=GATEWAY)
        assert rnd.jobs["t/named"].status["endpoint"] == "http://chat.acme.example.com/v1"

    async def test_another_gateway_address_is_not_taken(self) -> None:
        fleet = fleet_with()
        fleet.gateway("elsewhere", "inference", address="198.51.100.1")
        rnd = await decide(fleet, gateway=GATEWAY)
        assert rnd.jobs["t/chat"].status["endpoint"] is None


class TestGatewayProjection:
    @pytest.mark.parametrize(
        ("listeners", "port", "tls"),
        [
            ([("HTTP", 8080), ("HTTPS", 443)], 8080, False),
            ([("TCP", 9000), ("HTTPS", 8443), ("HTTP", 8080)], 8443, True),
        ],
        ids=["http-first", "https-first"],
    )
    def test_the_first_address_and_the_served_listeners_port_and_scheme(
        self, listeners: list[tuple[str, int]], port: int, tls: bool
    ) -> None:
        body = {
            "metadata": {"name": "inference", "namespace": "gateway-system"},
            "spec": {
                "listeners": [
                    {"name": f"l{i}", "protocol": protocol, "port": number}
                    for i, (protocol, number) in enumerate(listeners)
                ]
            },
            "status": {
                "addresses": [
                    {"type": "IPAddress", "value": "203.0.113.7"},
                    {"type": "IPAddress", "value": "203.0.113.8"},
                ]
            },
        }
        entry = gateway_projection(body).entry
        assert entry.key == "gateway-system/inference"
        assert entry.address is not None
        assert (entry.address.host, entry.address.port) == ("203.0.113.7", port)
        assert entry.address.tls is tls

    def test_no_address_yet(self) -> None:
        body = {"metadata": {"name": "g", "namespace": "n"}, "spec": {"listeners": []}}
        assert gateway_projection(body).entry.address is None


class FakeWriter:
    """The writer calls the endpoint applier makes, recorded."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, str]] = []

    async def call(self, kind: str, verb: str, fn: Callable[[], Any]) -> Any:
        return fn()

    def apply_inference_pool(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.applied.append((manifest["kind"], manifest["metadata"]["name"]))
        return manifest

    def apply_http_route(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.applied.append((manifest["kind"], manifest["metadata"]["name"]))
        return manifest


def as_applied(manifest: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server would hold it once applied."""
    meta = {**manifest["metadata"], "uid": "u", "resourceVersion": "7"}
    return {**manifest, "metadata": meta}


def applied_world(j: InferenceJob) -> World:
    """The world once the job's pool and route are applied and watched."""
    world = World()
    pool = inference_pool_projection(as_applied(build_inference_pool(j))).entry
    route = http_route_projection(as_applied(build_http_route(j, GATEWAY))).entry
    assert pool is not None and route is not None
    world.inference_pools[job_key(j)] = [pool]
    world.http_routes[job_key(j)] = [route]
    return world


class TestEndpointApplier:
    async def test_pool_and_route_of_jobs_that_ask_written_once(self) -> None:
        writer = FakeWriter()
        applier = EndpointApplier(cast(KubeWriter, writer), WriteMemory(), GATEWAY)
        asks, asks_not = job(endpoint={"path": "/v1"}), job("batch")
        report = await applier.realize([asks, asks_not], World())
        assert sorted(writer.applied) == [
            ("HTTPRoute", "llama-chat"),
            ("InferencePool", "llama-chat"),
        ]
        assert report.applied == 2

        writer.applied.clear()
        assert (await applier.realize([asks], applied_world(asks))).applied == 0
        assert writer.applied == []

    async def test_a_changed_path_writes_the_route_again_not_the_pool(self) -> None:
        writer = FakeWriter()
        applier = EndpointApplier(cast(KubeWriter, writer), WriteMemory(), GATEWAY)
        before = job(endpoint={"path": "/v1"})
        await applier.realize([job(endpoint={"path": "/v2"})], applied_world(before))
        assert writer.applied == [("HTTPRoute", "llama-chat")]
