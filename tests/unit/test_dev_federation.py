"""`dev federation up` refuses to start a federation that is already up (it would reuse
its clusters and fail half-way), and says how to stop it; `--sites` is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from cango_operator.cli import main
from cango_operator.devcluster.federation import federation_up
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
