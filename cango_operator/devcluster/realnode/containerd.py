"""The real node's container runtime: Debian's containerd and runc, run as our own
process with its root, state, socket and CNI configuration under the node's directory
(nothing of a system-wide containerd is used or touched), and images imported from the
archives ``make image`` and the kubelet build write (no registry)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cango_operator.devcluster.realnode.network import PodNetwork, cni_conflist
from cango_operator.errors import ClusterError, ToolNotFoundError

NAMESPACE = "k8s.io"  # the CRI plugin's containerd namespace
CNI_BIN_DIR = Path("/usr/lib/cni")


@dataclass(frozen=True)
class ContainerdPaths:
    """Everything containerd keeps, under one directory (``ContainerdPaths.under``)."""

    base: Path
    root: Path
    state: Path
    socket: Path
    config: Path
    cni_conf_dir: Path
    log: Path

    @classmethod
    def under(cls, base: Path) -> ContainerdPaths:
        names = ("root", "state", "containerd.sock", "config.toml", "net.d", "containerd.log")
        return cls(base, *(base / n for n in names))


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise ToolNotFoundError(f"{name} not found: run `make real-node-deps` (Debian packages)")
    return found


def config_toml(paths: ContainerdPaths, pause_image: str) -> str:
    """containerd 1.6's configuration (version 2): the CRI plugin with runc and
    cgroupfs, the locally built pause image, the pod bridge's CNI config, network
    namespaces under the state directory, and OOM score adjustments kept within ours."""
    q = json.dumps  # TOML basic strings and JSON strings agree for paths and names
    return f"""version = 2
root = {q(str(paths.root))}
state = {q(str(paths.state))}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = {q(str(paths.socket))}

[ttrpc]
  address = {q(str(paths.socket) + ".ttrpc")}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {q(pause_image)}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = {q(_tool("runc"))}
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = {q(str(CNI_BIN_DIR))}
    conf_dir = {q(str(paths.cni_conf_dir))}
    max_conf_num = 1
"""


def write_config(paths: ContainerdPaths, net: PodNetwork, pause_image: str) -> None:
    """The config file and the pod network's CNI configuration."""
    if not (CNI_BIN_DIR / "bridge").exists():
        raise ToolNotFoundError(
            f"{CNI_BIN_DIR}/bridge not found: run `make real-node-deps` "
            "(Debian's containernetworking-plugins)"
        )
    paths.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    conflist = cni_conflist(net, paths.base / "ipam")
    (paths.cni_conf_dir / "10-cango.conflist").write_text(json.dumps(conflist, indent=2))
    paths.config.write_text(config_toml(paths, pause_image))


def start(paths: ContainerdPaths, timeout: float = 30) -> subprocess.Popen[bytes]:
    """Start containerd; return once its socket answers (bounded by ``timeout``)."""
    with paths.log.open("ab") as log:
        proc = subprocess.Popen(
            [_tool("containerd"), "--config", str(paths.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while ctr(paths, "version", check=False).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(10)
            tail = paths.log.read_text(errors="replace")[-3000:]
            raise ClusterError(f"containerd did not answer on {paths.socket}:\n{tail}")
        time.sleep(0.2)
    return proc


def ctr(
    paths: ContainerdPaths, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``ctr`` against our containerd, in the CRI plugin's namespace."""
    cmd = [_tool("ctr"), "--address", str(paths.socket), "--namespace", NAMESPACE, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise ClusterError(f"ctr {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def import_image(paths: ContainerdPaths, archive: Path) -> None:
    """Load an image archive (docker or OCI) as the kubelet will see it."""
    if not archive.is_file():
        raise ClusterError(f"image archive {archive} not found (run `make image`)")
    ctr(paths, "images", "import", str(archive), timeout=300)


def images(paths: ContainerdPaths) -> list[str]:
    """Names of the images containerd holds."""
    return ctr(paths, "images", "list", "--quiet").stdout.split()
