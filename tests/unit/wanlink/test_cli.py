"""`dev federation link` finds a site's link in the federation's state file and cuts,
heals and delays it; it says what is wrong when there is no federation, no link for the
site, or an option that does not go with the action."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cango_operator.cli import main
from cango_operator.devcluster.wanclient import CUT, UP, WanLink


def state_file(workdir: Path, links: dict[str, str]) -> None:
    (workdir / "fed.federation.json").write_text(
        json.dumps(
            {"ocm": "/nowhere/ocm", "pids": {}, "sites": ["site-1", "site-2"], "links": links}
        )
    )


def link_cli(workdir: Path, *args: str) -> int:
    return main(["dev", "federation", "link", *args, "--name", "fed", "--workdir", str(workdir)])


class TestLinkCommand:
    def test_it_cuts_delays_and_heals_the_site_link(
        self,
        link: tuple[WanLink, int],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        client, _ = link
        state_file(tmp_path, {"site-1": client.control})
        assert link_cli(tmp_path, "cut", "site-1") == 0
        assert client.status().state == CUT
        assert "site-1: cut" in capsys.readouterr().out
        assert link_cli(tmp_path, "delay", "site-1", "--ms", "40") == 0
        assert link_cli(tmp_path, "heal", "site-1") == 0
        assert (client.status().state, client.status().delay_ms) == (UP, 40)
        assert link_cli(tmp_path, "status", "site-1") == 0
        assert "delay 40 ms each way" in capsys.readouterr().out

    def test_a_site_without_a_link_is_an_error_naming_the_way_to_get_one(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        state_file(tmp_path, {"site-1": "127.0.0.1:1"})
        assert link_cli(tmp_path, "cut", "site-2") == 1
        err = capsys.readouterr().err
        assert "site-2" in err and "site-1" in err and "--wan-links" in err

    def test_no_federation_is_an_error_naming_the_way_to_start_one(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert link_cli(tmp_path, "heal", "site-1") == 1
        assert "dev federation up" in capsys.readouterr().err

    @pytest.mark.parametrize(
        "args", [("delay", "site-1"), ("cut", "site-1", "--ms", "5"), ("heal", "site-1", "--reset")]
    )
    def test_an_option_that_does_not_go_with_the_action_is_refused(
        self, args: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert link_cli(tmp_path, *args) == 2
        assert "goes with" in capsys.readouterr().err
