"""The closed sets of values in the API: phases, feed types, placement objectives."""

from __future__ import annotations

from enum import StrEnum


class SitePhase(StrEnum):
    """How a site stands, as the operator judges it from the power feed and its nodes."""

    READY = "Ready"
    """Power data is fresh and the site takes new placements."""
    DEGRADED = "Degraded"
    """The load feed is healthy but its price source is broken: the spec's price is used
    and placements go on."""
    CURTAILED = "Curtailed"
    """The grid or the site asked for load to be shed: no new placements."""
    OFFLINE = "Offline"
    """No power (capacity 0 or an explicit outage): running work is moved away."""
    UNKNOWN = "Unknown"
    """The feed is stale, unreachable or nonsensical: no new placements, running work stays."""


class GpuNodePhase(StrEnum):
    """How a GPU node stands, from the node agent's heartbeat and NVML telemetry."""

    READY = "Ready"
    DEGRADED = "Degraded"
    """Some GPUs are unhealthy; the node runs with fewer usable GPUs."""
    UNHEALTHY = "Unhealthy"
    """The node cannot run work: it is tainted and its replicas move."""
    UNKNOWN = "Unknown"
    """No heartbeat within the stale limit."""


class JobPhase(StrEnum):
    """Where an InferenceJob is in its life."""

    PENDING = "Pending"
    """Accepted, not yet looked at by the placement engine."""
    PLACING = "Placing"
    """A placement was decided and its Deployments are being rolled out."""
    RUNNING = "Running"
    """Every replica is placed and ready."""
    DEGRADED = "Degraded"
    """Some replicas are placed or ready, not all."""
    UNSCHEDULABLE = "Unschedulable"
    """No placement fits; `status.message` counts the reasons."""
    QUEUED = "Queued"
    """No replica may run yet: each waits for its tenant's quota (Kueue); `status.message`
    says which queue and why."""
    FAILED = "Failed"
    """The job can never run as written (see the conditions)."""


class FeedType(StrEnum):
    """Where a site's live load comes from."""

    HTTP = "http"
    """GET `url`, read a number (at `jsonPath` when the body is JSON)."""
    PROMETHEUS = "prometheus"
    """Run `query` against the Prometheus server at `url`."""
    MODBUS = "modbus"
    """Read a register from a Modbus TCP meter at `host`:`port`."""
    STATIC = "static"
    """No live data: `spec.mining.loadKw` is taken as the site load."""


class LoadScope(StrEnum):
    """What a feed's load value covers."""

    SITE = "site"
    """The whole site at the grid meter: mining, GPU nodes and facility load."""
    MINING = "mining"
    """The miners alone; GPU nodes are counted from their own telemetry."""


class Objective(StrEnum):
    """What placement optimises for once the hard constraints are met."""

    LATENCY = "latency"
    COST = "cost"
    BALANCED = "balanced"


class ConditionStatus(StrEnum):
    """The status of a condition, as in `metav1.Condition`."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ModbusRegisterType(StrEnum):
    """Which Modbus table the power reading lives in."""

    HOLDING = "holding"
    INPUT = "input"


class ModbusDataType(StrEnum):
    """How the register(s) encode the value; 32-bit types span two registers (see WordOrder)."""

    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    FLOAT32 = "float32"


class WordOrder(StrEnum):
    """Which of the two registers of a 32-bit Modbus value holds the high word."""

    BIG = "big"
    """High word first (the first register is the most significant)."""
    LITTLE = "little"
    """Low word first (word-swapped meters)."""


class MinerFirmware(StrEnum):
    """The firmware a group of miners runs: which protocol the operator speaks to them."""

    LUXOS = "luxos"
    """LuxOS: cgminer-style JSON over TCP, port 4028 by default."""
    EPIC = "epic"
    """ePIC UMC: HTTP JSON, port 4028 by default; sleep and wake only; needs
    credentialsSecretRef."""


class ShedOrder(StrEnum):
    """How the miners give up power for GPU work."""

    LOWER_THEN_SLEEP = "LowerThenSleep"
    """Lower power profiles first, least efficient miners (J/TH) first; sleep the least
    efficient only when lowering every miner is not enough."""
    SLEEP_FIRST = "SleepFirst"
    """Sleep the least efficient miners; never change a profile (firmware whose profile
    change reboots the machine, or that has modes only)."""
