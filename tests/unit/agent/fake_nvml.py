# ruff: noqa: N802  (method names mirror the pynvml functions they stand in for)
"""A stand-in for the ``pynvml`` module on machines without an NVIDIA driver.

It keeps pynvml's real constants and error classes (so error codes are matched exactly
as on a GPU node) and replaces only the calls that would reach ``libnvidia-ml.so``,
following their documented units: milliwatts, bytes, raising ``NVMLError(code)``.
The real library is exercised by tests/integration/test_agent_nvml.py on a GPU machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml

MIB = 1024 * 1024


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    memory_total_mib: int = 81559
    memory_used_mib: int = 1000
    utilization_pct: int = 40
    power_mw: int = 250_000
    limit_mw: int = 700_000
    default_limit_mw: int = 700_000
    constraints_mw: tuple[int, int] = (200_000, 700_000)
    temperature_c: int = 45
    ecc_double_bit: int = 0
    #: (error type, counter type) -> count, for the counters other than the volatile
    #: uncorrected one (``ecc_double_bit``)
    ecc_counts: dict[tuple[int, int], int] = field(default_factory=dict)
    ecc_mode: tuple[int, int] = (1, 1)  # current, pending
    mig_mode: tuple[int, int] = (0, 0)  # current, pending
    clock_reasons: int = 0
    #: each set of the limit applies it, then answers with the next of these error codes
    set_limit_errors_after_applying: list[int] = field(default_factory=list)
    #: call name -> NVML error code that call answers with
    errors: dict[str, int] = field(default_factory=dict)


class FakeNvml:
    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None) -> None:
        for name in dir(pynvml):
            if name.startswith(("NVML_", "NVMLError", "nvmlEventType", "nvmlClocks")):
                setattr(self, name, getattr(pynvml, name))
        self.gpus = gpus
        self.init_error = init_error
        self.events: list[tuple[int, int]] = []  # (gpu index, xid) waiting to be read
        self.registered: set[int] = set()
        self.shut_down = False
        self.event_set_freed = False
        self.has_clock_event_reasons = True

    def _gpu(self, handle: int, call: str) -> FakeGpu:
        gpu = self.gpus[handle]
        if call in gpu.errors:
            raise pynvml.NVMLError(gpu.errors[call])
        if "*" in gpu.errors:
            raise pynvml.NVMLError(gpu.errors["*"])
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlSystemGetDriverVersion(self) -> str:
        return "570.86.15"

    def nvmlSystemGetNVMLVersion(self) -> str:
        return "12.570.86.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12080

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._gpu(index, "handle")
        return index

    def nvmlDeviceGetIndex(self, handle: int) -> int:
        return handle

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return self._gpu(handle, "uuid").uuid

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._gpu(handle, "name").name

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        gpu = self._gpu(handle, "memory")
        total, used = gpu.memory_total_mib * MIB, gpu.memory_used_mib * MIB
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        return SimpleNamespace(gpu=self._gpu(handle, "utilization").utilization_pct, memory=0)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return self._gpu(handle, "power").power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return self._gpu(handle, "limit").limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: int) -> int:
        return self._gpu(handle, "default_limit").default_limit_mw

    def nvmlDeviceGetPowerManagementLimit(self, handle: int) -> int:
        return self._gpu(handle, "management_limit").limit_mw

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: int) -> list[int]:
        return list(self._gpu(handle, "constraints").constraints_mw)

    def nvmlDeviceSetPowerManagementLimit(self, handle: int, limit_mw: int) -> None:
        gpu = self._gpu(handle, "set_limit")
        low, high = gpu.constraints_mw
        if not low <= limit_mw <= high:  # as the driver answers a limit out of range
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        gpu.limit_mw = limit_mw
        if gpu.set_limit_errors_after_applying:
            raise pynvml.NVMLError(gpu.set_limit_errors_after_applying.pop(0))

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._gpu(handle, "temperature").temperature_c

    def nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter: int) -> int:
        gpu = self._gpu(handle, "ecc")
        if (error_type, counter) == (
            pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
            pynvml.NVML_VOLATILE_ECC,
        ):
            return gpu.ecc_double_bit
        return gpu.ecc_counts.get((error_type, counter), 0)

    def nvmlDeviceGetEccMode(self, handle: int) -> list[int]:
        return list(self._gpu(handle, "ecc_mode").ecc_mode)

    def nvmlDeviceGetMigMode(self, handle: int) -> list[int]:
        return list(self._gpu(handle, "mig_mode").mig_mode)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: int) -> int:
        if not self.has_clock_event_reasons:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        return self._gpu(handle, "clocks").clock_reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: int) -> int:
        return self._gpu(handle, "clocks").clock_reasons

    def nvmlEventSetCreate(self) -> str:
        return "event-set"

    def nvmlDeviceRegisterEvents(self, handle: int, types: int, event_set: str) -> None:
        assert types & pynvml.nvmlEventTypeXidCriticalError
        self._gpu(handle, "register_events")
        self.registered.add(handle)

    def nvmlEventSetWait(self, event_set: str, timeout_ms: int) -> Any:
        assert event_set == "event-set"
        if not self.events:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_TIMEOUT)
        index, xid = self.events.pop(0)
        return SimpleNamespace(
            device=index, eventType=pynvml.nvmlEventTypeXidCriticalError, eventData=xid
        )

    def nvmlEventSetFree(self, event_set: str) -> None:
        self.event_set_freed = True
