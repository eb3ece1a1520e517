"""What puts a site's WAN link between its agents and the hub: the link process's command
line, and a bootstrap kubeconfig of the site's own that names the link as the hub.

OCM's agent writes its hub kubeconfig with the server of the bootstrap kubeconfig (and
takes a hub kubeconfig with another server for invalid, bootstrapping again), so every
client of the site's hub credentials goes through the link; TLS passes the link as it
is, and the hub's serving certificate names 127.0.0.1, so it verifies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from cango_operator.devcluster.wanstate import loopback_address
from cango_operator.errors import ClusterError

MODULE = "cango_operator.devcluster.wanlink"


def link_argv(listen: str, target: str, control: str, label: str) -> list[str]:
    """The link process: this Python, ``python -m`` the link module."""
    return [
        sys.executable,
        "-m",
        MODULE,
        f"--listen={listen}",
        f"--target={target}",
        f"--control={control}",
        f"--label={label}",
    ]


def is_link_process(cmdline: list[str]) -> bool:
    """Whether a process's argv is a link process (a pid may have been reused)."""
    return MODULE in cmdline[1:3]


def _load(kubeconfig: Path) -> dict[str, object]:
    config = yaml.safe_load(kubeconfig.read_text())
    if not isinstance(config, dict) or not config.get("clusters"):
        raise ClusterError(f"{kubeconfig}: no clusters")
    return config


def _clusters(config: dict[str, object]) -> list[dict[str, dict[str, str]]]:
    clusters = config["clusters"]
    assert isinstance(clusters, list)
    return clusters


def hub_address(kubeconfig: Path) -> str:
    """``host:port`` of the API server a kubeconfig points at (on 127.0.0.0/8)."""
    server = _clusters(_load(kubeconfig))[0]["cluster"]["server"]
    parts = urlsplit(server)
    address = f"{parts.hostname}:{parts.port or 443}"
    try:
        loopback_address(address)
    except ValueError as exc:
        raise ClusterError(f"{kubeconfig}: the hub is not on loopback ({exc})") from None
    return address


def bootstrap_via(bootstrap: Path, link: str, dest: Path) -> Path:
    """A copy of ``bootstrap`` whose server is ``https://<link>`` (same CA, cluster name and
    token, so the agent's hub kubeconfig stays valid as long as the link's address);
    readable by its owner only."""
    config = _load(bootstrap)
    for entry in _clusters(config):
        entry["cluster"]["server"] = f"https://{link}"
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    return dest
