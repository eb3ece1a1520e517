"""Health rules: is each GPU usable, and what phase is the node in.

A GPU is unhealthy when any of these holds:

- it has fallen off the bus (NVML answers ``GPU_IS_LOST``, or XID 79);
- its last XID is fatal (:data:`FATAL_XIDS`): errors after which the GPU needs a reset
  before work placed on it can be trusted;
- it has counted any uncorrected (double-bit) ECC error since the driver loaded.

XIDs that name an application fault (13, 31, 43, 45, 68, ...) are not fatal: the process
dies, the GPU is fine.

The node is ``Ready`` when every expected GPU is healthy, ``Unhealthy`` when none is
(or the node reports no GPU at all), and ``Degraded`` in between: fewer usable GPUs than
the spec says, so placement counts only the healthy ones. A GPU the spec expects but NVML
no longer lists counts as unhealthy. A stale heartbeat (``Unknown``) is the operator's to
judge, never the agent's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cango_operator.agent.telemetry import GpuReading
from cango_operator.api import GpuNodePhase

#: XIDs after which a GPU is not trusted until reset. From NVIDIA's XID catalogue:
#: 48 double-bit ECC, 61/62 internal micro-controller halt, 64 ECC row-remap failure,
#: 74 NVLink error, 79 fallen off the bus, 94/95 contained/uncontained ECC error,
#: 119/120 GSP RPC timeout/error, 140 unrecovered ECC error.
FATAL_XIDS: frozenset[int] = frozenset({48, 61, 62, 64, 74, 79, 94, 95, 119, 120, 140})

XID_MEANINGS: dict[int, str] = {
    48: "double-bit ECC error",
    61: "internal micro-controller breakpoint",
    62: "internal micro-controller halt",
    64: "ECC row-remapping failure",
    74: "NVLink error",
    79: "fallen off the bus",
    94: "contained ECC error",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
    120: "GSP error",
    140: "unrecovered ECC error",
}


#: The phases the agent writes; ``Unknown`` (stale heartbeat) is the operator's to set.
AGENT_PHASES = (GpuNodePhase.READY, GpuNodePhase.DEGRADED, GpuNodePhase.UNHEALTHY)


@dataclass(frozen=True)
class GpuHealth:
    index: int
    healthy: bool
    reason: str  # empty when healthy, else one short phrase for conditions and logs


@dataclass(frozen=True)
class NodeHealth:
    phase: GpuNodePhase
    gpus: tuple[GpuHealth, ...]
    healthy_count: int
    expected_count: int

    @property
    def message(self) -> str:
        """One line for the condition: which GPUs are out and why."""
        bad = [f"gpu {g.index}: {g.reason}" for g in self.gpus if not g.healthy]
        missing = self.expected_count - len(self.gpus)
        if missing > 0:
            bad.append(f"{missing} GPU(s) the spec expects are not reported")
        head = f"{self.healthy_count}/{self.expected_count} GPUs healthy"
        return f"{head}: {'; '.join(bad)}" if bad else head


def judge_gpu(gpu: GpuReading, fatal_xids: frozenset[int] = FATAL_XIDS) -> GpuHealth:
    """Apply the GPU rules of the module docstring to one reading."""
    if gpu.lost:
        return GpuHealth(gpu.index, False, "fallen off the bus (GPU is lost)")
    if gpu.last_xid is not None and gpu.last_xid in fatal_xids:
        meaning = XID_MEANINGS.get(gpu.last_xid, "fatal")
        return GpuHealth(gpu.index, False, f"XID {gpu.last_xid} ({meaning})")
    if gpu.ecc_double_bit_errors > 0:
        return GpuHealth(gpu.index, False, f"{gpu.ecc_double_bit_errors} double-bit ECC error(s)")
    return GpuHealth(gpu.index, True, "")


def judge_node(
    gpus: tuple[GpuReading, ...],
    expected_count: int | None = None,
    fatal_xids: frozenset[int] = FATAL_XIDS,
) -> NodeHealth:
    """The node's phase from its GPUs; ``expected_count`` is ``spec.gpu.count`` when known."""
    judged = tuple(judge_gpu(g, fatal_xids) for g in gpus)
    healthy = sum(1 for g in judged if g.healthy)
    expected = max(len(gpus), expected_count or 0)
    if healthy == 0:
        phase = GpuNodePhase.UNHEALTHY
    elif healthy < expected:
        phase = GpuNodePhase.DEGRADED
    else:
        phase = GpuNodePhase.READY
    return NodeHealth(phase=phase, gpus=judged, healthy_count=healthy, expected_count=expected)
