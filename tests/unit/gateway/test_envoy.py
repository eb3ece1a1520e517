"""The endpoint picker in Envoy's configuration: asked only on routes whose pool has one,
with the region's replicas as the only candidates, never given a client's steering
header; its choice followed by every route cluster, Envoy's own choice otherwise."""

from __future__ import annotations

from typing import Any

from cango_operator.gateway import envoy
from cango_operator.gateway.model import Backend, GatewayModel, Listener, Picker, Route

PICKER = Picker("127.0.0.1", 19002)
NA, EU = "north-america", "europe"
BACKENDS = (
    Backend("a", "127.1.0.2", 8000, "tx-1", NA),
    Backend("b", "127.1.0.3", 8000, "tx-2", NA),
    Backend("c", "127.2.0.2", 8000, "de-1", EU),
)


def route(**changes: Any) -> Route:
    fields: dict[str, Any] = {
        "namespace": "tenant-acme",
        "name": "chat",
        "path": "/v1",
        "client_region": NA,
        "backends": BACKENDS,
        "picker": PICKER,
    }
    fields.update(changes)
    return Route(**fields)


def files(*routes: Route) -> dict[str, dict[str, Any]]:
    return envoy.files(GatewayModel(Listener("127.0.0.1", 8080), routes), "/tmp/gw")


def listener(config: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (found,) = config["lds.yaml"]["resources"]
    return dict(found)


def manager(config: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return dict(listener(config)["filter_chains"][0]["filters"][0]["typed_config"])


def entries(config: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (host,) = manager(config)["route_config"]["virtual_hosts"]
    return {e["name"]: e for e in host["routes"]}


def subset(entry: dict[str, Any]) -> list[str] | None:
    hint = entry["typed_per_filter_config"].get(envoy.SET_METADATA_FILTER)
    if hint is None:
        return None
    (metadata,) = hint["metadata"]
    assert metadata["metadata_namespace"] == envoy.SUBSET_NAMESPACE
    return list(metadata["value"][envoy.SUBSET_KEY])


def asks_picker(entry: dict[str, Any]) -> bool:
    return envoy.EXT_PROC_FILTER in entry["typed_per_filter_config"]


class TestThePicker:
    def test_each_region_asks_it_with_its_own_replicas_as_the_candidates(self) -> None:
        routes = entries(files(route()))
        assert subset(routes["tenant-acme/chat/north-america"]) == [
            "127.1.0.2:8000",
            "127.1.0.3:8000",
        ]
        assert subset(routes["tenant-acme/chat/europe"]) == ["127.2.0.2:8000"]
        # No region named: the job's clientRegion's.
        assert subset(routes["tenant-acme/chat"]) == ["127.1.0.2:8000", "127.1.0.3:8000"]
        assert all(asks_picker(e) for name, e in routes.items() if name != "not-found")

    def test_a_region_without_replicas_goes_straight_to_envoys_choice(self) -> None:
        routes = entries(files(route(backends=BACKENDS[2:])))
        assert not asks_picker(routes["tenant-acme/chat/north-america"])
        assert asks_picker(routes["tenant-acme/chat/europe"])

    def test_it_is_off_by_default_and_never_asked_for_a_404(self) -> None:
        config = files(route())
        filters = {f["name"]: f for f in manager(config)["http_filters"]}
        assert filters[envoy.EXT_PROC_FILTER]["disabled"] is True
        assert not asks_picker(entries(config)["not-found"])
        names = list(filters)
        # After the key and the limit: a refused request is never picked for.
        assert names.index(envoy.EXT_PROC_FILTER) > names.index(envoy.RATE_LIMIT_FILTER)

    def test_it_advises_and_is_never_the_clients_to_steer(self) -> None:
        ext_proc = {f["name"]: f for f in manager(files(route()))["http_filters"]}[
            envoy.EXT_PROC_FILTER
        ]["typed_config"]
        assert ext_proc["failure_mode_allow"] is True
        assert ext_proc["disable_immediate_response"] is True
        assert ext_proc["forward_rules"]["disallowed_headers"]["patterns"] == [
            {"exact": envoy.PICKER_TEST_HEADER}
        ]

    def test_each_route_fails_open_or_closed_as_its_pool_says(self) -> None:
        closed = Picker(PICKER.host, PICKER.port, fail_open=False)
        config = files(route(), route(name="other", path="/v2", picker=closed))
        modes = {
            name: entry["typed_per_filter_config"][envoy.EXT_PROC_FILTER]["config"]["overrides"][
                "failure_mode_allow"
            ]
            for name, entry in entries(config).items()
            if asks_picker(entry)
        }
        assert modes and {n.split("/")[1]: m for n, m in modes.items()} == {
            "chat": True,
            "other": False,
        }
        # One picker cluster for the one address.
        pickers = [
            c for c in config["cds.yaml"]["resources"] if c["name"].startswith("cango_picker_")
        ]
        assert len(pickers) == 1

    def test_routes_without_a_picker_add_no_filter_and_no_cluster(self) -> None:
        config = files(route(picker=None))
        names = [f["name"] for f in manager(config)["http_filters"]]
        assert envoy.EXT_PROC_FILTER not in names
        assert envoy.SET_METADATA_FILTER not in names
        clusters = [c["name"] for c in config["cds.yaml"]["resources"]]
        assert not [c for c in clusters if c.startswith("cango_picker_")]

    def test_a_picker_by_ip_is_static_and_by_name_resolved_through_dns(self) -> None:
        by_name = Picker("chat-epp.tenant-acme.svc", 9002)
        config = files(route(), route(name="other", path="/v2", picker=by_name))
        kinds = {
            c["name"]: c["type"]
            for c in config["cds.yaml"]["resources"]
            if c["name"].startswith("cango_picker_")
        }
        assert kinds == {
            envoy.picker_cluster_name(PICKER): "STATIC",
            envoy.picker_cluster_name(by_name): "STRICT_DNS",
        }


def test_every_route_cluster_follows_a_pick_and_else_picks_by_least_requests() -> None:
    for cluster in files(route(picker=None))["cds.yaml"]["resources"]:
        (policy,) = cluster["load_balancing_policy"]["policies"]
        config = policy["typed_extension_config"]
        assert config["name"] == "envoy.load_balancing_policies.override_host"
        (source,) = config["typed_config"]["override_host_sources"]
        assert source["metadata"] == {
            "key": envoy.PICK_NAMESPACE,
            "path": [{"key": envoy.PICK_KEY}],
        }
        (fallback,) = config["typed_config"]["fallback_policy"]["policies"]
        assert fallback["typed_extension_config"]["name"] == (
            "envoy.load_balancing_policies.least_request"
        )


def test_a_picker_gone_is_ejected_at_its_first_refusal_and_never_tried_blindly() -> None:
    (picker,) = [
        c
        for c in files(route())["cds.yaml"]["resources"]
        if c["name"] == envoy.picker_cluster_name(PICKER)
    ]
    assert picker["outlier_detection"]["consecutive_local_origin_failure"] == 1
    assert picker["common_lb_config"]["healthy_panic_threshold"] == {"value": 0}
    (check,) = picker["health_checks"]
    assert check["interval"] == "1s"


def test_with_no_route_a_request_gets_404_not_the_key_checks_401() -> None:
    config = envoy.files(GatewayModel(Listener("127.0.0.1", 8080), ()), "/tmp/gw")
    (host,) = manager(config)["route_config"]["virtual_hosts"]
    assert host["domains"] == ["*"]
    (not_found,) = host["routes"]
    assert not_found["direct_response"]["status"] == 404
    assert not_found["typed_per_filter_config"][envoy.API_KEY_FILTER]["disabled"] is True
