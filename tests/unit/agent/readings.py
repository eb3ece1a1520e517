"""Readings for tests: a plausible healthy GPU, changed only where a test says."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cango_operator.agent.telemetry import GpuReading, NodeReading


def gpu(index: int = 0, **changes: Any) -> GpuReading:
    base = GpuReading(
        index=index,
        uuid=f"GPU-test-{index}",
        name="NVIDIA H100 80GB HBM3",
        memory_total_mib=81559,
        memory_used_mib=60000,
        utilization_pct=87,
        power_w=410.4,
        power_limit_w=700.0,
        default_power_limit_w=700.0,
        temperature_c=61,
    )
    return replace(base, **changes)


def node(*gpus: GpuReading, count: int = 0) -> NodeReading:
    """The given GPUs, or ``count`` healthy ones."""
    return NodeReading(gpus=gpus or tuple(gpu(i) for i in range(count)))
