"""The node agent: GPU telemetry, health, latency probes and GpuNode status for one node.

Runs on every GPU node (a DaemonSet). The front door for callers (the command, the demo,
tests) is this module; the pieces, each with one job:

``telemetry``        the :class:`TelemetrySource` interface and its plain readings
``nvml_source``      real GPUs through NVML
``simulated_source`` simulated GPUs whose load follows the pods, with injectable faults
``health``           per-GPU and node health rules
``status``           the GpuNode status and the patch of what changed
``registration``     the GpuNode a site-labelled node creates for itself
``latency``          TCP connect probes to client regions
``power_cap``        GPU power limits asked for by the operator (``--power-cap``)
``metrics``          Prometheus metrics; ``server`` serves them with ``/healthz``
``kube``             the few Kubernetes calls; ``runner`` the loop tying it together
``gpucheck``         ``make gpu-check``: this path on a real GPU (docs/gpu-check.md)
"""

from cango_operator.agent.health import FATAL_XIDS, NodeHealth, judge_gpu, judge_node
from cango_operator.agent.kube import FIELD_MANAGER, KubeClient, PodGpuCounter
from cango_operator.agent.latency import ProbeResult, ProbeTarget, measure_all, parse_probes
from cango_operator.agent.metrics import AgentMetrics
from cango_operator.agent.registration import build_gpunode, normalise_model
from cango_operator.agent.runner import Agent, AgentConfig, TickResult
from cango_operator.agent.server import start_server
from cango_operator.agent.simulated_source import (
    FAULT_ANNOTATION,
    Fault,
    FaultKind,
    SimulatedSource,
    parse_faults,
)
from cango_operator.agent.status import desired_status, status_patch
from cango_operator.agent.telemetry import (
    GpuReading,
    NodeReading,
    TelemetryError,
    TelemetrySource,
    reading_as_dict,
)
from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION

__all__ = [
    "FATAL_XIDS",
    "FAULT_ANNOTATION",
    "FIELD_MANAGER",
    "POWER_LIMIT_ANNOTATION",
    "Agent",
    "AgentConfig",
    "AgentMetrics",
    "Fault",
    "FaultKind",
    "GpuReading",
    "KubeClient",
    "NodeHealth",
    "NodeReading",
    "PodGpuCounter",
    "ProbeResult",
    "ProbeTarget",
    "SimulatedSource",
    "TelemetryError",
    "TelemetrySource",
    "TickResult",
    "build_gpunode",
    "desired_status",
    "judge_gpu",
    "judge_node",
    "measure_all",
    "normalise_model",
    "parse_faults",
    "parse_probes",
    "reading_as_dict",
    "start_server",
    "status_patch",
]
