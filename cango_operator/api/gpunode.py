"""GpuNode: one containerized GPU node at a site, 1:1 with a Kubernetes Node."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cango_operator.api.base import SpecModel, StatusModel
from cango_operator.api.enums import GpuNodePhase
from cango_operator.api.meta import Condition, conditions_field
from cango_operator.api.resource import AGE_COLUMN, PrinterColumn, Resource
from cango_operator.api.site import MAX_REGIONS
from cango_operator.api.types import GpuModel, LabelName, ObjectName
from cango_operator.errors import ConfigError

MAX_GPUS_PER_NODE = 16
#: 2 TiB: above any GPU's memory, low enough to catch a value given in bytes.
MAX_GPU_MEMORY_MIB = 2_097_152
MAX_GPU_POWER_W = 5_000
#: The per-GPU power limit (W, every GPU of the node) the operator asks a node's agent to
#: enforce; absent: each GPU's default limit (docs/api.md, GPU power caps).
POWER_LIMIT_ANNOTATION = "compute.cango.io/gpu-power-limit-w"


def parse_power_limit(value: str | None) -> float | None:
    """The annotation's watts, ``None`` when absent or empty; ConfigError when nonsense.
    The operator reads it back as the cap it asked for, the agent to enforce it."""
    if value is None or not value.strip():
        return None
    try:
        watts = float(value)
    except ValueError:
        raise ConfigError(f"{POWER_LIMIT_ANNOTATION}: {value!r} is not a number of watts") from None
    if not math.isfinite(watts) or watts <= 0:
        raise ConfigError(f"{POWER_LIMIT_ANNOTATION}: must be a positive number, got {value!r}")
    return watts


class GpuSpec(SpecModel):
    """The node's GPUs: all of one model."""

    model: GpuModel
    """GPU product name as NVML reports it, normalised, e.g. H100-80GB, L40S-48GB.
    Jobs select nodes by this name (spec.gpu.models)."""
    count: Annotated[int, Field(ge=1, le=MAX_GPUS_PER_NODE)]
    """Number of GPUs on the node, 1..16."""
    memory_mib: Annotated[int, Field(ge=1, le=MAX_GPU_MEMORY_MIB)]
    """Memory of one GPU in MiB (e.g. 81559 for an H100 80GB)."""
    max_power_w: Annotated[int, Field(ge=1, le=MAX_GPU_POWER_W)]
    """Power limit of one GPU in W (TDP or the enforced limit). A job's power estimate
    defaults to its GPU count times this."""


class GpuNodeSpec(SpecModel):
    """What the site operator (or the node agent, registering itself) declares."""

    site: LabelName
    """Name of the Site the node is at."""
    node_name: ObjectName
    """Name of the Kubernetes Node this GpuNode describes."""
    gpu: GpuSpec
    """The node's GPUs."""
    overhead_w: Annotated[int, Field(ge=0, le=100_000)] = 0
    """Power the node draws besides its GPUs (CPUs, fans, NICs) in W, whenever it is on."""
    unschedulable: bool = False
    """True: no new replicas are placed on the node; running ones stay."""


class GpuStatus(StatusModel):
    """One GPU, as NVML last reported it."""

    index: Annotated[int, Field(ge=0, le=63)]
    """NVML index of the GPU on the node."""
    uuid: Annotated[str, Field(max_length=128)] | None = None
    """NVML UUID (GPU-...)."""
    power_w: Annotated[float, Field(ge=0)] | None = None
    """Current draw in W."""
    power_limit_w: Annotated[float, Field(ge=0)] | None = None
    """Enforced power limit in W."""
    temperature_c: float | None = None
    """GPU temperature in degrees Celsius."""
    utilization_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    """GPU utilisation in percent."""
    memory_used_mib: Annotated[int, Field(ge=0)] | None = None
    """Memory in use in MiB."""
    ecc_double_bit_errors: Annotated[int, Field(ge=0)] | None = None
    """Uncorrectable (double-bit) ECC errors since the driver loaded."""
    last_xid: int | None = Field(None, json_schema_extra={"nullable": True})
    """Last XID error code reported; null when none."""
    healthy: bool = True
    """False after a fatal XID (48, 79, 94, 95, ...) or double-bit ECC errors."""


class GpuNodeStatus(StatusModel):
    """What the node agent measures and the operator allocates."""

    phase: GpuNodePhase | None = None
    """Ready, Degraded (fewer usable GPUs), Unhealthy or Unknown (stale heartbeat)."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The .metadata.generation this status was computed from."""
    power_w: Annotated[float, Field(ge=0)] | None = None
    """Measured draw of the whole node in W."""
    allocated_gpus: Annotated[int, Field(ge=0, le=MAX_GPUS_PER_NODE)] | None = None
    """GPUs given to placed replicas (written by the operator)."""
    last_heartbeat_time: datetime | None = None
    """When the node agent last reported."""
    gpus: list[GpuStatus] = Field(default_factory=list, max_length=MAX_GPUS_PER_NODE)
    """One entry per GPU, from NVML."""
    latency_ms: dict[str, Annotated[int, Field(ge=0)]] | None = Field(None, max_length=MAX_REGIONS)
    """Median TCP connect time in ms from the node to each probed client region (node
    agent); the operator refines the Site's status.latencyMs from these."""
    conditions: list[Condition] = conditions_field()
    """Latest observations of the node's state."""


class GpuNode(Resource):
    """A containerized GPU node at a mining site; maps 1:1 to a Kubernetes Node."""

    KIND: ClassVar[str] = "GpuNode"
    PLURAL: ClassVar[str] = "gpunodes"
    SINGULAR: ClassVar[str] = "gpunode"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("gn",)
    NAMESPACED: ClassVar[bool] = False
    SELECTABLE_FIELDS: ClassVar[tuple[str, ...]] = (".spec.site", ".spec.nodeName")
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn("Site", "string", ".spec.site", "Site the node is at"),
        PrinterColumn("Model", "string", ".spec.gpu.model", "GPU model"),
        PrinterColumn("GPUs", "integer", ".spec.gpu.count", "GPUs on the node"),
        PrinterColumn("Phase", "string", ".status.phase", "Ready, Degraded, Unhealthy, Unknown"),
        PrinterColumn("Power W", "number", ".status.powerW", "Measured draw of the node"),
        PrinterColumn(
            "Allocated", "integer", ".status.allocatedGpus", "GPUs given to replicas", priority=1
        ),
        PrinterColumn("Node", "string", ".spec.nodeName", "Kubernetes Node", priority=1),
        AGE_COLUMN,
    )

    kind: Literal["GpuNode"] = "GpuNode"
    """Kind of the object: GpuNode."""
    spec: GpuNodeSpec
    """What the site operator or the node agent declares."""
    status: GpuNodeStatus | None = None
    """What the node agent measures and the operator allocates."""
