"""Kueue in the test bed listens on loopback only, elects no leader, serves no visibility
API, shares a cohort fairly, and its certificate Secret is the one the test bed mounts; a
``CANGO_KUEUE_DIR`` without the binary is refused naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from cango_operator.devcluster.kueue import WEBHOOK_SECRET, WEBHOOK_SERVICE, kueue_configuration
from cango_operator.devcluster.tools import ensure_kueue_dir
from cango_operator.errors import ToolNotFoundError


def _config(tmp_path: Path) -> dict[str, object]:
    return kueue_configuration(
        cert_dir=tmp_path, webhook_port=9443, health_port=8081, metrics_port=8443
    )


def test_every_port_is_on_loopback(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config["health"] == {"healthProbeBindAddress": "127.0.0.1:8081"}
    assert config["metrics"] == {"bindAddress": "127.0.0.1:8443"}
    assert config["webhook"] == {"host": "127.0.0.1", "port": 9443, "certDir": str(tmp_path)}


def test_no_leader_election_no_visibility_server_and_fair_sharing_on(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["featureGates"] == {"VisibilityOnDemand": False}
    assert config["fairSharing"] == {
        "preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]
    }
    assert config["internalCertManagement"] == {
        "enable": True,
        "webhookServiceName": WEBHOOK_SERVICE,
        "webhookSecretName": WEBHOOK_SECRET,
    }


def test_a_kueue_dir_without_the_binary_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crds").mkdir()
    monkeypatch.setenv("CANGO_KUEUE_DIR", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match=r"CANGO_KUEUE_DIR=.* holds no kueue binary"):
        ensure_kueue_dir()
