"""What a telemetry source reports, and the interface every source implements.

Two sources exist behind :class:`TelemetrySource`: NVML on a real GPU node
(``nvml_source``) and a simulation for kwok nodes, the demo and tests
(``simulated_source``). Everything downstream (health rules, status, metrics,
self-registration) reads only these plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from cango_operator.errors import CangoError

#: Clock-event (throttle) reasons, as NVML's bitmask names them; the names appear in status.
THROTTLE_REASON_BITS: dict[int, str] = {
    0x1: "GpuIdle",
    0x2: "ApplicationsClocksSetting",
    0x4: "SwPowerCap",
    0x8: "HwSlowdown",
    0x10: "SyncBoost",
    0x20: "SwThermalSlowdown",
    0x40: "HwThermalSlowdown",
    0x80: "HwPowerBrakeSlowdown",
    0x100: "DisplayClockSetting",
}
POWER_THROTTLE_REASONS = frozenset({"SwPowerCap", "HwPowerBrakeSlowdown"})
THERMAL_THROTTLE_REASONS = frozenset({"SwThermalSlowdown", "HwThermalSlowdown", "HwSlowdown"})


class TelemetryError(CangoError):
    """A source could not read the GPUs this time (names the GPU and the call)."""


def throttle_reasons_from_mask(mask: int) -> tuple[str, ...]:
    """Names of the bits set in an NVML clock-event mask, in bit order; unknown bits skipped."""
    return tuple(name for bit, name in sorted(THROTTLE_REASON_BITS.items()) if mask & bit)


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one moment.

    A GPU that has fallen off the bus (NVML answers ``GPU_IS_LOST``) is reported with
    ``lost=True``, its identity kept from earlier readings and its measurements at zero.
    ``xids`` are the XID events seen since the previous reading; ``last_xid`` is the most
    recent XID seen on this GPU (``None`` if none), which the health rules judge.
    """

    index: int
    uuid: str
    name: str
    memory_total_mib: int
    memory_used_mib: int
    utilization_pct: int
    power_w: float
    power_limit_w: float
    default_power_limit_w: float
    temperature_c: int
    ecc_double_bit_errors: int = 0
    last_xid: int | None = None
    xids: tuple[int, ...] = ()
    throttle_reasons: tuple[str, ...] = ()
    lost: bool = False


@dataclass(frozen=True)
class NodeReading:
    """Every GPU of a node, read together."""

    gpus: tuple[GpuReading, ...]
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    driver_version: str | None = None

    @property
    def gpu_power_w(self) -> float:
        return sum(g.power_w for g in self.gpus)


@runtime_checkable
class TelemetrySource(Protocol):
    """Where GPU readings come from. Calls block (NVML is synchronous); run them in a thread."""

    def read(self) -> NodeReading:
        """Read every GPU now."""
        ...

    def set_power_limit(self, index: int, watts: float | None) -> float:
        """Cap GPU ``index`` at ``watts`` (``None``: back to its default limit).

        Returns the limit now enforced, after clamping to what the GPU allows.
        """
        ...

    def follow_annotations(self, annotations: Mapping[str, str]) -> None:
        """Take what the GpuNode's annotations ask of the source itself, once per interval
        (the simulation's injected faults; real GPUs take nothing from them)."""
        ...

    def close(self) -> None:
        """Release what the source holds (NVML handles, event sets)."""
        ...


def reading_as_dict(reading: NodeReading) -> dict[str, Any]:
    """A reading as plain JSON-ready values (for ``--print`` and the NVML self-check)."""
    return {
        "takenAt": reading.taken_at.isoformat(),
        "driverVersion": reading.driver_version,
        "gpus": [asdict(g) for g in reading.gpus],
    }
