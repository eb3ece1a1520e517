"""Fixtures shared by every test group.

``cluster`` starts one real control plane (etcd, kube-apiserver, controller-manager,
scheduler, kwok) per test session, only when a test asks for it, and tears it down
at the end leaving no process behind. A missing binary fails the test loudly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster, cluster_down, cluster_up, ensure_bin_dir


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    bin_dir = ensure_bin_dir()
    workdir = tmp_path_factory.mktemp("kwok")
    name = f"cango-test-{os.getpid()}"
    running = cluster_up(name, workdir, bin_dir)
    try:
        yield running
    finally:
        cluster_down(name, workdir, bin_dir)


@pytest.fixture(scope="session")
def api_client(cluster: LocalCluster) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` for the session's cluster."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        yield client
    finally:
        client.close()
