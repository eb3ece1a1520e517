"""A simulated GPU node, for kwok nodes, the demo and tests (``--simulate``).

Load follows the work placed on the node: ``gpus_in_use()`` (in the agent, the GPUs
requested by Running pods bound to the node) says how many GPUs are busy; the first that
many GPUs then report high utilisation, memory, power and temperature, the rest idle.
Power never exceeds the GPU's power limit, so a cap set during curtailment shows at once
(with the ``SwPowerCap`` throttle reason). Readings are deterministic: no noise, so a
status only changes when something really changed.

Faults are injected from code (:meth:`SimulatedSource.inject`, :meth:`set_faults`) or,
in a cluster, from the GpuNode annotation ``compute.cango.io/simulate-fault`` (the agent
applies it each interval; removing it clears the faults). The syntax, parsed by
:func:`parse_faults`, is one or more faults separated by ``;``, each a comma-separated
list of ``key=value`` with ``gpu=<index>`` and exactly one of:

- ``xid=<code>``   the GPU reports XID ``code`` (one event, then it stays its last XID);
- ``ecc=<count>``  the GPU has counted ``count`` double-bit ECC errors;
- ``lost``         the GPU has fallen off the bus (NVML would answer ``GPU_IS_LOST``).

Example: ``xid=79,gpu=2`` or ``ecc=1,gpu=0; lost,gpu=5``. Clearing a fault is a GPU
reset: its XID and ECC count go back to none.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cango_operator.agent.telemetry import GpuReading, NodeReading
from cango_operator.errors import ConfigError

log = logging.getLogger(__name__)

FAULT_ANNOTATION = "compute.cango.io/simulate-fault"
SIMULATED_DRIVER_VERSION = "simulated"
_UUID_NAMESPACE = uuid.UUID("6f0c1a52-54c3-4a55-9a40-5b8c7a3e2d10")

BUSY_UTILIZATION_PCT = 87
BUSY_MEMORY_FRACTION = 0.8
IDLE_MEMORY_MIB = 512
IDLE_TEMPERATURE_C = 33
BUSY_TEMPERATURE_C = 68
MIN_POWER_LIMIT_FRACTION = 0.25


@dataclass(frozen=True)
class GpuModelSpec:
    """A GPU model as the simulation presents it."""

    model: str  # normalised name, as in GpuNode spec.gpu.model
    product_name: str  # as NVML reports it
    memory_mib: int
    max_power_w: float
    idle_power_w: float


KNOWN_MODELS: dict[str, GpuModelSpec] = {
    m.model: m
    for m in (
        GpuModelSpec("H100-80GB", "NVIDIA H100 80GB HBM3", 81559, 700, 70),
        GpuModelSpec("H200-141GB", "NVIDIA H200", 143771, 700, 75),
        GpuModelSpec("B200-180GB", "NVIDIA B200", 183359, 1000, 140),
        GpuModelSpec("A100-80GB", "NVIDIA A100-SXM4-80GB", 81920, 400, 55),
        GpuModelSpec("A100-40GB", "NVIDIA A100-SXM4-40GB", 40960, 400, 50),
        GpuModelSpec("L40S-48GB", "NVIDIA L40S", 46068, 350, 35),
        GpuModelSpec("L4-24GB", "NVIDIA L4", 23034, 72, 16),
    )
}
DEFAULT_MAX_POWER_W = 400.0


def model_spec(
    model: str, memory_mib: int | None = None, max_power_w: float | None = None
) -> GpuModelSpec:
    """The simulated model: a known one (overrides applied), or one built from the name.

    An unknown model needs its memory: given, or read from a ``-<N>GB`` suffix.
    """
    known = KNOWN_MODELS.get(model)
    if known is None:
        match = re.search(r"-(\d+)GB$", model)
        if memory_mib is not None:
            mem = memory_mib
        elif match is not None:
            mem = int(match.group(1)) * 1024
        else:
            raise ConfigError(
                f"--sim-model {model!r} is not one of {', '.join(sorted(KNOWN_MODELS))}: "
                "name it like NAME-<N>GB or give --sim-memory-mib"
            )
        power = max_power_w if max_power_w is not None else DEFAULT_MAX_POWER_W
        spec = GpuModelSpec(model, f"NVIDIA {model}", mem, power, round(power * 0.1, 1))
    else:
        spec = GpuModelSpec(
            known.model,
            known.product_name,
            memory_mib if memory_mib is not None else known.memory_mib,
            max_power_w if max_power_w is not None else known.max_power_w,
            known.idle_power_w,
        )
    if spec.memory_mib <= 0:
        raise ConfigError(f"--sim-memory-mib must be > 0, got {spec.memory_mib}")
    if spec.max_power_w <= 0:
        raise ConfigError(f"--sim-max-power-w must be > 0, got {spec.max_power_w}")
    return spec


class FaultKind(StrEnum):
    XID = "xid"
    ECC = "ecc"
    LOST = "lost"


@dataclass(frozen=True)
class Fault:
    """One injected fault on GPU ``gpu``; ``value`` is the XID code or the ECC count."""

    gpu: int
    kind: FaultKind
    value: int = 0

    def __str__(self) -> str:
        if self.kind is FaultKind.LOST:
            return f"lost,gpu={self.gpu}"
        return f"{self.kind.value}={self.value},gpu={self.gpu}"


def _int_field(key: str, raw: str, where: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{where}: {key}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{where}: {key} must be >= {minimum}, got {value}")
    return value


def _parse_one(text: str, where: str) -> Fault:
    fields: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if key in fields:
            raise ConfigError(f"{where}: {key} given twice")
        fields[key] = value.strip() if sep else ""
    unknown = sorted(set(fields) - {"gpu", "xid", "ecc", "lost"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (expected gpu, xid|ecc|lost)"
        )
    if "gpu" not in fields:
        raise ConfigError(f"{where}: missing gpu=<index>")
    gpu = _int_field("gpu", fields["gpu"], where, 0)
    kinds = [k for k in ("xid", "ecc", "lost") if k in fields]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: give exactly one of xid=<code>, ecc=<count>, lost")
    kind = FaultKind(kinds[0])
    if kind is FaultKind.LOST:
        if fields["lost"] not in ("", "true", "1"):
            raise ConfigError(f"{where}: lost takes no value (or true), got {fields['lost']!r}")
        return Fault(gpu, kind)
    return Fault(gpu, kind, _int_field(kind.value, fields[kind.value], where, 1))


def parse_faults(text: str, source: str = FAULT_ANNOTATION) -> tuple[Fault, ...]:
    """Parse the fault syntax of the module docstring; errors name ``source`` and the fault."""
    faults = []
    for i, chunk in enumerate(c.strip() for c in text.split(";")):
        if chunk:
            faults.append(_parse_one(chunk, f"{source}: fault {i + 1} {chunk!r}"))
    return tuple(faults)


def _no_load() -> int:
    return 0


class SimulatedSource:
    """A :class:`~cango_operator.agent.telemetry.TelemetrySource` with no GPU behind it."""

    def __init__(
        self,
        model: str = "H100-80GB",
        count: int = 8,
        *,
        memory_mib: int | None = None,
        max_power_w: float | None = None,
        gpus_in_use: Callable[[], int] = _no_load,
        seed: str = "sim",
    ) -> None:
        if not 1 <= count <= 16:
            raise ConfigError(f"--sim-gpus must be 1..16, got {count}")
        self.spec = model_spec(model, memory_mib, max_power_w)
        self.count = count
        self.gpus_in_use = gpus_in_use
        self.uuids = tuple(
            f"GPU-{uuid.uuid5(_UUID_NAMESPACE, f'{seed}/{i}')}" for i in range(count)
        )
        self._limits = [self.spec.max_power_w] * count
        self._faults: tuple[Fault, ...] = ()
        self._fault_annotation: str | None = None
        self._xids_reported: set[tuple[int, int]] = set()
        self._lock = threading.Lock()

    # -- faults ---------------------------------------------------------------------------

    @property
    def faults(self) -> tuple[Fault, ...]:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Iterable[Fault]) -> None:
        """Replace every active fault (an empty list clears them all)."""
        faults = tuple(dict.fromkeys(faults))
        for fault in faults:
            if fault.gpu >= self.count:
                raise ConfigError(
                    f"fault {fault}: gpu {fault.gpu} does not exist (node has {self.count})"
                )
        with self._lock:
            self._faults = faults
            active = {(f.gpu, f.value) for f in faults if f.kind is FaultKind.XID}
            self._xids_reported &= active

    def inject(self, fault: Fault) -> None:
        self.set_faults((*self.faults, fault))

    def clear(self, gpu: int | None = None) -> None:
        """Remove the faults of one GPU, or of all GPUs."""
        self.set_faults(f for f in self.faults if gpu is not None and f.gpu != gpu)

    # -- TelemetrySource ------------------------------------------------------------------

    def follow_annotations(self, annotations: Mapping[str, str]) -> None:
        """The fault annotation replaces the faults it set last time; an annotation that
        does not parse is logged and changes nothing."""
        value = annotations.get(FAULT_ANNOTATION)
        if value == self._fault_annotation:
            return
        try:
            self.set_faults(parse_faults(value or ""))
        except ConfigError as exc:
            log.warning("ignoring %s=%r: %s", FAULT_ANNOTATION, value, exc)
        else:
            log.info("simulated faults now: %s", value or "none")
        self._fault_annotation = value

    def read(self) -> NodeReading:
        busy = max(0, min(self.count, int(self.gpus_in_use())))
        with self._lock:
            gpus = tuple(self._read_gpu(i, i < busy) for i in range(self.count))
        return NodeReading(gpus=gpus, driver_version=SIMULATED_DRIVER_VERSION)

    def _read_gpu(self, index: int, busy: bool) -> GpuReading:
        mine = [f for f in self._faults if f.gpu == index]
        xids = [f.value for f in mine if f.kind is FaultKind.XID]
        new_xids = tuple(x for x in xids if (index, x) not in self._xids_reported)
        self._xids_reported.update((index, x) for x in new_xids)
        lost = any(f.kind is FaultKind.LOST for f in mine)
        spec, limit = self.spec, self._limits[index]
        wanted = spec.idle_power_w + (spec.max_power_w - spec.idle_power_w) * (
            BUSY_UTILIZATION_PCT / 100
        )
        reasons: tuple[str, ...] = ()
        if lost:
            memory, util, power, temperature = 0, 0, 0.0, 0
        elif busy:
            memory = int(spec.memory_mib * BUSY_MEMORY_FRACTION)
            util, power, temperature = BUSY_UTILIZATION_PCT, min(wanted, limit), BUSY_TEMPERATURE_C
            reasons = ("SwPowerCap",) if wanted > limit else ()
        else:
            memory, util, temperature = IDLE_MEMORY_MIB, 0, IDLE_TEMPERATURE_C
            power, reasons = min(spec.idle_power_w, limit), ("GpuIdle",)
        return GpuReading(
            index=index,
            uuid=self.uuids[index],
            name=spec.product_name,
            memory_total_mib=spec.memory_mib,
            memory_used_mib=memory,
            utilization_pct=util,
            power_w=round(power, 1),
            power_limit_w=limit,
            default_power_limit_w=spec.max_power_w,
            temperature_c=temperature,
            ecc_double_bit_errors=sum(f.value for f in mine if f.kind is FaultKind.ECC),
            last_xid=xids[-1] if xids else None,
            xids=new_xids,
            throttle_reasons=reasons,
            lost=lost,
        )

    def set_power_limit(self, index: int, watts: float | None) -> float:
        if not 0 <= index < self.count:
            raise ConfigError(f"power limit: gpu {index} does not exist (node has {self.count})")
        low = self.spec.max_power_w * MIN_POWER_LIMIT_FRACTION
        enforced = (
            self.spec.max_power_w if watts is None else min(max(watts, low), self.spec.max_power_w)
        )
        with self._lock:
            self._limits[index] = enforced
        return enforced

    def close(self) -> None:
        """Nothing to release."""


def fault_summary(faults: Sequence[Fault]) -> str:
    """The faults in the annotation syntax (what :func:`parse_faults` reads back)."""
    return "; ".join(str(f) for f in faults)
