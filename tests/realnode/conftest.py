"""Fixtures of the real-node tier (`make test-real-node`, docs/real-node.md): one local
control plane configured for a real node, and the real node itself (kubelet, containerd,
runc), started per module and torn down at its end, leaving nothing behind.

Not part of `make test` (pyproject's norecursedirs): it needs root, the Debian packages
of `make real-node-deps`, the images of `make image` and the kubelet of hack/kubelet.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cango_operator.devcluster import LocalCluster, cluster_down, cluster_up, ensure_bin_dir
from cango_operator.devcluster.realnode import (
    PodNetwork,
    RealNode,
    residue,
    start_real_node,
    stop_real_node,
)
from cango_operator.devcluster.realnode.controlplane import cluster_args
from cango_operator.devcluster.realnode.node import env_value
from cango_operator.devcluster.tools import ensure_image_dir, ensure_kubelet_dir
from tests.realnode.kube import SITE

pytestmark = pytest.mark.realnode

NET = PodNetwork()


@pytest.fixture(scope="session", autouse=True)
def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the real node needs root (cgroups, a bridge, routes, mounts)")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The session's control plane, with kwok leaving the real node alone (replaces
    tests/conftest.py's ``cluster`` here, so its ``api_client`` talks to this one)."""
    bin_dir = ensure_bin_dir()
    workdir = tmp_path_factory.mktemp("kwok")
    name = f"cango-rntest-{os.getpid()}"
    running = cluster_up(name, workdir, bin_dir, extra_args=cluster_args(workdir, name, NET))
    try:
        yield running
    finally:
        cluster_down(name, workdir, bin_dir)


@pytest.fixture(scope="session")
def image_dir() -> Path:
    return ensure_image_dir()


@pytest.fixture(scope="session")
def images(image_dir: Path) -> dict[str, str]:
    env = image_dir / "images.env"
    return {key: env_value(env, key) for key in ("OPERATOR_IMAGE", "MODEL_SERVER_IMAGE")}


@pytest.fixture(scope="module")
def real_node(cluster: LocalCluster, image_dir: Path) -> Iterator[RealNode]:
    """A real node of site ``SITE`` with both images loaded; its teardown must leave no
    process, mount, cgroup, bridge or route behind (checked here, so a leak fails)."""
    started = time.monotonic()
    node = start_real_node(
        cluster,
        ensure_kubelet_dir(),
        [image_dir / "cango-operator.tar", image_dir / "model-server.tar"],
        {"compute.cango.io/site": SITE},
        net=NET,
    )
    print(f"real node Ready in {time.monotonic() - started:.1f} s (images loaded)")
    try:
        yield node
    finally:
        stop_real_node(cluster, node)
        left = residue(node)
        assert not any(left.values()), f"the real node left behind: {left}"
