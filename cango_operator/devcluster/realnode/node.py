"""One real node joined to a local cluster: the pod network (routes and preflight first),
containerd with the images loaded, the kubelet, Ready; and its full teardown.

Only one real node runs on a machine at a time (a lock file): the bridge, the routes and
the cgroup root are the machine's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cango_operator.devcluster.cluster import LocalCluster
from cango_operator.devcluster.realnode import containerd, host, kubelet, network
from cango_operator.devcluster.realnode.containerd import ContainerdPaths
from cango_operator.devcluster.realnode.kubelet import NODE_NAME, KubeletPaths
from cango_operator.devcluster.realnode.network import PodNetwork
from cango_operator.devcluster.tools import free_port
from cango_operator.errors import ClusterError

LOCK_PATH = Path(tempfile.gettempdir()) / "cango-operator-realnode.lock"


def env_value(path: Path, key: str) -> str:
    """``KEY=value`` from a build's .env file."""
    for line in path.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip()
    raise ClusterError(f"{path}: no {key}")


@dataclass
class RealNode:
    """A running real node: where it keeps everything, and its processes."""

    name: str
    base: Path
    net: PodNetwork
    cgroup_root: str
    containerd: ContainerdPaths
    kubelet: KubeletPaths
    #: ip_forward as it was before the network was set up (None: not set up).
    forward: str | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    lock: IO[str] | None = None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the kubelet's and containerd's logs (for a failure's message)."""
        out = []
        for log in (self.kubelet.log, self.containerd.log):
            if log.exists():
                out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(out)


def _take_lock() -> IO[str]:
    handle = LOCK_PATH.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ClusterError(
            f"another real node runs on this machine (it holds {LOCK_PATH})"
        ) from None
    return handle


def start_real_node(
    cluster: LocalCluster,
    kubelet_dir: Path,
    archives: list[Path],
    labels: dict[str, str],
    *,
    net: PodNetwork | None = None,
    timeout: float = 90,
) -> RealNode:
    """Join a real node to ``cluster``; return it once Ready. ``archives`` are image
    archives to load; ``labels`` go on the Node. On any failure everything made so far
    is torn down before the error is raised."""
    net = net or PodNetwork()
    lock = _take_lock()
    base = Path(tempfile.mkdtemp(prefix="cango-realnode-"))
    node = RealNode(
        name=NODE_NAME,
        base=base,
        net=net,
        cgroup_root=f"/cango-realnode-{os.getpid()}",
        containerd=ContainerdPaths.under(base / "containerd"),
        kubelet=KubeletPaths.under(base / "kubelet"),
        lock=lock,
    )
    try:
        # The network first: no container starts before the preflight has passed.
        node.forward = network.set_up(net)
        host.make_cgroups(node.cgroup_root)
        pause_image = env_value(kubelet_dir / "pause.env", "PAUSE_IMAGE")
        node.containerd.base.mkdir(parents=True)
        containerd.write_config(node.containerd, net, pause_image)
        node.procs["containerd"] = containerd.start(node.containerd)
        for archive in [kubelet_dir / "pause.tar", *archives]:
            containerd.import_image(node.containerd, archive)
        pki = cluster.workdir / "clusters" / cluster.name / "pki"
        config = kubelet.kubelet_config(
            port=free_port(),
            socket=node.containerd.socket,
            cgroup_root=node.cgroup_root,
            client_ca=pki / "ca.crt",
        )
        kubelet.write_config(node.kubelet, config)
        node.procs["kubelet"] = kubelet.start(
            kubelet_dir / "kubelet", node.kubelet, cluster.kubeconfig, labels
        )
        wait_ready(cluster, node, timeout)
    except BaseException:
        stop_real_node(cluster, node)
        raise
    return node


def node_ready(cluster: LocalCluster) -> bool:
    proc = cluster.kubectl("get", "node", NODE_NAME, "-o", "json", check=False)
    if proc.returncode != 0:
        return False
    conditions = json.loads(proc.stdout)["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_ready(cluster: LocalCluster, node: RealNode, timeout: float) -> None:
    """Wait (bounded) for the Node to be Ready; a kubelet that exits fails at once."""
    deadline = time.monotonic() + timeout
    while not node_ready(cluster):
        kubelet_proc = node.procs["kubelet"]
        if kubelet_proc.poll() is not None or time.monotonic() > deadline:
            why = "exited" if kubelet_proc.poll() is not None else f"not Ready in {timeout:.0f} s"
            raise ClusterError(f"real node {node.name}: kubelet {why}\n{node.log_tail()}")
        time.sleep(0.3)


def _delete_pods(cluster: LocalCluster, node: RealNode, timeout: float) -> None:
    """Delete the node's pods while the kubelet still runs, so it stops their sandboxes
    (network torn down through CNI) the ordinary way; bounded by ``timeout``."""
    if node.procs.get("kubelet") is None or node.procs["kubelet"].poll() is not None:
        return
    cluster.kubectl(
        *("delete", "pods", "--all-namespaces", "--field-selector", f"spec.nodeName={node.name}"),
        *("--grace-period=0", "--force", "--wait=false"),
        check=False,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = containerd.ctr(node.containerd, "tasks", "list", "--quiet", check=False)
        if tasks.returncode != 0 or not tasks.stdout.strip():
            return
        time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def stop_real_node(cluster: LocalCluster, node: RealNode, pod_timeout: float = 30) -> None:
    """Remove everything the node made: pods, containers, shims, mounts, cgroups, the
    bridge and routes, the Node object and its directory; leave no process behind."""
    with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
        _delete_pods(cluster, node, pod_timeout)
    _stop(node.procs.get("kubelet"))
    host.remove_cgroups(node.cgroup_root)
    # Shims outlive containerd (their own sessions); they name its socket.
    host.kill_all(host.processes_mentioning(str(node.containerd.socket)))
    _stop(node.procs.get("containerd"))
    host.kill_all(host.processes_mentioning(str(node.base)))
    host.unmount_under(node.base)
    host.remove_cgroups(node.cgroup_root)
    if node.forward is not None:  # (a failed set_up has undone itself)
        network.tear_down(node.net, node.forward)
    with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
        cluster.kubectl("delete", "node", node.name, "--ignore-not-found", check=False)
    if not host.mounts_under(node.base):
        shutil.rmtree(node.base, ignore_errors=True)
    if node.lock is not None:
        node.lock.close()
        node.lock = None


def residue(node: RealNode) -> dict[str, Any]:
    """What the node left behind (all empty after ``stop_real_node``)."""
    return {
        "processes": host.processes_mentioning(str(node.base)),
        "cgroup_processes": sorted(host.cgroup_pids(node.cgroup_root)),
        "cgroups": [
            str(h / node.cgroup_root.lstrip("/"))
            for h in host.cgroup_hierarchies()
            if (h / node.cgroup_root.lstrip("/")).exists()
        ],
        "mounts": host.mounts_under(node.base),
        "network": network.residue(node.net),
        "directory": [str(node.base)] if node.base.exists() else [],
    }
