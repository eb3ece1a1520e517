"""How the NVML source turns NVML's answers into readings and errors.

NVML itself is not on this machine; ``FakeNvml`` answers with pynvml's real error codes
and units. The real library is covered by tests/integration/test_agent_nvml.py.
"""

from __future__ import annotations

import pynvml
import pytest

from cango_operator.agent.health import judge_node
from cango_operator.agent.nvml_source import NvmlSource
from cango_operator.agent.telemetry import TelemetryError, TelemetrySource
from cango_operator.api import GpuNodePhase
from cango_operator.errors import ConfigError, ToolNotFoundError
from tests.unit.agent.fake_nvml import FakeGpu, FakeNvml

LOST = pynvml.NVML_ERROR_GPU_IS_LOST


def fake(count: int = 2, **changes: object) -> FakeNvml:
    gpus = [FakeGpu(uuid=f"GPU-{i:08d}-0000-0000-0000-000000000000") for i in range(count)]
    for gpu in gpus:
        for key, value in changes.items():
            setattr(gpu, key, value)
    return FakeNvml(gpus)


class TestStartingUp:
    @pytest.mark.parametrize(
        "code", [pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, pynvml.NVML_ERROR_DRIVER_NOT_LOADED]
    )
    def test_no_driver_is_a_clear_error_pointing_to_simulate(self, code: int) -> None:
        with pytest.raises(ToolNotFoundError, match="--simulate"):
            NvmlSource(nvml=FakeNvml([], init_error=code))

    def test_no_permission_on_the_devices_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match="/dev/nvidia"):
            NvmlSource(nvml=FakeNvml([], init_error=pynvml.NVML_ERROR_NO_PERMISSION))

    def test_it_registers_for_xid_events_on_every_gpu(self) -> None:
        nvml = fake(3)
        source = NvmlSource(nvml=nvml)
        assert isinstance(source, TelemetrySource)
        assert nvml.registered == {0, 1, 2}

    def test_a_gpu_lost_already_at_start_is_reported_lost(self) -> None:
        nvml = fake(2)
        nvml.gpus[1].errors["handle"] = LOST
        reading = NvmlSource(nvml=nvml).read()
        assert [g.lost for g in reading.gpus] == [False, True]
        assert reading.gpus[1].uuid == "unknown-1"

    def test_close_frees_the_event_set_and_shuts_nvml_down(self) -> None:
        nvml = fake(1)
        source = NvmlSource(nvml=nvml)
        source.close()
        assert nvml.event_set_freed and nvml.shut_down
        with pytest.raises(TelemetryError, match="closed"):
            source.read()


class TestReadings:
    def test_units_are_converted_to_the_status_units(self) -> None:
        gpu = NvmlSource(nvml=fake(1, power_mw=412_345, limit_mw=650_000)).read().gpus[0]
        assert gpu.power_w == 412.3
        assert gpu.power_limit_w == 650
        assert gpu.default_power_limit_w == 700
        assert (gpu.memory_total_mib, gpu.memory_used_mib) == (81559, 1000)
        assert (gpu.utilization_pct, gpu.temperature_c) == (40, 45)
        assert gpu.name == "NVIDIA H100 80GB HBM3"

    def test_throttle_reasons_are_named(self) -> None:
        gpu = NvmlSource(nvml=fake(1, clock_reasons=0x4 | 0x40)).read().gpus[0]
        assert gpu.throttle_reasons == ("SwPowerCap", "HwThermalSlowdown")

    def test_drivers_before_535_fall_back_to_the_older_throttle_call(self) -> None:
        nvml = fake(1, clock_reasons=0x1)
        nvml.has_clock_event_reasons = False
        assert NvmlSource(nvml=nvml).read().gpus[0].throttle_reasons == ("GpuIdle",)

    def test_a_measurement_the_gpu_does_not_offer_reads_as_none(self) -> None:
        nvml = fake(1)
        nvml.gpus[0].errors["ecc"] = pynvml.NVML_ERROR_NOT_SUPPORTED
        assert NvmlSource(nvml=nvml).read().gpus[0].ecc_double_bit_errors == 0

    def test_double_bit_ecc_errors_make_the_gpu_unhealthy(self) -> None:
        reading = NvmlSource(nvml=fake(2, ecc_double_bit=3)).read()
        assert reading.gpus[0].ecc_double_bit_errors == 3
        assert judge_node(reading.gpus).phase is GpuNodePhase.UNHEALTHY

    def test_a_gpu_that_falls_off_the_bus_keeps_its_identity(self) -> None:
        nvml = fake(2)
        source = NvmlSource(nvml=nvml)
        nvml.gpus[0].errors["*"] = LOST
        reading = source.read()
        assert reading.gpus[0].lost
        assert reading.gpus[0].uuid == nvml.gpus[0].uuid
        assert reading.gpus[0].memory_total_mib == 81559
        assert judge_node(reading.gpus).phase is GpuNodePhase.DEGRADED

    def test_an_unexpected_nvml_error_names_the_gpu_and_the_call(self) -> None:
        nvml = fake(2)
        source = NvmlSource(nvml=nvml)
        nvml.gpus[1].errors["temperature"] = pynvml.NVML_ERROR_UNKNOWN
        with pytest.raises(TelemetryError, match="NVML GPU 1: reading temperature failed"):
            source.read()


class TestXidEvents:
    def test_an_xid_is_reported_once_and_stays_the_last_xid(self) -> None:
        nvml = fake(4)
        source = NvmlSource(nvml=nvml)
        nvml.events += [(2, 31), (2, 79)]
        first, second = source.read(), source.read()
        assert first.gpus[2].xids == (31, 79)
        assert first.gpus[2].last_xid == 79
        assert second.gpus[2].xids == ()
        assert second.gpus[2].last_xid == 79
        assert judge_node(second.gpus).phase is GpuNodePhase.DEGRADED

    def test_an_application_xid_leaves_the_node_ready(self) -> None:
        nvml = fake(2)
        source = NvmlSource(nvml=nvml)
        nvml.events.append((0, 13))
        assert judge_node(source.read().gpus).phase is GpuNodePhase.READY


class TestPowerLimits:
    def test_a_limit_is_clamped_to_what_the_gpu_allows(self) -> None:
        nvml = fake(1)
        source = NvmlSource(nvml=nvml)
        assert source.set_power_limit(0, 150) == 200
        assert nvml.gpus[0].limit_mw == 200_000
        assert source.set_power_limit(0, 350) == 350
        assert source.set_power_limit(0, None) == 700

    def test_without_root_the_error_says_so(self) -> None:
        nvml = fake(1)
        nvml.gpus[0].errors["set_limit"] = pynvml.NVML_ERROR_NO_PERMISSION
        with pytest.raises(ConfigError, match="needs root"):
            NvmlSource(nvml=nvml).set_power_limit(0, 300)

    def test_a_gpu_that_does_not_exist_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="gpu 5 does not exist"):
            NvmlSource(nvml=fake(2)).set_power_limit(5, 300)

    def test_back_to_default_when_the_default_was_unreadable_at_start(self) -> None:
        nvml = fake(1, limit_mw=300_000)
        nvml.gpus[0].errors["default_limit"] = pynvml.NVML_ERROR_NOT_SUPPORTED
        source = NvmlSource(nvml=nvml)
        with pytest.raises(TelemetryError, match="default power limit is unknown"):
            source.set_power_limit(0, None)
        assert nvml.gpus[0].limit_mw == 300_000  # not clamped down to the 200 W minimum
        del nvml.gpus[0].errors["default_limit"]
        assert source.set_power_limit(0, None) == 700
        assert nvml.gpus[0].limit_mw == 700_000

    def test_a_fractional_limit_is_rounded_to_the_nearest_milliwatt(self) -> None:
        nvml = fake(1)
        assert NvmlSource(nvml=nvml).set_power_limit(0, 312.3456) == 312.346
        assert nvml.gpus[0].limit_mw == 312_346

    def test_a_gpu_lost_while_setting_is_named_lost(self) -> None:
        nvml = fake(1)
        nvml.gpus[0].errors["set_limit"] = LOST
        with pytest.raises(TelemetryError, match="GPU 0: lost"):
            NvmlSource(nvml=nvml).set_power_limit(0, 300)


class TestMigAndMissingMeasurements:
    def test_a_mig_gpu_without_utilization_or_power_still_reads(self) -> None:
        """In MIG mode NVML answers NOT_SUPPORTED for the whole-GPU utilisation; some
        boards have no power sensor. Those read as zero, the rest is still reported."""
        nvml = fake(1, mig_mode=(1, 1))
        nvml.gpus[0].errors["utilization"] = pynvml.NVML_ERROR_NOT_SUPPORTED
        nvml.gpus[0].errors["power"] = pynvml.NVML_ERROR_NOT_SUPPORTED
        gpu = NvmlSource(nvml=nvml).read().gpus[0]
        assert (gpu.utilization_pct, gpu.power_w) == (0, 0.0)
        assert (gpu.memory_used_mib, gpu.power_limit_w, gpu.temperature_c) == (1000, 700, 45)
        assert not gpu.lost
