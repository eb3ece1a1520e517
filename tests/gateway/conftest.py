"""Fixtures of the gateway tests: the end-to-end ones run the operator on the e2e fleet
(whose fixtures are shared from there), on a cluster with the Gateway API's CRDs, beside
``cango-operator gateway``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.gateway import install_gateway_crds
from tests.chart.conftest import helm, helm_binary  # noqa: F401
from tests.e2e.conftest import e2e_cluster, fleet, start_operator  # noqa: F401
from tests.gateway.harness import StartGateway, gateway_commands


@pytest.fixture(scope="module")
def gateway_cluster(e2e_cluster: LocalCluster) -> LocalCluster:  # noqa: F811
    install_gateway_crds(e2e_cluster)
    return e2e_cluster


@pytest.fixture
def start_gateway(gateway_cluster: LocalCluster, tmp_path: Path) -> Iterator[StartGateway]:
    """``cango-operator gateway`` on the test's cluster; stopped at the end."""
    with gateway_commands(gateway_cluster.kubeconfig, gateway_cluster.env(), tmp_path) as start:
        yield start
