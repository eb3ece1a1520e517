"""The command line: --help lists every subcommand; unfinished ones say so and fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cango_operator.cli import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "agent", "site-guard", "plan", "demo", "crds", "dev"):
        assert name in SUBCOMMANDS
        assert f"    {name} " in out


def test_console_script_runs_as_a_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cango_operator", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("cango-operator ")


def test_unknown_subcommand_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_dev_nodes_reports_a_bad_manifest_by_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n- {name: a, site: s, count: 0}\n")
    assert main(["dev", "nodes", "-f", str(bad), "--kubeconfig", "/nonexistent"]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: nodes[0].count" in err
    assert "1..16" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--admin", "9901"], "--admin: expected HOST:PORT, got '9901'"),
        (["--stats-address", "0.0.0.0:0"], "--stats-address: expected HOST:PORT"),
        (
            ["--admin", "127.0.0.1:9901", "--stats-address", "127.0.0.1:9901"],
            "--stats-address: must differ from --admin",
        ),
    ],
)
def test_gateway_names_the_bad_address_flag(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gateway", "--gateway", "ns/gw", "--envoy", sys.executable, *flags]) == 1
    assert message in capsys.readouterr().err
