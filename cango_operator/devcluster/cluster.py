"""Start and stop a real local control plane (etcd, kube-apiserver, controller-manager,
scheduler, kwok) as plain processes through ``kwokctl --runtime binary``.

All state lives under one work directory (``KWOK_WORKDIR``), so clusters of different
test sessions never touch each other or the user's ``~/.kube/config``.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cango_operator.devcluster.tools import ensure_bin_dir, find_tool
from cango_operator.errors import ClusterError

DEFAULT_WORKDIR = (
    Path(os.environ.get("CANGO_CACHE", Path.home() / ".cache" / "cango-operator")) / "kwok"
)


@dataclass(frozen=True)
class LocalCluster:
    """A running local cluster and how to reach it."""

    name: str
    workdir: Path
    kubeconfig: Path
    bin_dir: Path | None

    def env(self) -> dict[str, str]:
        """Environment for child processes: KUBECONFIG set, our binaries first on PATH."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KWOK_WORKDIR"] = str(self.workdir)
        if self.bin_dir is not None:
            env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def kubectl(
        self, *args: str, check: bool = True, input_text: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; on failure raise ClusterError with its stderr."""
        cmd = [find_tool("kubectl", self.bin_dir), *args]
        proc = subprocess.run(
            cmd,
            check=False,
            env=self.env(),
            capture_output=True,
            text=True,
            input=input_text,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc


def _kwokctl(
    bin_dir: Path | None, workdir: Path, *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KWOK_WORKDIR=str(workdir))
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [find_tool("kwokctl", bin_dir), *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def _creation_lock() -> Iterator[None]:
    """Serialise cluster creation on this machine.

    kwokctl picks each component's port by counting down from 32767 and taking the first
    one free *now*; two clusters created at the same time pick the same ports and one of
    them dies with "address already in use". Holding a machine-wide lock until the first
    cluster's components are listening (``--wait``) makes the second one skip those ports.
    """
    lock_path = Path(tempfile.gettempdir()) / "cango-operator-kwokctl-create.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cluster_up(
    name: str = "cango-dev",
    workdir: Path = DEFAULT_WORKDIR,
    bin_dir: Path | None = None,
    timeout: float = 180,
    extra_args: Sequence[str] = (),
) -> LocalCluster:
    """Create (or reuse, when already running) a cluster; return how to reach it.

    ``extra_args`` go to ``kwokctl create cluster`` as they are (e.g. an audit policy).
    """
    bin_dir = bin_dir if bin_dir is not None else ensure_bin_dir()
    workdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = workdir / f"{name}.kubeconfig"
    cluster = LocalCluster(name=name, workdir=workdir, kubeconfig=kubeconfig, bin_dir=bin_dir)
    if kubeconfig.exists() and _answers(cluster):
        return cluster
    binaries = {
        "--kube-apiserver-binary": "kube-apiserver",
        "--kube-controller-manager-binary": "kube-controller-manager",
        "--kube-scheduler-binary": "kube-scheduler",
        "--etcd-binary": "etcd",
        "--kwok-controller-binary": "kwok",
    }
    args = [
        "create",
        "cluster",
        "--name",
        name,
        "--runtime",
        "binary",
        "--kubeconfig",
        str(kubeconfig),
        "--wait",
        f"{int(timeout)}s",
    ]
    for flag, tool in binaries.items():
        args += [flag, find_tool(tool, bin_dir)]
    args += list(extra_args)
    started = time.monotonic()
    try:
        with _creation_lock():
            proc = _kwokctl(bin_dir, workdir, *args, timeout=timeout + 60)
        failure = proc.stderr if proc.returncode != 0 else None
    except subprocess.TimeoutExpired as exc:
        failure = f"kwokctl did not return: {exc}"
    if failure is not None:
        # A half-made cluster would block the next try with "already exists", and leave
        # its processes running.
        _kwokctl(bin_dir, workdir, "delete", "cluster", "--name", name, timeout=120)
        raise ClusterError(
            f"kwokctl create cluster {name} failed after {time.monotonic() - started:.0f}s:\n"
            f"{failure.strip()[-4000:]}"
        )
    return cluster


def _answers(cluster: LocalCluster) -> bool:
    try:
        return cluster.kubectl("get", "--raw", "/readyz", check=False, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def cluster_down(
    name: str = "cango-dev", workdir: Path = DEFAULT_WORKDIR, bin_dir: Path | None = None
) -> None:
    """Stop every process of the cluster and delete its state."""
    bin_dir = bin_dir if bin_dir is not None else ensure_bin_dir()
    proc = _kwokctl(bin_dir, workdir, "delete", "cluster", "--name", name, timeout=180)
    if proc.returncode != 0 and "does not exist" not in proc.stderr:
        raise ClusterError(f"kwokctl delete cluster {name} failed: {proc.stderr.strip()}")
    (workdir / f"{name}.kubeconfig").unlink(missing_ok=True)


def cluster_stop(cluster: LocalCluster, timeout: float = 60.0) -> None:
    """Stop the cluster's processes, keeping its state (``cluster_start`` resumes it)."""
    args = ("stop", "cluster", "--name", cluster.name)
    proc = _kwokctl(cluster.bin_dir, cluster.workdir, *args, timeout=timeout)
    if proc.returncode != 0:
        raise ClusterError(f"kwokctl stop cluster {cluster.name} failed: {proc.stderr.strip()}")


def cluster_start(cluster: LocalCluster, timeout: float = 120.0) -> None:
    """Start a stopped cluster again and wait until its API server answers."""
    proc = _kwokctl(
        cluster.bin_dir,
        cluster.workdir,
        "start",
        "cluster",
        "--name",
        cluster.name,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise ClusterError(f"kwokctl start cluster {cluster.name} failed: {proc.stderr.strip()}")
    deadline = time.monotonic() + timeout
    while not _answers(cluster):
        if time.monotonic() > deadline:
            raise ClusterError(f"cluster {cluster.name} did not answer within {timeout:.0f} s")
        time.sleep(0.5)
