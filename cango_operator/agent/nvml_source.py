"""Telemetry from real NVIDIA GPUs through NVML (the ``nvidia-ml-py`` package, ``pynvml``).

``pynvml`` is imported only when this source is built, so the simulated agent never
needs the NVIDIA driver. How NVML answers map to what the agent reports:

- library or driver missing at start: :class:`~cango_operator.errors.ToolNotFoundError`
  that says so and points to ``--simulate``;
- ``GPU_IS_LOST`` / ``RESET_REQUIRED`` from any call: the GPU has fallen off the bus
  (``lost=True``), reported with the identity read at start;
- ``NOT_SUPPORTED`` / ``NO_PERMISSION`` for one measurement (ECC on a GPU without it,
  say): that measurement reads as zero (none);
- any other NVML error: :class:`TelemetryError` naming the GPU and the call; the agent
  then skips that interval (no heartbeat), which is what the operator should see.

XIDs arrive as NVML events (``nvmlEventSetCreate`` / ``nvmlDeviceRegisterEvents`` /
``nvmlEventSetWait``), drained at each reading with a short wait. The last XID of a GPU
is kept for the life of the agent: a fatal XID needs a GPU reset, and the agent restarts
with the driver.

``python -m cango_operator.agent.nvml_source`` prints one reading as JSON, no cluster needed.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cango_operator.agent.telemetry import (
    GpuReading,
    NodeReading,
    TelemetryError,
    reading_as_dict,
    throttle_reasons_from_mask,
)
from cango_operator.errors import CangoError, ConfigError, ToolNotFoundError

log = logging.getLogger(__name__)

T = TypeVar("T")
MIB = 1024 * 1024
DEFAULT_XID_WAIT_MS = 20
SIMULATE_HINT = "run the agent with --simulate to use simulated GPUs instead"


class _GpuLostError(Exception):
    """Internal: the GPU answered GPU_IS_LOST or RESET_REQUIRED."""


@dataclass
class _Identity:
    """What is read once per GPU and kept, so a lost GPU is still named."""

    index: int
    handle: Any
    uuid: str
    name: str
    memory_total_mib: int
    default_power_limit_w: float
    last_xid: int | None = None


def import_pynvml() -> Any:
    """The ``pynvml`` module, or a clear error when the package is not installed."""
    try:
        import pynvml
    except ImportError as exc:  # pragma: no cover - it is a dependency of the package
        raise ToolNotFoundError(
            f"the nvidia-ml-py package is not installed ({exc}); {SIMULATE_HINT}"
        ) from exc
    return pynvml


def init_nvml(nvml: Any) -> None:
    """``nvmlInit``, with every way it fails on a machine without GPUs made plain."""
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        code = getattr(exc, "value", None)
        if code == nvml.NVML_ERROR_LIBRARY_NOT_FOUND:
            raise ToolNotFoundError(
                "NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver on this "
                f"machine or not mounted into the container; {SIMULATE_HINT}"
            ) from exc
        if code == nvml.NVML_ERROR_DRIVER_NOT_LOADED:
            raise ToolNotFoundError(
                f"NVIDIA driver is not loaded (nvmlInit: {exc}); {SIMULATE_HINT}"
            ) from exc
        if code == nvml.NVML_ERROR_NO_PERMISSION:
            raise ConfigError(
                f"no permission to open the NVIDIA devices (nvmlInit: {exc}); run the agent "
                "with access to /dev/nvidia*"
            ) from exc
        raise ToolNotFoundError(f"nvmlInit failed: {exc}; {SIMULATE_HINT}") from exc


class NvmlSource:
    """A :class:`~cango_operator.agent.telemetry.TelemetrySource` reading real GPUs."""

    def __init__(self, xid_wait_ms: int = DEFAULT_XID_WAIT_MS, nvml: Any = None) -> None:
        """``nvml`` stands in for the ``pynvml`` module (tests on machines without GPUs)."""
        self._nvml = nvml if nvml is not None else import_pynvml()
        init_nvml(self._nvml)
        self._xid_wait_ms = xid_wait_ms
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.driver_version = str(self._nvml.nvmlSystemGetDriverVersion())
            count = int(self._nvml.nvmlDeviceGetCount())
            self._gpus = [self._identify(i) for i in range(count)]
            self._events = self._register_xid_events()
        except self._nvml.NVMLError as exc:
            self._nvml.nvmlShutdown()
            raise TelemetryError(f"NVML: listing the GPUs failed: {exc}") from exc
        except BaseException:
            self._nvml.nvmlShutdown()
            raise

    # -- setup ----------------------------------------------------------------------------

    def _identify(self, index: int) -> _Identity:
        nvml = self._nvml
        ident = _Identity(index, None, f"unknown-{index}", "unknown", 0, 0.0)
        try:
            handle = self._call(index, "its handle", nvml.nvmlDeviceGetHandleByIndex, index)
            ident.handle = handle
            ident.uuid = str(self._call(index, "UUID", nvml.nvmlDeviceGetUUID, handle))
            ident.name = str(self._call(index, "name", nvml.nvmlDeviceGetName, handle))
            memory = self._call(index, "memory", nvml.nvmlDeviceGetMemoryInfo, handle)
            ident.memory_total_mib = int(memory.total) // MIB
            default_mw = self._optional(
                index,
                "default power limit",
                nvml.nvmlDeviceGetPowerManagementDefaultLimit,
                handle,
                default=0,
            )
            ident.default_power_limit_w = default_mw / 1000
        except _GpuLostError:
            log.warning("GPU %d is lost already at start; reported as fallen off the bus", index)
        return ident

    def _register_xid_events(self) -> Any:
        nvml = self._nvml
        try:
            events = nvml.nvmlEventSetCreate()
        except nvml.NVMLError as exc:
            log.warning("NVML event set unavailable (%s): XIDs will not be seen", exc)
            return None
        for gpu in self._gpus:
            if gpu.handle is None:
                continue
            try:
                nvml.nvmlDeviceRegisterEvents(
                    gpu.handle, nvml.nvmlEventTypeXidCriticalError, events
                )
            except nvml.NVMLError as exc:
                log.warning("GPU %d: XID events not available (%s)", gpu.index, exc)
        return events

    # -- NVML calls with errors mapped ---------------------------------------------------

    def _call(self, index: int, what: str, fn: Callable[..., T], *args: Any) -> T:
        nvml = self._nvml
        try:
            return fn(*args)
        except nvml.NVMLError as exc:
            code = getattr(exc, "value", None)
            if code in (nvml.NVML_ERROR_GPU_IS_LOST, nvml.NVML_ERROR_RESET_REQUIRED):
                raise _GpuLostError from exc
            raise TelemetryError(f"NVML GPU {index}: reading {what} failed: {exc}") from exc

    def _optional(self, index: int, what: str, fn: Callable[..., T], *args: Any, default: T) -> T:
        """Like :meth:`_call`, but a measurement the GPU does not offer reads as ``default``."""
        nvml = self._nvml
        try:
            return self._call(index, what, fn, *args)
        except TelemetryError as exc:
            code = getattr(exc.__cause__, "value", None)
            unsupported = (
                nvml.NVML_ERROR_NOT_SUPPORTED,
                nvml.NVML_ERROR_NO_PERMISSION,
                nvml.NVML_ERROR_NOT_FOUND,
                nvml.NVML_ERROR_FUNCTION_NOT_FOUND,
            )
            if code in unsupported:
                return default
            raise

    # -- TelemetrySource ------------------------------------------------------------------

    def read(self) -> NodeReading:
        with self._lock:
            if self._closed:
                raise TelemetryError("NVML source is closed")
            fresh = self._drain_xids()
            gpus = tuple(self._read_gpu(g, tuple(fresh.get(g.index, ()))) for g in self._gpus)
        return NodeReading(gpus=gpus, driver_version=self.driver_version)

    def _drain_xids(self) -> dict[int, list[int]]:
        """XID events since the last reading, by GPU index; waits at most ``xid_wait_ms``."""
        nvml = self._nvml
        seen: dict[int, list[int]] = {}
        if self._events is None:
            return {}
        wait = self._xid_wait_ms
        while True:
            try:
                data = nvml.nvmlEventSetWait(self._events, wait)
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) != nvml.NVML_ERROR_TIMEOUT:
                    log.warning("waiting for NVML events failed: %s", exc)
                return seen
            wait = 0  # the first wait may block briefly; the rest only drain the queue
            if not data.eventType & nvml.nvmlEventTypeXidCriticalError:
                continue
            index = self._index_of(data.device)
            if index is None:
                log.warning("XID %d from a GPU NVML cannot name; ignored", data.eventData)
                continue
            xid = int(data.eventData)
            seen.setdefault(index, []).append(xid)
            self._gpus[index].last_xid = xid
            log.warning("GPU %d reported XID %d", index, xid)

    def _index_of(self, handle: Any) -> int | None:
        try:
            index = int(self._nvml.nvmlDeviceGetIndex(handle))
        except self._nvml.NVMLError:
            return None
        return index if 0 <= index < len(self._gpus) else None

    def _clock_event_mask(self, index: int, handle: Any) -> int:
        """Throttle reasons; drivers before 535 only know the older name of the call."""
        nvml = self._nvml
        for fn_name in (
            "nvmlDeviceGetCurrentClocksEventReasons",
            "nvmlDeviceGetCurrentClocksThrottleReasons",
        ):
            try:
                return int(self._call(index, "clock event reasons", getattr(nvml, fn_name), handle))
            except TelemetryError as exc:
                code = getattr(exc.__cause__, "value", None)
                if code == nvml.NVML_ERROR_FUNCTION_NOT_FOUND:
                    continue
                if code in (nvml.NVML_ERROR_NOT_SUPPORTED, nvml.NVML_ERROR_NO_PERMISSION):
                    return 0
                raise
        return 0

    def _read_gpu(self, gpu: _Identity, xids: tuple[int, ...]) -> GpuReading:
        nvml, i, h = self._nvml, gpu.index, gpu.handle
        if h is None:
            return self._lost(gpu, xids)
        try:
            memory = self._call(i, "memory", nvml.nvmlDeviceGetMemoryInfo, h)
            util = self._optional(
                i, "utilization", nvml.nvmlDeviceGetUtilizationRates, h, default=None
            )
            power_mw = self._optional(i, "power usage", nvml.nvmlDeviceGetPowerUsage, h, default=0)
            limit_mw = self._optional(
                i, "enforced power limit", nvml.nvmlDeviceGetEnforcedPowerLimit, h, default=0
            )
            temperature = self._optional(
                i,
                "temperature",
                nvml.nvmlDeviceGetTemperature,
                h,
                nvml.NVML_TEMPERATURE_GPU,
                default=0,
            )
            ecc = self._optional(
                i,
                "ECC errors",
                nvml.nvmlDeviceGetTotalEccErrors,
                h,
                nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                nvml.NVML_VOLATILE_ECC,
                default=0,
            )
            mask = self._clock_event_mask(i, h)
        except _GpuLostError:
            return self._lost(gpu, xids)
        return GpuReading(
            index=i,
            uuid=gpu.uuid,
            name=gpu.name,
            memory_total_mib=gpu.memory_total_mib or int(memory.total) // MIB,
            memory_used_mib=int(memory.used) // MIB,
            utilization_pct=int(util.gpu) if util is not None else 0,
            power_w=round(power_mw / 1000, 1),
            power_limit_w=round(limit_mw / 1000, 1),
            default_power_limit_w=gpu.default_power_limit_w or round(limit_mw / 1000, 1),
            temperature_c=int(temperature),
            ecc_double_bit_errors=int(ecc),
            last_xid=gpu.last_xid,
            xids=xids,
            throttle_reasons=throttle_reasons_from_mask(mask),
        )

    @staticmethod
    def _lost(gpu: _Identity, xids: tuple[int, ...]) -> GpuReading:
        return GpuReading(
            index=gpu.index,
            uuid=gpu.uuid,
            name=gpu.name,
            memory_total_mib=gpu.memory_total_mib,
            memory_used_mib=0,
            utilization_pct=0,
            power_w=0.0,
            power_limit_w=0.0,
            default_power_limit_w=gpu.default_power_limit_w,
            temperature_c=0,
            last_xid=gpu.last_xid,
            xids=xids,
            lost=True,
        )

    def set_power_limit(self, index: int, watts: float | None) -> float:
        nvml = self._nvml
        if not 0 <= index < len(self._gpus):
            raise ConfigError(
                f"power limit: gpu {index} does not exist (node has {len(self._gpus)})"
            )
        gpu = self._gpus[index]
        if gpu.handle is None:
            raise TelemetryError(f"NVML GPU {index}: lost, cannot set its power limit")
        with self._lock:
            try:
                low, high = self._call(
                    index,
                    "power limit constraints",
                    nvml.nvmlDeviceGetPowerManagementLimitConstraints,
                    gpu.handle,
                )
                target_mw = self._default_limit_mw(gpu) if watts is None else round(watts * 1000)
                target_mw = max(int(low), min(int(high), target_mw))
                nvml.nvmlDeviceSetPowerManagementLimit(gpu.handle, target_mw)
            except _GpuLostError as exc:
                raise TelemetryError(f"NVML GPU {index}: lost, cannot set its power limit") from exc
            except nvml.NVMLError as exc:
                code = getattr(exc, "value", None)
                if code in (nvml.NVML_ERROR_GPU_IS_LOST, nvml.NVML_ERROR_RESET_REQUIRED):
                    raise TelemetryError(
                        f"NVML GPU {index}: lost, cannot set its power limit"
                    ) from exc
                if code == nvml.NVML_ERROR_NO_PERMISSION:
                    raise ConfigError(
                        f"NVML GPU {index}: setting the power limit needs root "
                        f"(CAP_SYS_ADMIN): {exc}"
                    ) from exc
                raise TelemetryError(
                    f"NVML GPU {index}: setting the power limit failed: {exc}"
                ) from exc
        return target_mw / 1000

    def _default_limit_mw(self, gpu: _Identity) -> int:
        """The GPU's default limit, read again if it was not at start: never guessed, as a
        zero would be clamped up to the GPU's minimum limit."""
        if gpu.default_power_limit_w > 0:
            return round(gpu.default_power_limit_w * 1000)
        nvml = self._nvml
        default_mw = int(
            self._optional(
                gpu.index,
                "default power limit",
                nvml.nvmlDeviceGetPowerManagementDefaultLimit,
                gpu.handle,
                default=0,
            )
        )
        if default_mw <= 0:
            raise TelemetryError(
                f"NVML GPU {gpu.index}: its default power limit is unknown, so the limit "
                "is left as it is"
            )
        gpu.default_power_limit_w = default_mw / 1000
        return default_mw

    def follow_annotations(self, annotations: Mapping[str, str]) -> None:
        """Real GPUs take nothing from the GpuNode's annotations (the power limit is the
        agent's, applied through :meth:`set_power_limit`)."""
        return None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            nvml = self._nvml
            try:
                if self._events is not None:
                    nvml.nvmlEventSetFree(self._events)
            finally:
                nvml.nvmlShutdown()


def main() -> int:
    """Print one reading of the real GPUs as JSON, or why NVML is not there (exit 1)."""

    try:
        source = NvmlSource()
    except CangoError as exc:
        print(f"nvml_source: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(reading_as_dict(source.read()), indent=2))
    finally:
        source.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
