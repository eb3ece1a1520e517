"""The test bed's Gateway API CRDs come from ``$CANGO_GATEWAY_DIR`` when it is set; one
without ``crds/`` is refused naming the variable, and no binary is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from cango_operator.devcluster.tools import ensure_gateway_dir
from cango_operator.errors import ToolNotFoundError


def test_a_gateway_dir_with_crds_and_no_binary_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crds").mkdir()
    monkeypatch.setenv("CANGO_GATEWAY_DIR", str(tmp_path))
    assert ensure_gateway_dir() == tmp_path


def test_a_gateway_dir_without_crds_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANGO_GATEWAY_DIR", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match=r"CANGO_GATEWAY_DIR=.* holds no crds/"):
        ensure_gateway_dir()
