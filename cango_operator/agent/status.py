"""The GpuNode status the agent writes, and the patch that carries only what changed.

The agent owns these status fields (docs/api.md names): ``phase``, ``powerW``,
``lastHeartbeatTime``, ``gpus`` (index, uuid, powerW, powerLimitW, temperatureC,
utilizationPct, memoryUsedMiB, eccDoubleBitErrors, lastXid, healthy),
``observedGeneration``, its own condition in ``conditions`` (type ``GpusHealthy``), and
one addition: ``latencyMs`` (client region → median TCP connect time in whole ms, as
``Site.status.latencyMs``), from which the operator refines the Site's.
``allocatedGpus`` belongs to the operator in its own cluster. An agent whose GpuNode is
on a federation's hub reports it instead (the GPUs of the pods bound to its node, in the
status write it makes anyway): the hub's operator then writes no GpuNode per placement.
It is never sent as ``null``: an agent that cannot count now sends its last count.

The patch is a JSON merge patch computed against the status the API server holds now
(read each interval), not against what the agent last sent: so a phase the operator
set to ``Unknown`` on a stale heartbeat is put right at the next write, and an agent
restart does not resend what is already there. ``lastHeartbeatTime`` is in every patch.
Lists are replaced whole by a merge patch, so ``gpus`` goes out whole when any GPU
changed, and ``conditions`` goes out with other writers' condition types kept as read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cango_operator.agent.health import NodeHealth
from cango_operator.agent.telemetry import GpuReading, NodeReading
from cango_operator.api import GpuNodePhase, rfc3339
from cango_operator.api.conditions import Observation, merge_conditions

GPUS_HEALTHY = "GpusHealthy"
AGENT_CONDITION_TYPES = frozenset({GPUS_HEALTHY})
#: Status keys the agent writes; anything else in status is someone else's.
AGENT_KEYS = frozenset(
    {
        "phase",
        "powerW",
        "lastHeartbeatTime",
        "gpus",
        "latencyMs",
        "observedGeneration",
        "conditions",
    }
)
HEARTBEAT = "lastHeartbeatTime"
ALLOCATED = "allocatedGpus"


def gpu_status(gpu: GpuReading, healthy: bool) -> dict[str, Any]:
    return {
        "index": gpu.index,
        "uuid": gpu.uuid,
        "powerW": round(gpu.power_w),
        "powerLimitW": round(gpu.power_limit_w),
        "temperatureC": gpu.temperature_c,
        "utilizationPct": gpu.utilization_pct,
        "memoryUsedMiB": gpu.memory_used_mib,
        "eccDoubleBitErrors": gpu.ecc_double_bit_errors,
        "lastXid": gpu.last_xid,
        "healthy": healthy,
    }


def gpus_healthy_observation(health: NodeHealth) -> Observation:
    """The agent's condition as observed now."""
    if health.phase is GpuNodePhase.READY:
        return Observation(GPUS_HEALTHY, True, "AllGpusHealthy", health.message)
    if health.healthy_count == 0:
        return Observation(GPUS_HEALTHY, False, "NoHealthyGpu", health.message)
    return Observation(GPUS_HEALTHY, False, "SomeGpusUnhealthy", health.message)


def desired_status(
    reading: NodeReading,
    health: NodeHealth,
    observed: Mapping[str, Any] | None,
    *,
    now: datetime,
    overhead_w: float = 0.0,
    latency_ms: Mapping[str, float] | None = None,
    generation: int | None = None,
    allocated_gpus: int | None = None,
) -> dict[str, Any]:
    """Everything the agent wants the status to say now.

    ``powerW`` is the GPUs' measured draw plus the node's ``spec.overheadW`` (CPU, fans,
    NICs), which NVML cannot see. ``allocated_gpus``: only from an agent reporting to a hub.
    """
    observed = observed or {}
    healthy_by_index = {g.index: g.healthy for g in health.gpus}
    # Other writers' conditions as read, in their order, then the agent's own.
    conditions = merge_conditions(
        observed.get("conditions") or [],
        [gpus_healthy_observation(health)],
        now=now,
        others_first=True,
    )
    status: dict[str, Any] = {
        "phase": health.phase.value,
        "powerW": round(reading.gpu_power_w + overhead_w),
        HEARTBEAT: rfc3339(now),
        "gpus": [gpu_status(g, healthy_by_index[g.index]) for g in reading.gpus],
        "conditions": conditions,
    }
    if latency_ms:
        status["latencyMs"] = {region: round(ms) for region, ms in sorted(latency_ms.items())}
    if generation is not None:
        status["observedGeneration"] = generation
    if allocated_gpus is not None:
        status[ALLOCATED] = allocated_gpus
    return status


def _without_nulls(value: Any) -> Any:
    """The API server drops nulls of non-nullable fields; compare as if it always did."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def status_patch(desired: Mapping[str, Any], observed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The status keys to send: those that differ from the server's, plus the heartbeat.

    An agent key the server holds but the agent no longer wants (``latencyMs`` after the
    probes were turned off) is sent as ``null``, which a merge patch deletes.
    """
    observed = observed or {}
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        if key == HEARTBEAT or _without_nulls(observed.get(key)) != _without_nulls(value):
            patch[key] = value
    for key in AGENT_KEYS - desired.keys() - {HEARTBEAT}:
        if observed.get(key) is not None:
            patch[key] = None
    return patch
