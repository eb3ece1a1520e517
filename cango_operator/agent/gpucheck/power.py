"""The power-limit round trip: lower GPU ``index``'s limit, read it back, put it back.

The limit is lowered through the agent's own :class:`NvmlSource` (the path ``--power-cap``
takes) and checked with NVML's own reads. Whatever happens in between, ``finally`` puts
the limit the GPU had back (NVML, milliwatts) and reads it again; a limit that cannot be
put back fails the check loudly with the ``nvidia-smi`` command that does it by hand.
Without permission (not root, no CAP_SYS_ADMIN) the step is skipped, saying so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from cango_operator.agent.gpucheck.report import Outcome, Status
from cango_operator.agent.nvml_source import NvmlSource
from cango_operator.agent.telemetry import TelemetryError
from cango_operator.errors import ConfigError

MW_PER_W = 1000
#: lower by this share of the current limit, and by at least MIN_STEP_MW
STEP_SHARE = 0.1
MIN_STEP_MW = 10_000


def lowered_limit_mw(current_mw: int, min_mw: int) -> int | None:
    """A limit below ``current_mw`` the GPU accepts, in whole watts; None at the minimum."""
    step = max(round(current_mw * STEP_SHARE), MIN_STEP_MW)
    target = max(min_mw, (current_mw - step) // MW_PER_W * MW_PER_W)
    return target if target < current_mw else None


@dataclass(frozen=True)
class _Gpu:
    """One GPU's handle and limits, in milliwatts as NVML gives them."""

    index: int
    handle: Any
    original: int
    default: int
    target: int


def _w(mw: int) -> str:
    return f"{mw / MW_PER_W:g} W"


def _code(exc: BaseException | None) -> Any:
    return getattr(exc, "value", None)


def power_limit_round_trip(nvml: Any, source: NvmlSource, index: int) -> Outcome:
    name = f"power limit round trip (GPU {index})"
    lines: list[str] = []
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        low, high = (int(v) for v in nvml.nvmlDeviceGetPowerManagementLimitConstraints(handle))
        original = int(nvml.nvmlDeviceGetPowerManagementLimit(handle))
        default = int(nvml.nvmlDeviceGetPowerManagementDefaultLimit(handle))
    except nvml.NVMLError as exc:
        if _code(exc) in (nvml.NVML_ERROR_NOT_SUPPORTED, nvml.NVML_ERROR_NO_PERMISSION):
            return Outcome(name, Status.SKIPPED, f"the GPU does not report its limits ({exc})")
        return Outcome(name, Status.FAILED, f"reading the power limits failed: {exc}")
    lines.append(
        f"allowed {_w(low)} to {_w(high)}, default {_w(default)}, limit now {_w(original)}"
    )
    target = lowered_limit_mw(original, low)
    if target is None:
        return Outcome(name, Status.SKIPPED, f"the limit is at its minimum ({_w(low)})", lines)
    result: tuple[Status, str] | None = None
    try:
        result = _lower(nvml, source, _Gpu(index, handle, original, default, target), lines)
    finally:
        trouble = _put_back(nvml, handle, index, original, lines)
        if trouble is not None:  # said at once: an exception may be on its way out
            print(f"gpu-check: {trouble}", file=sys.stderr, flush=True)
    if trouble is not None:
        return Outcome(name, Status.FAILED, trouble, lines)
    assert result is not None
    return Outcome(name, result[0], result[1], lines)


def _lower(nvml: Any, source: NvmlSource, gpu: _Gpu, lines: list[str]) -> tuple[Status, str]:
    """Lower the limit through the agent's source and check it took; (verdict, why)."""
    index, handle, target, original, default = (
        gpu.index,
        gpu.handle,
        gpu.target,
        gpu.original,
        gpu.default,
    )
    try:
        enforced_w = source.set_power_limit(index, target / MW_PER_W)
    except ConfigError as exc:
        return Status.SKIPPED, f"no permission to set power limits (run as root): {exc}"
    except TelemetryError as exc:
        if _code(exc.__cause__) == nvml.NVML_ERROR_NOT_SUPPORTED:
            return Status.SKIPPED, f"the GPU does not take a power limit: {exc}"
        return Status.FAILED, f"setting {_w(target)} failed: {exc}"
    limit = int(nvml.nvmlDeviceGetPowerManagementLimit(handle))
    enforced = int(nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    seen_w = source.read().gpus[index].power_limit_w
    lines.append(
        f"set {_w(target)}: agent says {enforced_w:g} W enforced; NVML reads limit "
        f"{_w(limit)}, enforced {_w(enforced)}; the agent's reading shows {seen_w:g} W"
    )
    problems = []
    if limit != target:
        problems.append(f"NVML reads {_w(limit)} back, not {_w(target)}")
    if round(enforced_w * MW_PER_W) != target:
        problems.append(f"the agent reported {enforced_w:g} W, not {_w(target)}")
    if enforced > target:
        problems.append(f"NVML enforces {_w(enforced)}, above the {_w(target)} set")
    if abs(seen_w * MW_PER_W - enforced) > 100:
        problems.append(f"the agent's reading shows {seen_w:g} W, NVML enforces {_w(enforced)}")
    if original == default:  # the agent's "back to default" also puts the original back
        back_w = source.set_power_limit(index, None)
        limit = int(nvml.nvmlDeviceGetPowerManagementLimit(handle))
        lines.append(f"back to default through the agent: {back_w:g} W, NVML reads {_w(limit)}")
        if limit != default:
            problems.append(f"back to default left {_w(limit)}, not {_w(default)}")
    if problems:
        return Status.FAILED, "; ".join(problems)
    return Status.PASSED, f"lowered to {_w(target)}, read back, and put back at {_w(original)}"


def _put_back(nvml: Any, handle: Any, index: int, original: int, lines: list[str]) -> str | None:
    """Restore ``original`` unless NVML reads it already; None when done, else why not."""
    try:
        if int(nvml.nvmlDeviceGetPowerManagementLimit(handle)) == original:
            lines.append(f"limit is {_w(original)}, as before")
            return None
    except nvml.NVMLError:
        pass  # cannot tell: set it anyway
    by_hand = f"set it by hand: nvidia-smi -i {index} -pl {original / MW_PER_W:g}"
    try:
        nvml.nvmlDeviceSetPowerManagementLimit(handle, original)
        now = int(nvml.nvmlDeviceGetPowerManagementLimit(handle))
    except nvml.NVMLError as exc:
        return f"PUTTING THE POWER LIMIT BACK FAILED ({exc}); {by_hand}"
    if now != original:
        return f"PUTTING THE POWER LIMIT BACK FAILED: it reads {_w(now)}; {by_hand}"
    lines.append(f"put back at {_w(original)}")
    return None
