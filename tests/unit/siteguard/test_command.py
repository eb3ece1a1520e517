"""`cango-operator site-guard`: what it refuses to start without, and how it waits for
the site's hub credentials."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cango_operator.cli import main
from cango_operator.commands.clients import wait_for_hub_credentials


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLUSTER_NAME", "HUB_KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


class TestBadFlags:
    def test_a_site_is_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            main(["site-guard", "--cluster", "c", "--hub-kubeconfig", "/hub/kubeconfig"])
        assert "--site" in capsys.readouterr().err

    def test_the_cluster_is_required_for_the_report(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["site-guard", "--site", "s", "--hub-kubeconfig", "/hub/kubeconfig"]) == 1
        assert "--cluster (or $CLUSTER_NAME) is required" in capsys.readouterr().err

    def test_the_hub_kubeconfig_is_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["site-guard", "--site", "s", "--cluster", "c"]) == 1
        assert "--hub-kubeconfig" in capsys.readouterr().err

    def test_at_least_one_miss(self, capsys: pytest.CaptureFixture[str]) -> None:
        argv = ["site-guard", "--site", "s", "--cluster", "c", "--hub-kubeconfig", "k"]
        assert main([*argv, "--misses", "0"]) == 1
        assert "--misses >= 1" in capsys.readouterr().err


class TestWaitingForTheHubsCredentials:
    def test_goes_on_once_they_are_there(self, tmp_path: Path) -> None:
        path = tmp_path / "kubeconfig"
        path.write_text("{}")
        assert asyncio.run(wait_for_hub_credentials(path, asyncio.Event())) is True

    def test_a_stop_while_waiting_ends_it(self, tmp_path: Path) -> None:
        async def go() -> bool:
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(0.05, stop.set)
            return await wait_for_hub_credentials(tmp_path / "not-yet", stop)

        assert asyncio.run(go()) is False
