"""A few seconds of readings through the agent's own NVML source, bounded in count and time.

Each reading drains the XID events NVML queued since the one before (the source waits
for them briefly), so an XID during the check shows in its row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cango_operator.agent.gpucheck.report import Outcome, Status
from cango_operator.agent.nvml_source import NvmlSource
from cango_operator.agent.telemetry import GpuReading, TelemetryError


def row(elapsed_s: float, gpu: GpuReading) -> str:
    if gpu.lost:
        return f"{elapsed_s:5.1f}s GPU {gpu.index}: LOST (fallen off the bus), XIDs {gpu.xids}"
    return (
        f"{elapsed_s:5.1f}s GPU {gpu.index}: {gpu.power_w:g} W (limit {gpu.power_limit_w:g} W), "
        f"{gpu.utilization_pct}% busy, {gpu.memory_used_mib}/{gpu.memory_total_mib} MiB, "
        f"{gpu.temperature_c} C, ECC uncorrected {gpu.ecc_double_bit_errors}, "
        f"XIDs {list(gpu.xids) or '-'}, clocks held by {','.join(gpu.throttle_reasons) or '-'}"
    )


def sample(
    source: NvmlSource,
    seconds: float,
    interval_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Read every GPU each ``interval_s`` for ``seconds`` (at most seconds/interval + 1)."""
    name = f"sampling ({seconds:g} s)"
    most = math.floor(seconds / interval_s) + 1
    start = clock()
    deadline = start + seconds
    lines: list[str] = []
    gpus: list[GpuReading] = []
    readings = 0
    for _ in range(most):
        try:
            reading = source.read()
        except TelemetryError as exc:
            return Outcome(name, Status.FAILED, f"reading {readings + 1} failed: {exc}", lines)
        readings += 1
        lines += [row(clock() - start, g) for g in reading.gpus]
        gpus += reading.gpus
        left = deadline - clock()
        if left <= 0:
            break
        sleep(min(interval_s, left))
    lost = sorted({g.index for g in gpus if g.lost})
    xids = sorted({(g.index, x) for g in gpus for x in g.xids})
    powers = [g.power_w for g in gpus if not g.lost]
    summary = (
        f"{readings} readings: power {min(powers, default=0):g} to {max(powers, default=0):g} W, "
        f"XIDs {', '.join(f'GPU {i}: {x}' for i, x in xids) or 'none'}"
    )
    if lost:
        return Outcome(name, Status.FAILED, f"GPUs {lost} lost; {summary}", lines)
    return Outcome(name, Status.PASSED, summary, lines)
