"""A site's bootstrap kubeconfig through its link: the same hub identity (CA, cluster
name, token), only the server is the link, so the agent's hub kubeconfig names the link
too; the hub must be on loopback."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from cango_operator.devcluster.sitelink import (
    bootstrap_via,
    hub_address,
    is_link_process,
    link_argv,
)
from cango_operator.errors import ClusterError


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "hub",
                        "cluster": {"server": server, "certificate-authority-data": "Q0E="},
                    }
                ],
                "users": [{"name": "boot", "user": {"token": "secret"}}],
                "contexts": [{"name": "boot", "context": {"cluster": "hub", "user": "boot"}}],
                "current-context": "boot",
            }
        )
    )
    return path


class TestBootstrapThroughTheLink:
    def test_only_the_server_changes_and_the_file_is_private(self, tmp_path: Path) -> None:
        original = kubeconfig(tmp_path / "boot", "https://127.0.0.1:32766")
        copy = bootstrap_via(original, "127.0.0.1:40001", tmp_path / "site-boot")
        got, want = yaml.safe_load(copy.read_text()), yaml.safe_load(original.read_text())
        assert got["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:40001"
        got["clusters"][0]["cluster"]["server"] = want["clusters"][0]["cluster"]["server"]
        assert got == want
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    def test_the_hub_address_is_read_from_its_kubeconfig(self, tmp_path: Path) -> None:
        assert (
            hub_address(kubeconfig(tmp_path / "k", "https://127.0.0.1:32766")) == "127.0.0.1:32766"
        )

    def test_a_hub_off_loopback_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ClusterError, match="not on loopback"):
            hub_address(kubeconfig(tmp_path / "k", "https://10.1.2.3:6443"))


def test_a_link_process_is_known_by_its_command_line() -> None:
    argv = link_argv("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "fed-site-1")
    assert is_link_process(argv)
    assert not is_link_process(["/usr/bin/ocm", "klusterlet-agent"])
