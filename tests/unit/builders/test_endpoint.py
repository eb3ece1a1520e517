"""A job's endpoint: an InferencePool of its replicas, an HTTPRoute from the gateway to it,
and the URL the tenant is given. (Their shape against the CRDs themselves is checked on
the API server, in tests/e2e/test_endpoint.py.)"""

from __future__ import annotations

import pytest

from cango_operator.api import EndpointSpec
from cango_operator.builders import (
    GatewayAddress,
    GatewayRef,
    build_http_route,
    build_inference_pool,
    build_service,
    endpoint_url,
    stamped_hash,
)
from cango_operator.builders.httproute import (
    API_KEYS_ANNOTATION,
    CLIENT_REGION_ANNOTATION,
    RATE_LIMIT_ANNOTATION,
)
from cango_operator.builders.inferencepool import ENDPOINT_PICKER_PORT
from cango_operator.builders.labels import JOB_LABEL, MANAGED_BY_LABEL
from tests.unit.builders.factories import job

GATEWAY = GatewayRef("gateway-system", "inference")


class TestInferencePool:
    def test_it_selects_the_jobs_pods_on_the_container_port(self) -> None:
        pool = build_inference_pool(job(container={"port": 8080}, endpoint={"path": "/v1"}))
        assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
        assert pool["kind"] == "InferencePool"
        assert pool["spec"]["selector"] == {"matchLabels": {JOB_LABEL: "llama-chat"}}
        assert pool["spec"]["targetPorts"] == [{"number": 8080}]

    def test_it_names_its_own_endpoint_picker_service_as_the_inference_extension_does(self) -> None:
        pool = build_inference_pool(job(endpoint={}))
        assert pool["spec"]["endpointPickerRef"] == {
            "name": "llama-chat-epp",
            "port": {"number": ENDPOINT_PICKER_PORT},
            "failureMode": "FailOpen",  # the picker advises; the API's default fails closed
        }

    def test_it_is_owned_labelled_and_named_like_the_service(self) -> None:
        j = job(endpoint={})
        meta, service = build_inference_pool(j)["metadata"], build_service(j)["metadata"]
        assert meta["name"] == service["name"]
        assert meta["namespace"] == "tenant-acme"
        assert meta["labels"] == service["labels"]
        assert meta["labels"][MANAGED_BY_LABEL] == "cango-operator"
        (owner,) = meta["ownerReferences"]
        assert (owner["kind"], owner["uid"], owner["controller"]) == (
            "InferenceJob",
            "uid-llama-chat",
            True,
        )

    def test_it_carries_its_hash_which_moves_with_the_port(self) -> None:
        one = build_inference_pool(job(endpoint={}))
        other = build_inference_pool(job(endpoint={}, container={"port": 9000}))
        assert stamped_hash(one) == stamped_hash(build_inference_pool(job(endpoint={})))
        assert stamped_hash(one) != stamped_hash(other)


class TestHttpRoute:
    def test_it_hangs_on_the_gateway_and_sends_the_path_to_the_pool(self) -> None:
        j = job(endpoint={"path": "/v1"})
        route = build_http_route(j, GATEWAY)
        assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert route["kind"] == "HTTPRoute"
        assert route["spec"]["parentRefs"] == [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "namespace": "gateway-system",
                "name": "inference",
            }
        ]
        (rule,) = route["spec"]["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/v1"}}]
        assert rule["backendRefs"] == [
            {
                "group": "inference.networking.k8s.io",
                "kind": "InferencePool",
                "name": build_inference_pool(j)["metadata"]["name"],
            }
        ]

    def test_any_host_without_a_hostname_only_its_own_with_one(self) -> None:
        assert "hostnames" not in build_http_route(job(endpoint={}), GATEWAY)["spec"]
        named = job(endpoint={"hostname": "llama.acme.example.com"})
        assert build_http_route(named, GATEWAY)["spec"]["hostnames"] == ["llama.acme.example.com"]

    def test_the_default_path_is_the_root(self) -> None:
        (rule,) = build_http_route(job(endpoint={}), GATEWAY)["spec"]["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]

    def test_it_tells_the_gateway_the_client_region_keys_and_limit(self) -> None:
        j = job(
            placement={"clientRegion": "north-america"},
            endpoint={
                "apiKeys": {"secretName": "chat-keys"},
                "rateLimit": {"requestsPerSecond": 10, "burst": 25},
            },
        )
        annotations = build_http_route(j, GATEWAY)["metadata"]["annotations"]
        assert annotations[CLIENT_REGION_ANNOTATION] == "north-america"
        assert annotations[API_KEYS_ANNOTATION] == "chat-keys"
        assert annotations[RATE_LIMIT_ANNOTATION] == "10/25"

    def test_an_open_route_without_a_limit_says_nothing_of_them(self) -> None:
        annotations = build_http_route(job(endpoint={}), GATEWAY)["metadata"]["annotations"]
        assert API_KEYS_ANNOTATION not in annotations
        assert RATE_LIMIT_ANNOTATION not in annotations

    def test_the_burst_defaults_to_the_rate(self) -> None:
        j = job(endpoint={"rateLimit": {"requestsPerSecond": 7}})
        annotations = build_http_route(j, GATEWAY)["metadata"]["annotations"]
        assert annotations[RATE_LIMIT_ANNOTATION] == "7/7"

    def test_it_is_owned_by_the_job_and_moves_its_hash_with_the_path(self) -> None:
        route = build_http_route(job(endpoint={"path": "/v1"}), GATEWAY)
        assert route["metadata"]["ownerReferences"][0]["uid"] == "uid-llama-chat"
        moved = build_http_route(job(endpoint={"path": "/v2"}), GATEWAY)
        assert stamped_hash(route) != stamped_hash(moved)

    def test_a_job_without_an_endpoint_has_no_route(self) -> None:
        with pytest.raises(ValueError, match=r"spec\.endpoint is not set"):
            build_http_route(job(), GATEWAY)


class TestGatewayRef:
    def test_namespace_slash_name(self) -> None:
        assert GatewayRef.parse("gateway-system/inference") == GATEWAY
        assert str(GATEWAY) == "gateway-system/inference"

    @pytest.mark.parametrize("text", ["inference", "/inference", "ns/", "a/b/c", ""])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="NAMESPACE/NAME"):
            GatewayRef.parse(text)


class TestEndpointUrl:
    def test_the_gateways_address_and_the_path(self) -> None:
        url = endpoint_url(EndpointSpec(path="/v1"), GatewayAddress("203.0.113.7"))
        assert url == "http://203.0.113.7/v1"

    def test_a_listener_port_other_than_80_is_written(self) -> None:
        url = endpoint_url(EndpointSpec(path="/v1"), GatewayAddress("gw.example.com", 8080))
        assert url == "http://gw.example.com:8080/v1"

    def test_an_https_listener_gives_an_https_url_its_default_port_unwritten(self) -> None:
        spec = EndpointSpec(path="/v1")
        assert endpoint_url(spec, GatewayAddress("gw.example.com", 443, tls=True)) == (
            "https://gw.example.com/v1"
        )
        assert endpoint_url(spec, GatewayAddress("gw.example.com", 8443, tls=True)) == (
            "https://gw.example.com:8443/v1"
        )

    def test_an_ipv6_address_is_bracketed(self) -> None:
        assert (
            endpoint_url(EndpointSpec(), GatewayAddress("2001:db8::7")) == "http://[2001:db8::7]/"
        )

    def test_the_hostname_wins_over_the_address(self) -> None:
        endpoint = EndpointSpec(path="/v1", hostname="llama.acme.example.com")
        url = endpoint_url(endpoint, GatewayAddress("203.0.113.7"))
        assert url == "http://llama.acme.example.com/v1"

    def test_none_while_the_gateway_has_no_address_and_there_is_no_hostname(self) -> None:
        assert endpoint_url(EndpointSpec(path="/v1"), None) is None
        named = EndpointSpec(hostname="llama.acme.example.com")
        assert endpoint_url(named, None) == "http://llama.acme.example.com/"
