"""Power capping during curtailment (only with ``--power-cap``).

The operator asks for a per-GPU power limit by annotating the GpuNode with
``compute.cango.io/gpu-power-limit-w: "350"`` (watts, every GPU of the node). The agent
applies it through the telemetry source (NVML: ``nvmlDeviceSetPowerManagementLimit``,
clamped to what the GPU allows) and the enforced limit shows in
``status.gpus[].powerLimitW``. Removing the annotation restores each GPU's default limit.
Without ``--power-cap`` the annotation is ignored (and said so once in the log).
"""

from __future__ import annotations

import logging

from cango_operator.agent.telemetry import TelemetryError, TelemetrySource
from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION, parse_power_limit
from cango_operator.errors import CangoError, ConfigError

log = logging.getLogger(__name__)


class PowerCapper:
    """Applies the requested limit when it changes, and only then."""

    def __init__(self, source: TelemetrySource, gpu_count: int, enabled: bool) -> None:
        self.source = source
        self.gpu_count = gpu_count
        self.enabled = enabled
        self._applied: float | None = None
        self._synced = False  # a limit left by an earlier run is put right at the first call
        self._warned_disabled = False

    def apply(self, annotation: str | None) -> int:
        """Bring the GPUs to the annotation's limit; returns how many GPU limits were set."""
        try:
            wanted = parse_power_limit(annotation)
        except ConfigError as exc:
            log.warning("ignoring the power limit request: %s", exc)
            return 0
        if not self.enabled:
            if wanted is not None and not self._warned_disabled:
                log.warning(
                    "%s=%s ignored: the agent runs without --power-cap",
                    POWER_LIMIT_ANNOTATION,
                    annotation,
                )
                self._warned_disabled = True
            return 0
        if self._synced and wanted == self._applied:
            return 0
        enforced: list[float] = []
        failures: list[CangoError] = []
        for index in range(self.gpu_count):  # one GPU failing must not leave the rest uncapped
            try:
                enforced.append(self.source.set_power_limit(index, wanted))
            except (ConfigError, TelemetryError) as exc:
                failures.append(exc)
        if failures:  # not synced: every GPU is asked again at the next interval
            raise _failed(failures, len(enforced), self.gpu_count)
        self._applied, self._synced = wanted, True
        log.info(
            "GPU power limit %s: enforced %s W",
            f"{wanted:g} W requested" if wanted is not None else "back to default",
            ", ".join(f"{w:g}" for w in enforced),
        )
        return len(enforced)


def _failed(failures: list[CangoError], done: int, count: int) -> CangoError:
    """One error for every GPU that failed; a configuration error only if all were."""
    message = f"power limit set on {done} of {count} GPUs; " + "; ".join(map(str, failures))
    if all(isinstance(f, ConfigError) for f in failures):
        return ConfigError(message)
    return TelemetryError(message)
