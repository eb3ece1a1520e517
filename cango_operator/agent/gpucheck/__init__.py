"""``make gpu-check``: the agent's NVML path on a machine with a real NVIDIA GPU.

``python -m cango_operator.agent.gpucheck`` (``hack/gpu-check.sh`` picks the Python):
the driver's facts, the NVML tests with skips turned into failures, the GpuNode status
``cango-operator agent --once --print-status`` prints, a power-limit round trip (lowered,
read back, restored in ``finally``) and a few seconds of samples, all in one Markdown
report. docs/gpu-check.md says how to run it and what to carry.

``report``    the outcomes and the report file
``facts``     driver, NVML and per-GPU facts (MIG mode, ECC, power-limit range)
``power``     the power-limit round trip
``sampling``  readings through the agent's own NVML source, for a bounded time
``steps``     the steps that run a command (the tests, the agent)
``run``       the order of the steps and the exit code
"""

from cango_operator.agent.gpucheck.report import (
    EXIT_FAILED,
    EXIT_NO_GPU,
    EXIT_OK,
    Outcome,
    Report,
    Status,
)
from cango_operator.agent.gpucheck.run import CheckConfig, run_check

__all__ = [
    "EXIT_FAILED",
    "EXIT_NO_GPU",
    "EXIT_OK",
    "CheckConfig",
    "Outcome",
    "Report",
    "Status",
    "run_check",
]
