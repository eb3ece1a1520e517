"""The site's miners: how the operator reads and drives them (drivers), how it plans a
ramp to a mining power target (pure), and the controller that runs the ramp."""

from cango_operator.mining.driver import (
    MinerDriver,
    MinerError,
    MinerErrorKind,
    MinerProfile,
    MinerReading,
)

__all__ = ["MinerDriver", "MinerError", "MinerErrorKind", "MinerProfile", "MinerReading"]
