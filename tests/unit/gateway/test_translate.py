"""From the API objects to what the gateway serves: only routes on our Gateway, from the
namespaces its listener admits, to the ready pods of their pool, each with its site's
region; keys from the Secret, closed (never open) when it cannot be read; the job's
limit; the listener's port."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from cango_operator.builders import GatewayRef, build_http_route, build_inference_pool
from cango_operator.builders.httproute import RATE_LIMIT_ANNOTATION
from cango_operator.gateway.model import ApiKey, Backend, Certificate, Limit, Picker
from cango_operator.gateway.translate import (
    Observed,
    certificate_ref,
    decode_secret,
    picker_address,
    secret_refs,
    translate,
)
from tests.unit.builders.factories import job

GATEWAY = GatewayRef("tenant-acme", "inference")
REGIONS = {"tx-1": "north-america", "de-1": "europe"}


def gateway_object(port: int = 8080, allowed: str | None = None) -> dict[str, Any]:
    listener: dict[str, Any] = {"name": "http", "protocol": "HTTP", "port": port}
    if allowed:
        listener["allowedRoutes"] = {"namespaces": {"from": allowed}}
    return {
        "metadata": {"namespace": GATEWAY.namespace, "name": GATEWAY.name},
        "spec": {"gatewayClassName": "cango", "listeners": [listener]},
    }


def pod(name: str, ip: str, site: str, ready: bool = True, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "tenant-acme",
            "name": name,
            "labels": {"compute.cango.io/job": "llama-chat", "compute.cango.io/site": site},
            **meta,
        },
        "status": {
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def observed(endpoint: dict[str, Any] | None = None, **changes: Any) -> Observed:
    j = job(placement={"clientRegion": "north-america"}, endpoint=endpoint or {"path": "/v1"})
    pool = build_inference_pool(j)
    fields: dict[str, Any] = {
        "gateway": gateway_object(),
        "routes": [build_http_route(j, GATEWAY)],
        "pools": {("tenant-acme", pool["metadata"]["name"]): pool},
        "pods": [pod("a", "127.1.0.2", "tx-1"), pod("b", "127.2.0.2", "de-1")],
        "site_regions": REGIONS,
    }
    fields.update(changes)
    return Observed(**fields)


def secret(**keys: str) -> dict[str, str]:
    return keys


class TestTheGateway:
    def test_it_listens_at_its_http_listeners_port(self) -> None:
        model = translate(observed(gateway=gateway_object(port=8443)), GATEWAY, "0.0.0.0").model
        assert model is not None
        assert (model.listener.address, model.listener.port) == ("0.0.0.0", 8443)

    def test_a_missing_gateway_serves_nothing_and_says_so(self) -> None:
        result = translate(observed(gateway=None), GATEWAY, "127.0.0.1")
        assert result.model is None
        assert result.problem == "the Gateway tenant-acme/inference does not exist"

    def test_a_gateway_without_an_http_or_https_listener_is_not_served(self) -> None:
        tcp = gateway_object()
        tcp["spec"]["listeners"][0]["protocol"] = "TCP"
        result = translate(observed(gateway=tcp), GATEWAY, "127.0.0.1")
        assert result.model is None
        assert "no HTTP or HTTPS listener" in (result.problem or "")


class TestRoutes:
    def test_a_route_goes_to_the_ready_pods_of_its_pool_with_their_regions(self) -> None:
        pods = [
            pod("a", "127.1.0.2", "tx-1"),
            pod("b", "127.2.0.2", "de-1"),
            pod("c", "127.1.0.3", "tx-1", ready=False),
            pod("d", "127.1.0.4", "tx-1", deletionTimestamp="2026-12-05T00:00:00Z"),
            {**pod("e", "127.1.0.5", "tx-1"), "metadata": {"namespace": "other", "name": "e"}},
        ]
        model = translate(observed(pods=pods), GATEWAY, "127.0.0.1").model
        assert model is not None
        (route,) = model.routes
        assert route.path == "/v1"
        assert route.client_region == "north-america"
        assert route.backends == (
            Backend("b", "127.2.0.2", 8000, "de-1", "europe"),
            Backend("a", "127.1.0.2", 8000, "tx-1", "north-america"),
        )
        assert route.regions() == ["europe", "north-america"]

    def test_a_regional_gateway_prefers_its_own_region_over_the_jobs(self) -> None:
        model = translate(observed(), GATEWAY, "127.0.0.1", region="europe").model
        assert model is not None
        assert model.routes[0].client_region == "europe"

    def test_a_route_on_another_gateway_is_not_ours(self) -> None:
        other = GatewayRef("tenant-acme", "elsewhere")
        ours = translate(observed(), other, "127.0.0.1")
        assert ours.model is not None and ours.model.routes == ()
        assert ours.verdicts == {}

    def test_routes_from_other_namespaces_need_the_listener_to_admit_them(self) -> None:
        elsewhere = GatewayRef("gateway-system", "inference")
        gw = gateway_object()
        gw["metadata"]["namespace"] = "gateway-system"
        j = job(endpoint={"path": "/v1"})
        route = build_http_route(j, elsewhere)
        refused = translate(observed(gateway=gw, routes=[route]), elsewhere, "127.0.0.1")
        assert refused.model is not None and refused.model.routes == ()
        verdict = refused.verdicts[("tenant-acme", "llama-chat")]
        assert (verdict.accepted, verdict.accepted_reason) == (False, "NotAllowedByListeners")
        admitted = gateway_object(allowed="All")
        admitted["metadata"]["namespace"] = "gateway-system"
        served = translate(observed(gateway=admitted, routes=[route]), elsewhere, "127.0.0.1")
        assert served.model is not None and len(served.model.routes) == 1

    def test_a_route_to_a_missing_pool_is_not_resolved(self) -> None:
        result = translate(observed(pools={}), GATEWAY, "127.0.0.1")
        assert result.model is not None and result.model.routes == ()
        verdict = result.verdicts[("tenant-acme", "llama-chat")]
        assert (verdict.resolved, verdict.resolved_reason) == (False, "BackendNotFound")


KEYED = {"path": "/v1", "apiKeys": {"secretName": "chat-keys"}}


class TestKeysAndLimits:
    def test_keys_come_from_the_secret_one_client_per_entry(self) -> None:
        secrets = {("tenant-acme", "chat-keys"): secret(alice="sk-a", bob="sk-b", empty="")}
        model = translate(observed(KEYED, secrets=secrets), GATEWAY, "127.0.0.1").model
        assert model is not None
        (route,) = model.routes
        assert route.keys == (ApiKey("alice", "sk-a"), ApiKey("bob", "sk-b"))
        assert route.closed is None

    def test_a_missing_secret_closes_the_route_never_opens_it(self) -> None:
        secrets = {("tenant-acme", "chat-keys"): None}
        result = translate(observed(KEYED, secrets=secrets), GATEWAY, "127.0.0.1")
        assert result.model is not None
        (route,) = result.model.routes
        assert route.keys == ()
        assert (
            route.closed is not None
            and "Secret chat-keys holding the API keys is missing" in route.closed
        )
        verdict = result.verdicts[("tenant-acme", "llama-chat")]
        assert (verdict.resolved, verdict.resolved_reason) == (False, "InvalidKeys")

    def test_a_secret_without_keys_closes_the_route_too(self) -> None:
        secrets = {("tenant-acme", "chat-keys"): secret(alice="")}
        model = translate(observed(KEYED, secrets=secrets), GATEWAY, "127.0.0.1").model
        assert model is not None
        assert "holds no API key" in (model.routes[0].closed or "")

    def test_the_controller_reads_only_the_secrets_our_routes_name(self) -> None:
        routes = observed(KEYED).routes
        assert secret_refs(routes, GATEWAY) == {("tenant-acme", "chat-keys")}
        assert secret_refs(routes, GatewayRef("tenant-acme", "other")) == set()
        assert secret_refs(observed().routes, GATEWAY) == set()

    def test_secret_values_are_decoded_and_trimmed(self) -> None:
        data = {"alice": base64.b64encode(b"sk-a\n").decode(), "bad": "%%%"}
        assert decode_secret({"data": data}) == {"alice": "sk-a"}

    def test_the_limit_is_the_jobs(self) -> None:
        endpoint = {"path": "/v1", "rateLimit": {"requestsPerSecond": 5, "burst": 9}}
        model = translate(observed(endpoint), GATEWAY, "127.0.0.1").model
        assert model is not None
        assert model.routes[0].limit == Limit(per_second=5, burst=9)

    def test_a_limit_that_does_not_parse_refuses_the_route(self) -> None:
        (route,) = observed().routes
        broken = {
            **route,
            "metadata": {
                **route["metadata"],
                "annotations": {**route["metadata"]["annotations"], RATE_LIMIT_ANNOTATION: "x"},
            },
        }
        result = translate(observed(routes=[broken]), GATEWAY, "127.0.0.1")
        assert result.model is not None and result.model.routes == ()
        verdict = result.verdicts[("tenant-acme", "llama-chat")]
        assert (verdict.accepted, verdict.accepted_reason) == (False, "UnsupportedValue")


class TestEndpointPickers:
    def test_none_is_asked_unless_the_gateway_is_told_where_pickers_answer(self) -> None:
        model = translate(observed(), GATEWAY, "127.0.0.1").model
        assert model is not None
        assert [r.picker for r in model.routes] == [None]

    def test_the_pools_picker_is_its_service_in_the_clusters_dns_by_default(self) -> None:
        template = "{name}.{namespace}.svc:{port}"
        model = translate(observed(), GATEWAY, "127.0.0.1", pickers=template).model
        assert model is not None
        assert [r.picker for r in model.routes] == [Picker("llama-chat-epp.tenant-acme.svc", 9002)]

    def test_a_fixed_address_serves_every_pool(self) -> None:
        model = translate(observed(), GATEWAY, "127.0.0.1", pickers="127.0.0.1:19002").model
        assert model is not None
        assert [r.picker for r in model.routes] == [Picker("127.0.0.1", 19002)]

    @pytest.mark.parametrize(
        ("mode", "fails_open"), [("FailOpen", True), ("FailClose", False), (None, False)]
    )
    def test_the_picker_fails_open_only_when_its_pool_says_so(
        self, mode: str | None, fails_open: bool
    ) -> None:
        o = observed()
        ((key, pool),) = o.pools.items()
        ref = {k: v for k, v in pool["spec"]["endpointPickerRef"].items() if k != "failureMode"}
        if mode is not None:
            ref["failureMode"] = mode
        changed = {**pool, "spec": {**pool["spec"], "endpointPickerRef": ref}}
        model = translate(
            observed(pools={key: changed}), GATEWAY, "127.0.0.1", pickers="127.0.0.1:19002"
        ).model
        assert model is not None
        assert [r.picker for r in model.routes] == [Picker("127.0.0.1", 19002, fails_open)]

    def test_a_pool_without_a_picker_ref_is_served_without_one(self) -> None:
        o = observed()
        ((key, pool),) = o.pools.items()
        bare = {**pool, "spec": {k: v for k, v in pool["spec"].items() if k != "endpointPickerRef"}}
        model = translate(
            observed(pools={key: bare}), GATEWAY, "127.0.0.1", pickers="127.0.0.1:19002"
        ).model
        assert model is not None
        assert [r.picker for r in model.routes] == [None]

    @pytest.mark.parametrize(
        "template", ["{name}.{namespace}.svc", "{name}:port", "{pool}:9002", "host:99999"]
    )
    def test_an_address_that_is_no_host_and_port_is_refused(self, template: str) -> None:
        with pytest.raises((ValueError, KeyError)):
            picker_address(template, "chat-epp", "tenant-acme", 9002)


def https_gateway(certificate_refs: list[dict[str, str]]) -> dict[str, Any]:
    gateway = gateway_object(port=8443)
    listener = gateway["spec"]["listeners"][0]
    listener["protocol"] = "HTTPS"
    listener["tls"] = {"mode": "Terminate", "certificateRefs": certificate_refs}
    return gateway


CERT = ("tenant-acme", "inference-tls")
PEM = {"tls.crt": "-----BEGIN CERTIFICATE-----", "tls.key": "-----BEGIN PRIVATE KEY-----"}


class TestHttps:
    def test_an_https_listener_is_served_with_its_secrets_certificate(self) -> None:
        gateway = https_gateway([{"name": "inference-tls"}])
        o = observed(gateway=gateway, secrets={CERT: PEM})
        model = translate(o, GATEWAY, "0.0.0.0").model
        assert model is not None
        assert model.listener.port == 8443
        assert model.listener.tls == Certificate(PEM["tls.crt"], PEM["tls.key"])
        assert certificate_ref(gateway) == CERT

    @pytest.mark.parametrize(
        ("refs", "secrets", "problem"),
        [
            ([{"name": "inference-tls"}], {}, "is missing or holds no tls.crt and tls.key"),
            ([{"name": "inference-tls"}], {CERT: {"tls.crt": "x"}}, "holds no tls.crt and"),
            ([], {}, "names no certificate"),
            ([{"name": "c", "namespace": "other"}], {}, "is in another namespace"),
        ],
        ids=["missing", "no-key", "no-ref", "other-namespace"],
    )
    def test_without_its_certificate_nothing_is_served_not_even_in_the_clear(
        self, refs: list[dict[str, str]], secrets: dict[Any, Any], problem: str
    ) -> None:
        o = observed(gateway=https_gateway(refs), secrets=secrets)
        result = translate(o, GATEWAY, "0.0.0.0")
        assert result.model is None
        assert problem in (result.problem or "")

    def test_an_http_listener_needs_no_certificate(self) -> None:
        assert certificate_ref(gateway_object()) is None
