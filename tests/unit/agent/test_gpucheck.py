"""make gpu-check's logic against the NVML stand-in: the power limit always put back,
bounded sampling, facts that tolerate what a GPU does not offer, the report, exit codes.

The steps that need the real library run on a GPU machine (``make gpu-check``); here
they are run as they are and must say plainly that there is no driver.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pynvml
import pytest

from cango_operator.agent.gpucheck import EXIT_FAILED, EXIT_NO_GPU, EXIT_OK, CheckConfig, Status
from cango_operator.agent.gpucheck.facts import Asker, cuda_version, gpu_facts, mode_pair
from cango_operator.agent.gpucheck.power import lowered_limit_mw, power_limit_round_trip
from cango_operator.agent.gpucheck.report import Outcome, Report
from cango_operator.agent.gpucheck.run import main, run_check
from cango_operator.agent.gpucheck.sampling import sample
from cango_operator.agent.gpucheck.steps import run_agent_status, run_gpu_tests
from cango_operator.agent.nvml_source import NvmlSource
from cango_operator.agent.telemetry import TelemetryError
from tests.unit.agent.fake_nvml import FakeGpu, FakeNvml

UNKNOWN = pynvml.NVML_ERROR_UNKNOWN


def fake(count: int = 1, **changes: object) -> FakeNvml:
    gpus = [FakeGpu(uuid=f"GPU-{i:08d}-0000-0000-0000-000000000000") for i in range(count)]
    for gpu in gpus:
        for key, value in changes.items():
            setattr(gpu, key, value)
    return FakeNvml(gpus)


@pytest.fixture
def nvml() -> FakeNvml:
    return fake(1)


@pytest.fixture
def source(nvml: FakeNvml) -> Iterator[NvmlSource]:
    src = NvmlSource(nvml=nvml)
    yield src
    src.close()


class TestLoweredLimit:
    @pytest.mark.parametrize(
        ("current", "minimum", "lowered"),
        [
            (700_000, 200_000, 630_000),  # 10 %
            (72_000, 40_000, 62_000),  # at least 10 W
            (205_000, 200_000, 200_000),  # not below the minimum
            (350_500, 100_000, 315_000),  # whole watts
            (200_000, 200_000, None),  # at the minimum: nothing lower to try
        ],
    )
    def test_it_is_below_the_limit_and_within_the_range(
        self, current: int, minimum: int, lowered: int | None
    ) -> None:
        assert lowered_limit_mw(current, minimum) == lowered


class TestPowerLimitRoundTrip:
    def test_lowered_read_back_and_put_back(self, nvml: FakeNvml, source: NvmlSource) -> None:
        outcome = power_limit_round_trip(nvml, source, 0)
        assert outcome.status is Status.PASSED, outcome.text()
        assert outcome.summary == "lowered to 630 W, read back, and put back at 700 W"
        assert "set 630 W: agent says 630 W enforced" in outcome.text()
        assert "back to default through the agent: 700 W" in outcome.text()
        assert nvml.gpus[0].limit_mw == 700_000

    def test_a_limit_below_the_default_is_put_back_as_it_was(self) -> None:
        nvml = fake(1, limit_mw=500_000)
        outcome = power_limit_round_trip(nvml, NvmlSource(nvml=nvml), 0)
        assert outcome.status is Status.PASSED, outcome.text()
        assert "lowered to 450 W" in outcome.summary
        assert "put back at 500 W" in outcome.body
        assert nvml.gpus[0].limit_mw == 500_000  # not the 700 W default

    def test_without_permission_it_is_skipped_saying_why(self, nvml: FakeNvml) -> None:
        nvml.gpus[0].errors["set_limit"] = pynvml.NVML_ERROR_NO_PERMISSION
        outcome = power_limit_round_trip(nvml, NvmlSource(nvml=nvml), 0)
        assert outcome.status is Status.SKIPPED
        assert "no permission to set power limits (run as root)" in outcome.summary
        assert "limit is 700 W, as before" in outcome.body

    def test_a_gpu_without_power_limits_is_skipped(self, nvml: FakeNvml) -> None:
        nvml.gpus[0].errors["constraints"] = pynvml.NVML_ERROR_NOT_SUPPORTED
        outcome = power_limit_round_trip(nvml, NvmlSource(nvml=nvml), 0)
        assert outcome.status is Status.SKIPPED
        assert "does not report its limits" in outcome.summary

    def test_a_limit_at_its_minimum_is_left_alone(self) -> None:
        nvml = fake(1, limit_mw=200_000)
        outcome = power_limit_round_trip(nvml, NvmlSource(nvml=nvml), 0)
        assert outcome.status is Status.SKIPPED
        assert nvml.gpus[0].limit_mw == 200_000

    def test_a_set_that_applies_then_fails_is_put_back(self, nvml: FakeNvml) -> None:
        nvml.gpus[0].set_limit_errors_after_applying = [UNKNOWN]
        outcome = power_limit_round_trip(nvml, NvmlSource(nvml=nvml), 0)
        assert outcome.status is Status.FAILED
        assert outcome.summary.startswith("setting 630 W failed: NVML GPU 0")
        assert "put back at 700 W" in outcome.body
        assert nvml.gpus[0].limit_mw == 700_000

    def test_an_error_after_lowering_still_puts_the_limit_back(self, nvml: FakeNvml) -> None:
        source = NvmlSource(nvml=nvml)
        nvml.gpus[0].errors["temperature"] = UNKNOWN  # the agent's reading fails midway
        with pytest.raises(TelemetryError, match="reading temperature failed"):
            power_limit_round_trip(nvml, source, 0)
        assert nvml.gpus[0].limit_mw == 700_000

    def test_a_limit_that_cannot_be_put_back_fails_loudly_with_the_fix(
        self, nvml: FakeNvml, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # lowering applies, then fails; putting back fails the same way
        nvml.gpus[0].set_limit_errors_after_applying = [UNKNOWN, UNKNOWN]
        outcome = power_limit_round_trip(nvml, NvmlSource(nvml=nvml), 0)
        assert outcome.status is Status.FAILED
        assert outcome.summary.startswith("PUTTING THE POWER LIMIT BACK FAILED")
        assert "nvidia-smi -i 0 -pl 700" in outcome.summary
        assert "nvidia-smi -i 0 -pl 700" in capsys.readouterr().err


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class TestSampling:
    def test_bounded_in_time_and_count(self, source: NvmlSource) -> None:
        clock = FakeClock()
        outcome = sample(source, 2.0, 0.5, clock=clock, sleep=clock.sleep)
        assert outcome.status is Status.PASSED
        assert len(outcome.body) == 5  # at 0, 0.5, 1, 1.5 and 2 s
        assert clock.sleeps == [0.5] * 4
        assert outcome.summary == "5 readings: power 250 to 250 W, XIDs none"
        assert outcome.body[0] == (
            "  0.0s GPU 0: 250 W (limit 700 W), 40% busy, 1000/81559 MiB, 45 C, "
            "ECC uncorrected 0, XIDs -, clocks held by -"
        )

    def test_a_slow_source_cannot_make_it_run_longer(self, source: NvmlSource) -> None:
        clock = FakeClock()

        def slow_sleep(seconds: float) -> None:
            clock.sleep(seconds * 3)

        outcome = sample(source, 3.0, 1.0, clock=clock, sleep=slow_sleep)
        assert len(outcome.body) == 2
        assert clock.now - 100.0 <= 3.0 * 3

    def test_xids_and_lost_gpus_show(self) -> None:
        nvml = fake(2)
        source = NvmlSource(nvml=nvml)
        nvml.events.append((1, 79))
        nvml.gpus[0].errors["*"] = pynvml.NVML_ERROR_GPU_IS_LOST
        clock = FakeClock()
        outcome = sample(source, 0.5, 0.5, clock=clock, sleep=clock.sleep)
        assert outcome.status is Status.FAILED
        assert outcome.summary.startswith("GPUs [0] lost;")
        assert "XIDs GPU 1: 79" in outcome.summary
        assert "GPU 1: 250 W (limit 700 W)" in outcome.body[1]
        assert "XIDs [79]" in outcome.body[1]

    def test_a_failing_reading_fails_the_step(self, nvml: FakeNvml, source: NvmlSource) -> None:
        nvml.gpus[0].errors["memory"] = UNKNOWN
        outcome = sample(source, 1.0, 0.5)
        assert outcome.status is Status.FAILED
        assert outcome.summary.startswith("reading 1 failed: NVML GPU 0: reading memory failed")


class TestFacts:
    def test_mig_ecc_and_power_as_words(self) -> None:
        nvml = fake(1, mig_mode=(1, 0))
        nvml.gpus[0].ecc_counts[
            (pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED, pynvml.NVML_AGGREGATE_ECC)
        ] = 12
        ask = Asker(nvml)
        row = gpu_facts(ask, 0)
        assert row["MIG mode"] == "enabled (pending: disabled)"
        assert row["ECC mode"] == "enabled"
        assert row["ECC corrected (volatile/aggregate)"] == "0 / 12"
        assert row["power limit range"] == "200 W to 700 W"
        assert (row["limit"], row["enforced limit"], row["power"]) == ("700 W", "700 W", "250 W")
        assert row["memory"] == "81559 MiB"
        assert ask.errors == []

    def test_what_a_gpu_does_not_offer_is_said_not_failed(self) -> None:
        nvml = fake(1)
        nvml.gpus[0].errors.update(
            mig_mode=pynvml.NVML_ERROR_NOT_SUPPORTED,
            ecc=pynvml.NVML_ERROR_NOT_SUPPORTED,
            power=pynvml.NVML_ERROR_NO_PERMISSION,
        )
        ask = Asker(nvml)
        row = gpu_facts(ask, 0)
        assert row["MIG mode"] == "not supported"
        assert row["ECC uncorrected (volatile/aggregate)"] == "not supported / not supported"
        assert row["power"] == "no permission"
        assert ask.errors == []

    def test_an_unexpected_error_is_recorded_and_the_rest_read(self) -> None:
        nvml = fake(1)
        nvml.gpus[0].errors["ecc_mode"] = UNKNOWN
        ask = Asker(nvml)
        row = gpu_facts(ask, 0)
        assert row["ECC mode"].startswith("error: ")
        assert row["MIG mode"] == "disabled"
        assert ask.errors == [f"GPU 0: nvmlDeviceGetEccMode failed: {pynvml.NVMLError(UNKNOWN)}"]

    def test_versions(self) -> None:
        assert cuda_version(12080) == "12.8"
        assert cuda_version(11040) == "11.4"
        assert mode_pair([0, 0]) == "disabled"


def quick(tmp_path: Path) -> CheckConfig:
    return CheckConfig(
        out_dir=tmp_path, tests=(), agent_status=False, sample_seconds=0.1, sample_interval_s=0.05
    )


class TestRunCheck:
    @pytest.mark.parametrize(
        "code", [pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, pynvml.NVML_ERROR_DRIVER_NOT_LOADED]
    )
    def test_no_driver_is_its_own_exit_code_with_nvmls_words(
        self, tmp_path: Path, code: int
    ) -> None:
        report = run_check(quick(tmp_path), FakeNvml([], init_error=code))
        assert report.code() == EXIT_NO_GPU == 3
        words = str(pynvml.NVMLError(code))
        assert report.outcomes[0].summary == (
            f"no NVIDIA driver/GPU: NVML could not be initialised ({words})"
        )

    def test_nvml_without_gpus_is_no_gpu_too(self, tmp_path: Path) -> None:
        nvml = FakeNvml([])
        report = run_check(quick(tmp_path), nvml)
        assert report.code() == EXIT_NO_GPU
        assert "lists no GPU" in report.outcomes[0].summary
        assert nvml.shut_down

    def test_another_init_error_is_a_failure(self, tmp_path: Path) -> None:
        nvml = FakeNvml([], init_error=pynvml.NVML_ERROR_NO_PERMISSION)
        assert run_check(quick(tmp_path), nvml).code() == EXIT_FAILED

    def test_every_step_on_two_gpus_passes_and_leaves_the_limits(self, tmp_path: Path) -> None:
        nvml = fake(2)
        config = quick(tmp_path)
        config.power_gpus = (0, 1)
        report = run_check(config, nvml)
        assert [(o.name, o.status) for o in report.outcomes] == [
            ("facts", Status.PASSED),
            ("power limit round trip (GPU 0)", Status.PASSED),
            ("power limit round trip (GPU 1)", Status.PASSED),
            ("sampling (0.1 s)", Status.PASSED),
        ]
        assert report.code() == EXIT_OK
        assert [g.limit_mw for g in nvml.gpus] == [700_000, 700_000]
        assert ("driver version", "570.86.15") in report.facts
        assert ("CUDA driver version", "12.8") in report.facts
        assert nvml.shut_down and nvml.event_set_freed

    def test_a_step_that_raises_fails_alone(self, tmp_path: Path) -> None:
        nvml = fake(1)
        nvml.gpus[0].errors["temperature"] = UNKNOWN
        report = run_check(quick(tmp_path), nvml)
        status = {o.name: o.status for o in report.outcomes}
        assert status["power limit round trip (GPU 0)"] is Status.FAILED
        assert status["sampling (0.1 s)"] is Status.FAILED
        assert report.code() == EXIT_FAILED
        assert nvml.gpus[0].limit_mw == 700_000

    def test_main_writes_one_report_and_returns_its_code(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["--out", str(tmp_path), "--no-tests", "--no-agent", "--sample-seconds", "0.1"]
        assert main([*args, "--label", "abc1234"], fake(1)) == EXIT_OK
        text = (tmp_path / "gpu-check.md").read_text()
        assert text.startswith("# GPU check\n")
        assert "- tree: abc1234" in text
        assert "| 0 | NVIDIA H100 80GB HBM3 | GPU-00000000-0000-0000-0000-000000000000 |" in text
        assert "gpu-check OK (exit 0): 3 passed, 0 failed, 0 skipped" in text
        out = capsys.readouterr().out
        assert out.rstrip().endswith(f"report: {tmp_path / 'gpu-check.md'}")


class TestReport:
    def test_summary_and_sections(self) -> None:
        report = Report()
        report.add(Outcome("a", Status.PASSED, "fine"), echo=False)
        report.add(Outcome("b", Status.SKIPPED, "no root", ["line 1"]), echo=False)
        assert report.code() == EXIT_OK
        report.add(Outcome("c", Status.FAILED, "broke"), echo=False)
        assert report.code() == EXIT_FAILED
        assert report.summary() == [
            "gpu-check FAILED (exit 1): 1 passed, 1 failed, 1 skipped",
            "  passed  a: fine",
            "  skipped b: no root",
            "  failed  c: broke",
        ]
        assert "## b: skipped\n\nno root\n\n```\nline 1\n```" in report.markdown()


def nvml_error_here() -> str | None:
    """Why NVML does not initialise on this machine; None where it does."""
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return str(exc)
    pynvml.nvmlShutdown()
    return None


@pytest.fixture(scope="module")
def no_driver() -> str:
    why = nvml_error_here()
    if why is None:
        pytest.skip("NVML initialises here: `make gpu-check` runs these steps for real")
    return why


ROOT = Path(__file__).resolve().parents[3]


class TestOnAMachineWithoutADriver:
    """The real steps and the script, run as they are where there is no NVIDIA driver."""

    def test_the_script_says_so_and_exits_3(self, no_driver: str, tmp_path: Path) -> None:
        venv = ROOT / ".venv"
        if not (venv / "bin" / "python").exists():
            pytest.skip(f"no {venv}: the script needs the project's virtualenv (make venv)")
        proc = subprocess.run(
            ["hack/gpu-check.sh", "--out", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "VENV": str(venv)},
        )
        assert proc.returncode == 3, proc.stdout + proc.stderr
        said = f"no NVIDIA driver/GPU: NVML could not be initialised ({no_driver})"
        assert said in proc.stdout
        assert said in (tmp_path / "gpu-check.md").read_text()

    def test_without_python_packages_the_script_exits_4(self, tmp_path: Path) -> None:
        proc = subprocess.run(
            ["hack/gpu-check.sh"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "VENV": str(tmp_path / "none"), "GPU_BUNDLE": str(tmp_path)},
        )
        assert proc.returncode == 4
        assert "gpu-check: no Python to run with" in proc.stderr
        assert "there is no" not in proc.stderr  # the bundle folder exists, it is empty
        assert "holds wheels for Python" in proc.stderr

    def test_the_agent_step_reports_the_agents_error(self, no_driver: str) -> None:
        outcome = run_agent_status(1)
        assert outcome.status is Status.FAILED
        assert outcome.summary == "exit 1"
        assert "NVML library (libnvidia-ml.so.1) not found" in "\n".join(outcome.body)

    def test_the_gpu_tests_fail_instead_of_skipping(self, no_driver: str) -> None:
        outcome = run_gpu_tests()
        assert outcome.status is Status.FAILED
        text = "\n".join(outcome.body)
        assert "CANGO_REQUIRE_GPU=1 and this GPU test would be skipped" in text
        assert outcome.summary.startswith("exit 1:")
        assert "skipped" not in outcome.summary
