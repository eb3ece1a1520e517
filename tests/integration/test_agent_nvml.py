"""The NVML source on a machine with NVIDIA GPUs: it reports the real GPUs.

Runs without a cluster (``pytest tests/integration/test_agent_nvml.py`` on any GPU
machine); elsewhere every test is skipped with the reason NVML gave. ``make gpu-check``
runs them with ``CANGO_REQUIRE_GPU=1``, which turns such a skip into a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cango_operator.agent.health import judge_node
from cango_operator.agent.nvml_source import NvmlSource
from cango_operator.agent.registration import build_gpunode, normalise_model
from cango_operator.agent.telemetry import NodeReading, TelemetrySource
from cango_operator.errors import CangoError

pytestmark = pytest.mark.gpu

UUID = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MODEL_LABEL = re.compile(r"^[A-Z0-9.]+-\d+GB$")


@pytest.fixture(scope="module")
def source() -> Iterator[NvmlSource]:
    try:
        nvml = NvmlSource()
    except CangoError as exc:
        pytest.skip(f"no NVIDIA GPU: libnvidia-ml.so / nvmlInit failed: {exc}")
    try:
        yield nvml
    finally:
        nvml.close()


@pytest.fixture(scope="module")
def reading(source: NvmlSource) -> NodeReading:
    return source.read()


def nvidia_smi_gpus() -> list[tuple[str, str]] | None:
    """(name, uuid) per GPU as nvidia-smi lists them, or None without nvidia-smi."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    out = subprocess.run(
        [smi, "--query-gpu=name,uuid", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(n.strip(), u.strip()) for n, u in (line.split(",") for line in out.splitlines())]


class TestRealGpus:
    def test_it_is_a_telemetry_source(self, source: NvmlSource) -> None:
        assert isinstance(source, TelemetrySource)

    def test_at_least_one_gpu_with_index_name_and_uuid(self, reading: NodeReading) -> None:
        assert reading.gpus, "NVML initialised but listed no GPU"
        assert [g.index for g in reading.gpus] == list(range(len(reading.gpus)))
        for gpu in reading.gpus:
            assert UUID.match(gpu.uuid), gpu.uuid
            assert gpu.name and gpu.name != "unknown"
        assert len({g.uuid for g in reading.gpus}) == len(reading.gpus)
        assert reading.driver_version and reading.driver_version[0].isdigit()

    def test_it_agrees_with_nvidia_smi(self, reading: NodeReading) -> None:
        listed = nvidia_smi_gpus()
        if listed is None:
            pytest.skip("nvidia-smi is not installed, nothing independent to compare with")
        assert [(g.name, g.uuid) for g in reading.gpus] == listed

    def test_measurements_are_physically_plausible(self, reading: NodeReading) -> None:
        for gpu in reading.gpus:
            if gpu.lost:
                continue
            assert 1024 <= gpu.memory_total_mib <= 2_097_152, gpu
            assert 0 <= gpu.memory_used_mib <= gpu.memory_total_mib, gpu
            assert 0 <= gpu.utilization_pct <= 100, gpu
            assert 1 <= gpu.temperature_c <= 120, gpu
            assert 10 <= gpu.power_limit_w <= 2000, gpu
            assert 10 <= gpu.default_power_limit_w <= 2000, gpu
            assert 0 < gpu.power_w <= gpu.power_limit_w * 1.2, gpu
            assert gpu.ecc_double_bit_errors >= 0

    def test_readings_repeat_and_drain_xid_events_without_error(self, source: NvmlSource) -> None:
        first, second = source.read(), source.read()
        assert [g.uuid for g in first.gpus] == [g.uuid for g in second.gpus]
        assert second.taken_at > first.taken_at

    def test_the_model_name_and_a_self_registration_come_from_the_gpus(
        self, reading: NodeReading
    ) -> None:
        gpu = reading.gpus[0]
        model = normalise_model(gpu.name, gpu.memory_total_mib)
        assert MODEL_LABEL.match(model), model
        node = {"metadata": {"name": "gpu-host", "labels": {"compute.cango.io/site": "lab"}}}
        spec = build_gpunode(node, reading)["spec"]
        assert spec["gpu"]["count"] == len(reading.gpus)
        assert spec["gpu"]["model"] == model
        assert spec["gpu"]["maxPowerW"] >= 10

    def test_health_is_judged_for_every_gpu(self, reading: NodeReading) -> None:
        health = judge_node(reading.gpus)
        assert len(health.gpus) == len(reading.gpus)
        print(f"\nNVML: {health.phase.value}, {health.message}")  # shown with pytest -s


def test_the_module_prints_one_reading_as_json(source: NvmlSource) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cango_operator.agent.nvml_source"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert len(printed["gpus"]) == len(source.read().gpus)
    assert all(UUID.match(g["uuid"]) for g in printed["gpus"])
