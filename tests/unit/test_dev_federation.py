"""`dev federation up` refuses to start a federation that is already up (it would reuse
its clusters and fail half-way), and says how to stop it; `--sites` is checked; WAN links
are there when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from cango_operator.cli import main
from cango_operator.devcluster.cluster import LocalCluster
from cango_operator.devcluster.federation import Federation, federation_up
from cango_operator.errors import ClusterError


def test_up_twice_is_refused_naming_the_way_out(tmp_path: Path) -> None:
    (tmp_path / "fed.federation.json").write_text("{}")
    with pytest.raises(ClusterError, match=r"already up.*dev federation down"):
        federation_up("fed", ["site-1"], tmp_path, ocm_dir=tmp_path)


@pytest.mark.parametrize(("value", "says"), [("0", "1..8"), ("9", "1..8"), ("x", "a number")])
def test_sites_out_of_range_are_refused(
    value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["dev", "federation", "up", "--sites", value])
    assert says in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "links"), [((), False), (("--wan-links",), True)])
def test_wan_links_are_asked_for_with_the_flag_only(
    flag: tuple[str, ...], links: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []

    def up(*_: object, wan_links: bool) -> Federation:
        asked.append(wan_links)
        return Federation(
            "fed", tmp_path, LocalCluster("hub", tmp_path, tmp_path / "k", None), (), tmp_path
        )

    monkeypatch.setattr("cango_operator.devcluster.federation.federation_up", up)
    monkeypatch.setattr("cango_operator.commands.dev.ensure_bin_dir", lambda: None)
    assert main(["dev", "federation", "up", "--sites", "1", "--workdir", str(tmp_path), *flag]) == 0
    assert asked == [links]
