"""Fixtures shared by every test group.

``cluster`` starts one real control plane (etcd, kube-apiserver, controller-manager,
scheduler, kwok) per test session, only when a test asks for it, and tears it down
at the end leaving no process behind. A missing binary fails the test loudly. ``kueue``
starts Kueue's manager beside it, likewise.

With ``CANGO_REQUIRE_GPU=1`` (``make gpu-check`` sets it) a ``gpu`` test that would be
skipped fails instead, with the skip's reason: on a GPU machine nothing may pass unseen.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster, cluster_down, cluster_up, ensure_bin_dir
from cango_operator.devcluster.kueue import KueueProcess, start_kueue, stop_kueue
from cango_operator.devcluster.modelservers import ModelServers


def reap_orphan_test_clusters() -> None:
    """Stop the processes of test clusters whose pytest session died without cleaning up.

    A session's cluster is named ``cango-test-<pid>`` (its federation's
    ``cango-fedtest-<pid>-...``); a session killed hard (SIGKILL, a timeout) leaves its
    etcd, apiserver, ... and OCM agents running. Only those whose pid is gone are
    touched, so concurrent sessions on the same machine are safe.
    """
    owned = re.compile(r"/clusters/cango-(?:fed)?test-(\d+)[-/]|cango-fedtest-(\d+)-")
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            args = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        match = owned.search(args)
        pid = match and (match.group(1) or match.group(2))
        if pid and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc_dir.name), signal.SIGKILL)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    reap_orphan_test_clusters()
    bin_dir = ensure_bin_dir()
    workdir = tmp_path_factory.mktemp("kwok")
    name = f"cango-test-{os.getpid()}"
    # The HorizontalPodAutoscaler looks every 3 s instead of 15 (the autoscaling test).
    hpa_sync = ["--extra-args", "kube-controller-manager=horizontal-pod-autoscaler-sync-period=3s"]
    running = cluster_up(name, workdir, bin_dir, extra_args=hpa_sync)
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


@pytest.fixture(scope="session")
def kueue(cluster: LocalCluster) -> Iterator[KueueProcess]:
    """Kueue's manager beside the session's cluster (built from its Go module on first
    use), only when a test asks for it; stopped at the end."""
    running = start_kueue(cluster)
    try:
        yield running
    finally:
        stop_kueue(running)


REQUIRE_GPU = "CANGO_REQUIRE_GPU"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not (report.skipped and os.environ.get(REQUIRE_GPU) == "1"):
        return
    if item.get_closest_marker("gpu") is None:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"{REQUIRE_GPU}=1 and this GPU test would be skipped: {reason}"


@pytest.fixture
def model_servers() -> Iterator[ModelServers]:
    """Fake model server processes for a test's pods (``serve``), all stopped at its end."""
    running = ModelServers()
    yield running
    running.stop()
