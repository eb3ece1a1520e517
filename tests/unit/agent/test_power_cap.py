"""Power capping: the operator's per-GPU limit is applied only with --power-cap."""

from __future__ import annotations

import pynvml
import pytest

from cango_operator.agent.nvml_source import NvmlSource
from cango_operator.agent.power_cap import PowerCapper, parse_power_limit
from cango_operator.agent.simulated_source import SimulatedSource
from cango_operator.agent.telemetry import TelemetryError
from cango_operator.errors import ConfigError
from tests.unit.agent.fake_nvml import FakeGpu, FakeNvml


def limits(source: SimulatedSource) -> list[float]:
    return [g.power_limit_w for g in source.read().gpus]


class TestPowerLimitAnnotation:
    def test_watts_absent_or_empty(self) -> None:
        assert parse_power_limit("350") == 350
        assert parse_power_limit("312.5") == 312.5
        assert parse_power_limit(None) is None
        assert parse_power_limit(" ") is None

    @pytest.mark.parametrize("value", ["-5", "0", "lots", "nan", "inf"])
    def test_nonsense_is_refused_naming_the_annotation(self, value: str) -> None:
        with pytest.raises(ConfigError, match=r"compute\.cango\.io/gpu-power-limit-w"):
            parse_power_limit(value)


class TestPowerCapper:
    def test_the_requested_limit_reaches_every_gpu_and_removal_restores_it(self) -> None:
        source = SimulatedSource("H100-80GB", 3)
        capper = PowerCapper(source, 3, enabled=True)
        assert capper.apply("350") == 3
        assert limits(source) == [350, 350, 350]
        assert capper.apply("350") == 0  # unchanged: NVML is not asked again
        assert capper.apply(None) == 3
        assert limits(source) == [700, 700, 700]

    def test_without_the_flag_nothing_is_changed(self) -> None:
        source = SimulatedSource("H100-80GB", 2)
        assert PowerCapper(source, 2, enabled=False).apply("300") == 0
        assert limits(source) == [700, 700]

    def test_a_bad_request_changes_nothing(self) -> None:
        source = SimulatedSource("H100-80GB", 2)
        capper = PowerCapper(source, 2, enabled=True)
        capper.apply("300")
        assert capper.apply("a lot") == 0
        assert limits(source) == [300, 300]

    def test_a_limit_left_by_an_earlier_run_is_reset_at_start(self) -> None:
        source = SimulatedSource("H100-80GB", 2)
        source.set_power_limit(1, 250)
        assert PowerCapper(source, 2, enabled=True).apply(None) == 2
        assert limits(source) == [700, 700]


class TestOnNvml:
    def test_a_lost_gpu_does_not_leave_the_others_uncapped(self) -> None:
        nvml = FakeNvml([FakeGpu(uuid=f"GPU-{i}") for i in range(3)])
        source = NvmlSource(nvml=nvml)
        capper = PowerCapper(source, 3, enabled=True)
        nvml.gpus[0].errors["set_limit"] = pynvml.NVML_ERROR_GPU_IS_LOST
        with pytest.raises(TelemetryError, match=r"set on 2 of 3 GPUs; NVML GPU 0: lost"):
            capper.apply("350")
        assert [g.limit_mw for g in nvml.gpus] == [700_000, 350_000, 350_000]
        del nvml.gpus[0].errors["set_limit"]
        assert capper.apply("350") == 3  # asked again, all of them, once GPU 0 answers
        assert [g.limit_mw for g in nvml.gpus] == [350_000] * 3

    def test_without_root_on_every_gpu_it_is_a_configuration_error(self) -> None:
        nvml = FakeNvml([FakeGpu(uuid=f"GPU-{i}") for i in range(2)])
        for gpu in nvml.gpus:
            gpu.errors["set_limit"] = pynvml.NVML_ERROR_NO_PERMISSION
        with pytest.raises(ConfigError, match=r"set on 0 of 2 GPUs.*needs root"):
            PowerCapper(NvmlSource(nvml=nvml), 2, enabled=True).apply("350")
