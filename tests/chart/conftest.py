"""Fixtures of the chart tests: the helm binary (built with the control plane)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cango_operator.devcluster import LocalCluster, ensure_bin_dir, find_tool
from tests.chart.helm import Helm


@pytest.fixture(scope="session")
def helm_binary() -> str:
    return find_tool("helm", ensure_bin_dir())


@pytest.fixture(scope="session")
def helm(helm_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm for rendering only: no cluster."""
    return Helm(helm_binary, Path(tmp_path_factory.mktemp("helm-home")))


@pytest.fixture(scope="session")
def cluster_helm(
    cluster: LocalCluster, helm_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Helm:
    """helm talking to the session's local control plane."""
    return Helm(helm_binary, Path(tmp_path_factory.mktemp("helm-home")), cluster.kubeconfig)
