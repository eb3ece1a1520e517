"""`cango-operator agent`: flags, the no-cluster print mode, and clear errors."""

from __future__ import annotations

import json

import pytest

from cango_operator.agent.status import AGENT_KEYS
from cango_operator.api import GpuNodePhase
from cango_operator.api.gpunode import GpuNodeStatus
from cango_operator.cli import main


def nvml_available() -> str | None:
    """None when NVML initialises here, else why not."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:
        return str(exc)
    pynvml.nvmlShutdown()
    return None


class TestPrintMode:
    def test_once_print_simulate_prints_one_reading_without_a_cluster(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = main(
            [
                "agent",
                "--once",
                "--print",
                "--simulate",
                "--sim-model",
                "L4-24GB",
                "--sim-gpus",
                "2",
            ]
        )
        assert code == 0
        out = json.loads(capsys.readouterr().out)
        assert [g["name"] for g in out["gpus"]] == ["NVIDIA L4", "NVIDIA L4"]
        assert out["phase"] == "Ready"
        assert out["driverVersion"] == "simulated"

    def test_print_status_prints_the_gpunode_status_it_would_write(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["agent", "--once", "--print-status", "--simulate", "--sim-gpus", "2"]
        assert main([*args, "--sim-model", "L4-24GB", "--overhead-w", "150"]) == 0
        status = json.loads(capsys.readouterr().out)
        parsed = GpuNodeStatus.model_validate(status)  # what the API server would accept
        assert set(status) <= AGENT_KEYS
        assert parsed.phase is GpuNodePhase.READY
        assert [g.index for g in parsed.gpus] == [0, 1]
        assert all(g.uuid and g.healthy and g.power_limit_w == 72 for g in parsed.gpus)
        assert status["powerW"] == pytest.approx(
            sum(g["powerW"] for g in status["gpus"]) + 150, abs=1
        )
        assert [c["type"] for c in status["conditions"]] == ["GpusHealthy"]
        assert parsed.last_heartbeat_time is not None

    def test_without_nvml_and_without_simulate_the_error_says_what_to_do(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        if nvml_available() is None:
            pytest.skip("NVML initialises on this machine, so there is no missing-NVML error")
        assert main(["agent", "--once", "--print"]) == 1
        err = capsys.readouterr().err
        assert "NVML" in err
        assert "--simulate" in err


class TestBadFlags:
    def test_a_bad_probe_names_the_flag(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(["agent", "--simulate", "--node-name", "n", "--probe", "eu=host"])
        assert code == 1
        assert "--probe 'eu=host': missing :PORT" in capsys.readouterr().err

    def test_a_missing_node_name_is_an_error(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("NODE_NAME", raising=False)
        assert main(["agent", "--simulate", "--node-name", ""]) == 1
        assert "--node-name (or $NODE_NAME) is required" in capsys.readouterr().err

    def test_a_bad_simulated_model_names_the_flag(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(["agent", "--once", "--print", "--simulate", "--sim-model", "TPU"])
        assert code == 1
        assert "--sim-model 'TPU'" in capsys.readouterr().err

    def test_a_kubeconfig_that_does_not_exist_is_named(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = main(
            ["agent", "--simulate", "--node-name", "n", "--kubeconfig", "/nonexistent/kubeconfig"]
        )
        assert code == 1
        assert "--kubeconfig /nonexistent/kubeconfig" in capsys.readouterr().err
