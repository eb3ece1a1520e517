"""``run --federation`` on a cluster without Open Cluster Management says so and stops,
instead of waiting forever for a resource kopf cannot list."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cango_operator.devcluster import LocalCluster

pytestmark = pytest.mark.cluster


def test_federation_without_the_manifestwork_api_is_a_clear_error(cluster: LocalCluster) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cango_operator",
            "run",
            "--federation",
            "--standalone",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--metrics-port",
            "0",
            "--liveness",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=cluster.env(),
    )
    assert proc.returncode != 0
    assert "manifestworks.work.open-cluster-management.io" in proc.stderr
    assert "--federation" in proc.stderr
