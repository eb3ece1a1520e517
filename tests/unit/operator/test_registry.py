"""The kopf registry: indexes and change handlers for every watched kind, peering only
when peering is on, and nothing that would make kopf write to the user's objects."""

from __future__ import annotations

from typing import Any

from cango_operator.builders import GatewayRef
from cango_operator.operator import build_registry
from cango_operator.operator.options import OperatorOptions


def _login(**_: Any) -> None:
    return None


def _plurals(handlers: Any) -> set[str]:
    return {h.selector.plural or h.selector.any_name for h in handlers}


class TestRegistry:
    def test_every_kind_is_indexed_and_watched(self) -> None:
        registry = build_registry(OperatorOptions(peering=None), _login)
        kinds = {
            "inferencejobs",
            "sites",
            "gpunodes",
            "nodes",
            "deployments",
            "services",
            "networkpolicies",
            "namespaces",  # their tenant labels
        }
        assert _plurals(registry._indexing.get_all_handlers()) == kinds
        assert _plurals(registry._watching.get_all_handlers()) == kinds

    def test_endpoints_and_gateways_are_watched_only_with_a_gateway(self) -> None:
        endpoint_kinds = {"inferencepools", "httproutes", "gateways"}
        routed = build_registry(
            OperatorOptions(peering=None, gateway=GatewayRef("g", "gw")), _login
        )
        plain = build_registry(OperatorOptions(peering=None), _login)
        assert endpoint_kinds <= _plurals(routed._indexing.get_all_handlers())
        assert endpoint_kinds <= _plurals(routed._watching.get_all_handlers())
        assert not endpoint_kinds & _plurals(plain._watching.get_all_handlers())

    def test_an_operator_limited_to_namespaces_also_follows_the_namespaces(self) -> None:
        limited = build_registry(OperatorOptions(peering=None, namespaces=("tenant-*",)), _login)
        assert "namespaces" in _plurals(limited._indexing.get_all_handlers())
        assert "namespaces" in _plurals(limited._watching.get_all_handlers())

    def test_no_handler_needs_a_finalizer_or_progress_marks(self) -> None:
        registry = build_registry(OperatorOptions(), _login)
        assert not list(registry._changing.get_all_handlers())
        assert not list(registry._spawning.get_all_handlers())

    def test_peering_keepalives_are_watched_only_with_peering(self) -> None:
        with_peers = build_registry(OperatorOptions(peering="p"), _login)
        alone = build_registry(OperatorOptions(peering=None), _login)
        namespaced = build_registry(OperatorOptions(peering="p", namespaces=("t",)), _login)
        assert "clusterkopfpeerings" in _plurals(with_peers._watching.get_all_handlers())
        assert "kopfpeerings" in _plurals(namespaced._watching.get_all_handlers())
        assert not {"clusterkopfpeerings", "kopfpeerings"} & _plurals(
            alone._watching.get_all_handlers()
        )
