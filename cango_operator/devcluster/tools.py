"""Where the control-plane binaries come from.

Order: ``$CANGO_BIN_DIR`` if set; else, in a source checkout, the cached build made by
``hack/controlplane/build.sh`` (which builds on first use, ~20 min cold); else ``PATH``.
Open Cluster Management and Kueue, likewise: ``$CANGO_OCM_DIR`` / ``$CANGO_KUEUE_DIR``,
else the cached build of ``hack/ocm/build.sh`` / ``hack/kueue/build.sh``. The Gateway API's
and its Inference Extension's CRDs (YAML only): ``$CANGO_GATEWAY_DIR``, else the cached
copy of ``hack/gateway/build.sh``. The Prometheus adapter: ``$CANGO_METRICS_ADAPTER_DIR``,
else the cached build of ``hack/metrics-adapter/build.sh``. The real node's kubelet and
the images it runs: ``$CANGO_KUBELET_DIR`` / ``$CANGO_IMAGE_DIR``, else
``hack/kubelet/build.sh`` / ``hack/image/build.sh``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from cango_operator.errors import ToolNotFoundError

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "controlplane" / "build.sh"
OCM_BUILD_SCRIPT = REPO_ROOT / "hack" / "ocm" / "build.sh"
KUEUE_BUILD_SCRIPT = REPO_ROOT / "hack" / "kueue" / "build.sh"
GATEWAY_BUILD_SCRIPT = REPO_ROOT / "hack" / "gateway" / "build.sh"
METRICS_ADAPTER_BUILD_SCRIPT = REPO_ROOT / "hack" / "metrics-adapter" / "build.sh"
EPP_BUILD_SCRIPT = REPO_ROOT / "hack" / "epp" / "build.sh"
KUBELET_BUILD_SCRIPT = REPO_ROOT / "hack" / "kubelet" / "build.sh"
IMAGE_BUILD_SCRIPT = REPO_ROOT / "hack" / "image" / "build.sh"
TOOLS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
    "kwokctl",
    "helm",
)


def ensure_bin_dir(build: bool = True) -> Path | None:
    """Return the directory holding the control-plane binaries, building them if needed.

    Returns None when neither ``$CANGO_BIN_DIR`` nor a source checkout is available
    (an installed package then relies on ``PATH``).
    """
    env_dir = os.environ.get("CANGO_BIN_DIR")
    if env_dir:
        path = Path(env_dir)
        if not path.is_dir():
            raise ToolNotFoundError(f"CANGO_BIN_DIR={env_dir} is not a directory")
        return path
    if not (build and BUILD_SCRIPT.is_file()):
        return None
    return _build(BUILD_SCRIPT, "the control plane")


def ensure_ocm_dir() -> Path:
    """The directory holding the Open Cluster Management binary (``ocm``) and its CRDs
    (``crds/``): ``$CANGO_OCM_DIR`` if set, else the cached build of
    ``hack/ocm/build.sh`` (built on first use, ~5 min cold)."""
    return _built_dir("CANGO_OCM_DIR", "ocm", OCM_BUILD_SCRIPT, "Open Cluster Management")


def ensure_kueue_dir() -> Path:
    """The directory holding Kueue's manager (``kueue``) and its CRDs (``crds/``):
    ``$CANGO_KUEUE_DIR`` if set, else the cached build of ``hack/kueue/build.sh`` (built
    on first use, 6-9 min cold)."""
    return _built_dir("CANGO_KUEUE_DIR", "kueue", KUEUE_BUILD_SCRIPT, "Kueue")


def ensure_gateway_dir() -> Path:
    """The directory holding the CRDs (``crds/``) of the Gateway API and of its Inference
    Extension: ``$CANGO_GATEWAY_DIR`` if set, else the cached copy of
    ``hack/gateway/build.sh`` (copied from the Go modules on first use; nothing is built)."""
    return _built_dir("CANGO_GATEWAY_DIR", None, GATEWAY_BUILD_SCRIPT, "The Gateway API's CRDs")


def ensure_metrics_adapter_dir() -> Path:
    """The directory holding the Prometheus adapter (``adapter``):
    ``$CANGO_METRICS_ADAPTER_DIR`` if set, else the cached build of
    ``hack/metrics-adapter/build.sh`` (built on first use, about 2.5 min cold)."""
    return _built_files(
        "CANGO_METRICS_ADAPTER_DIR",
        ("adapter",),
        METRICS_ADAPTER_BUILD_SCRIPT,
        "The Prometheus adapter's files",
    )


def ensure_epp_dir() -> Path:
    """The directory holding the Inference Extension's endpoint picker (``epp``, its
    lightweight picker ``cmd/lwepp``): ``$CANGO_EPP_DIR`` if set, else the cached build
    of ``hack/epp/build.sh`` (built on first use, about 2 min cold)."""
    return _built_files("CANGO_EPP_DIR", ("epp",), EPP_BUILD_SCRIPT, "The endpoint picker")


def ensure_kubelet_dir() -> Path:
    """The real node's binaries (``kubelet``, ``pause``, the sandbox image's archive
    ``pause.tar`` named in ``pause.env``): ``$CANGO_KUBELET_DIR`` if set, else the cached
    build of ``hack/kubelet/build.sh`` (~20 s on the control plane's warm Go cache)."""
    return _built_files(
        "CANGO_KUBELET_DIR",
        ("kubelet", "pause.tar", "pause.env"),
        KUBELET_BUILD_SCRIPT,
        "The kubelet",
    )


def ensure_image_dir() -> Path:
    """The image archives of ``make image`` (``cango-operator.tar``, ``model-server.tar``,
    named in ``images.env``): ``$CANGO_IMAGE_DIR`` if set, else the cached build of
    ``hack/image/build.sh`` (~70 s cold, podman and no registry)."""
    return _built_files(
        "CANGO_IMAGE_DIR",
        ("cango-operator.tar", "model-server.tar", "images.env"),
        IMAGE_BUILD_SCRIPT,
        "The images",
    )


def _built_files(env_var: str, files: tuple[str, ...], script: Path, what: str) -> Path:
    env_dir = os.environ.get(env_var)
    if env_dir:
        missing = [f for f in files if not (Path(env_dir) / f).exists()]
        if missing:
            raise ToolNotFoundError(f"{env_var}={env_dir} holds no {', '.join(missing)}")
        return Path(env_dir)
    if not script.is_file():
        raise ToolNotFoundError(
            f"{what} are needed: set {env_var} to a directory holding {', '.join(files)} "
            f"({script.relative_to(REPO_ROOT)} in a source checkout makes one)"
        )
    return _build(script, what.lower())


def _built_dir(env_var: str, binary: str | None, script: Path, what: str) -> Path:
    """``$env_var`` when set (it must hold ``binary``, if any, and ``crds/``), else what
    ``script`` builds (or finds cached)."""
    holds = f"{binary} binary and crds/" if binary else "crds/"
    env_dir = os.environ.get(env_var)
    if env_dir:
        path = Path(env_dir)
        if (binary and not (path / binary).exists()) or not (path / "crds").is_dir():
            raise ToolNotFoundError(f"{env_var}={env_dir} holds no {holds}")
        return path
    if not script.is_file():
        raise ToolNotFoundError(
            f"{what} is needed: set {env_var} to a directory holding "
            f"{'the ' if binary else ''}{holds} "
            f"({script.relative_to(REPO_ROOT)} in a source checkout makes one)"
        )
    return _build(script, what)


def _build(script: Path, what: str) -> Path:
    # The script logs progress on stderr (shown to the user) and prints the directory last.
    proc = subprocess.run(
        ["bash", str(script)],
        check=False,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    if proc.returncode != 0:
        raise ToolNotFoundError(f"building {what} failed ({script} exited {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])


def find_tool(name: str, bin_dir: Path | None = None) -> str:
    """Absolute path of a control-plane binary, or a clear error naming how to get it."""
    if bin_dir is not None and (bin_dir / name).exists():
        return str(bin_dir / name)
    found = shutil.which(name)
    if found is None:
        raise ToolNotFoundError(
            f"{name} not found (looked in {bin_dir or '$CANGO_BIN_DIR'} and PATH); "
            "run `make controlplane` or set CANGO_BIN_DIR to a directory holding it"
        )
    return found


def free_port() -> int:
    """A TCP port free on loopback now (for a component we start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
