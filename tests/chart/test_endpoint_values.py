"""A tenant's endpoint in the chart: off by default (no --gateway, no rules for pools,
routes or gateways); with gateway.name the operator runs with --gateway and may write
InferencePools and HTTPRoutes and read Gateways, in either mode exactly as documented."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.helm import Helm, find
from tests.chart.rbac import granted, operator_rules
from tests.chart.test_rbac import OPERATOR_SA, RELEASE_NS, WATCHED

ENDPOINT_RESOURCES = {"inferencepools", "httproutes", "gateways"}


def args(objects: list[dict[str, Any]]) -> list[str]:
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def test_off_by_default_no_gateway_flag_and_no_rules(helm: Helm) -> None:
    objects = helm.template({})
    assert not [a for a in args(objects) if a.startswith("--gateway")]
    assert not {g.resource for g in granted(objects, OPERATOR_SA)} & ENDPOINT_RESOURCES


def test_the_gateway_namespace_defaults_to_the_releases(helm: Helm) -> None:
    named = helm.template({"gateway": {"name": "inference"}})
    assert f"--gateway={RELEASE_NS}/inference" in args(named)
    elsewhere = helm.template({"gateway": {"name": "inference", "namespace": "gateway-system"}})
    assert "--gateway=gateway-system/inference" in args(elsewhere)


@pytest.mark.parametrize("watched", [(), WATCHED], ids=["cluster-wide", "restricted"])
def test_with_a_gateway_the_operator_gets_exactly_the_documented_rules(
    helm: Helm, watched: tuple[str, ...]
) -> None:
    values: dict[str, Any] = {"gateway": {"name": "inference"}}
    if watched:
        values["operator"] = {"watchNamespaces": list(watched)}
    expected = operator_rules("cango-operator", RELEASE_NS, watched, gateway=True)
    assert granted(helm.template(values), OPERATOR_SA) == expected


def test_a_gateway_name_that_is_no_object_name_is_refused(helm: Helm) -> None:
    proc = helm.template_text({"gateway": {"name": "Not/AName"}}, check=False)
    assert proc.returncode != 0
    assert "/gateway/name" in proc.stderr, proc.stderr
