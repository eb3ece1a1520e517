"""InferenceJob: a containerized inference service a tenant wants running somewhere."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from cango_operator.api.base import SpecModel, StatusModel, cel_rule, defaulted
from cango_operator.api.endpoint import EndpointSpec
from cango_operator.api.enums import JobPhase, Objective
from cango_operator.api.gpunode import MAX_GPU_MEMORY_MIB, MAX_GPUS_PER_NODE
from cango_operator.api.inferenceclass import DEFAULT_CLASS, MAX_PRIORITY
from cango_operator.api.meta import Condition, conditions_field
from cango_operator.api.resource import AGE_COLUMN, PrinterColumn, Resource
from cango_operator.api.types import (
    LIST_SET,
    GpuModel,
    LabelName,
    NoDuplicates,
    ObjectName,
    Quantity,
    Region,
)

MAX_REPLICAS = 1000
MAX_ARGS = 64
MAX_ENV = 64
MAX_SITES = 100
#: `^[a-z]([-a-z0-9]*[a-z0-9])?$`: the job's Service is named after it.
DNS_1035_LABEL_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"

Arg = Annotated[str, Field(max_length=4096)]


class SecretKeySelector(SpecModel):
    """One key of a Secret in the job's namespace."""

    name: ObjectName
    """Name of the Secret."""
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
    """Key within the Secret."""


class EnvVarSource(SpecModel):
    """Where an environment variable's value comes from, when not written inline."""

    secret_key_ref: SecretKeySelector
    """A key of a Secret in the job's namespace (tokens, API keys)."""


class EnvVar(SpecModel):
    """One environment variable of the container."""

    name: Annotated[str, Field(min_length=1, max_length=256, pattern=ENV_NAME_PATTERN)]
    """Name of the variable."""
    value: Annotated[str, Field(max_length=32768)] | None = None
    """Literal value. Secrets go in valueFrom, never here."""
    value_from: EnvVarSource | None = None
    """Take the value from a Secret instead."""

    @cel_rule(
        "!has(self.value) || !has(self.valueFrom)",
        message="value and valueFrom are mutually exclusive",
        field="valueFrom",
        reason="FieldValueForbidden",
    )
    def _one_source(self) -> bool:
        return self.value is None or self.value_from is None


def _unique_env_names(env: list[EnvVar]) -> list[EnvVar]:
    names = [e.name for e in env]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate names: {', '.join(dupes)}")
    return env


class ContainerResources(SpecModel):
    """CPU and memory each replica requests besides its GPUs."""

    cpu: Quantity | None = None
    """CPU per replica, e.g. 8 or 500m."""
    memory: Quantity | None = None
    """Memory per replica, e.g. 64Gi."""


class ContainerSpec(SpecModel):
    """The container every replica runs."""

    image: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[^\s]+$")]
    """Container image, e.g. ghcr.io/acme/vllm-llama:1.2."""
    command: Annotated[list[Arg], Field(max_length=MAX_ARGS)] = Field(default_factory=list)
    """Entrypoint; empty: the image's."""
    args: Annotated[list[Arg], Field(max_length=MAX_ARGS)] = Field(default_factory=list)
    """Arguments to the entrypoint."""
    env: Annotated[
        list[EnvVar],
        Field(max_length=MAX_ENV),
        AfterValidator(_unique_env_names),
    ] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """Environment variables; names are unique."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    """Port the service listens on; the job's Service exposes it."""
    resources: ContainerResources | None = None
    """CPU and memory per replica (GPUs come from spec.gpu)."""


class JobGpu(SpecModel):
    """The GPUs each replica needs."""

    count: Annotated[int, Field(ge=1, le=MAX_GPUS_PER_NODE)] = 1
    """GPUs per replica, 1..16; a replica's GPUs are on one node."""
    models: Annotated[list[GpuModel], Field(max_length=16), NoDuplicates] = Field(
        default_factory=list, json_schema_extra=LIST_SET
    )
    """Allowed GPU models, e.g. [H100-80GB, H200-141GB]; empty: any."""
    min_memory_mib: Annotated[int, Field(ge=0, le=MAX_GPU_MEMORY_MIB)] | None = None
    """Least memory per GPU in MiB; absent or 0: any (as maxReplicasPerSite 0 is no limit)."""


class PlacementSpec(SpecModel):
    """Where replicas may go and what to prefer among the places that fit."""

    client_region: Region | None = None
    """Region the users are in; latency is measured from each site to it. Required by
    maxLatencyMs and by the latency objective."""
    max_latency_ms: Annotated[int, Field(ge=1, le=60_000)] | None = None
    """Hard SLO: never place where the site's latency to clientRegion exceeds this (ms).
    Absent: no limit."""
    allowed_regions: Annotated[list[Region], Field(max_length=64), NoDuplicates] = Field(
        default_factory=list, json_schema_extra=LIST_SET
    )
    """Data residency: only sites in these regions; empty: any."""
    min_sites: Annotated[int, Field(ge=1, le=MAX_SITES)] = 1
    """Spread replicas over at least this many sites (1: no spread); at most replicas."""
    max_replicas_per_site: Annotated[int, Field(ge=0, le=MAX_REPLICAS)] = 0
    """At most this many replicas at one site; 0: no limit."""
    max_moves_per_round: Annotated[int, Field(ge=0, le=MAX_REPLICAS)] = 0
    """Running replicas the engine may move in one planning round when that serves more
    GPUs of higher priorities or improves the objective; 0 (default): running replicas
    stay where they are unless they must move (node or site lost, power, preemption)."""
    objective: Objective = Field(Objective.BALANCED, strict=False)
    """What to optimise once the hard constraints hold: latency, cost (energy price) or
    balanced (latency, price and power headroom together)."""

    @cel_rule(
        "!has(self.maxLatencyMs) || has(self.clientRegion)",
        message="clientRegion is required when maxLatencyMs is set",
        field="clientRegion",
        reason="FieldValueRequired",
    )
    def _region_for_latency_slo(self) -> bool:
        return self.max_latency_ms is None or self.client_region is not None

    @cel_rule(
        "self.objective != 'latency' || has(self.clientRegion)",
        message="clientRegion is required when objective is latency",
        field="clientRegion",
        reason="FieldValueRequired",
    )
    def _region_for_latency_objective(self) -> bool:
        return self.objective != Objective.LATENCY or self.client_region is not None


class FailoverSpec(SpecModel):
    """What to do about replicas at a site the hub cannot reach (a federated site whose
    cluster's lease lapsed: a cut link, not necessarily a dark site)."""

    replace: bool = True
    """True: after replaceAfterSeconds, place replacements elsewhere while the originals
    stay as they are at the unreachable site (they may well still serve its users).
    False: never replace them; wait for the site."""
    replace_after_seconds: Annotated[int, Field(ge=0, le=30 * 24 * 3600)] = 60
    """How long the site may be unreachable before replacements are placed; 0: at once.
    When it is back, the replicas beyond spec.replicas (the originals and the
    replacements together) are removed at once, the best-placed ones (nearest
    clientRegion, then cheapest) staying."""


class InferenceJobSpec(SpecModel):
    """What the tenant asks for."""

    replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)] = 1
    """Number of replicas, 1..1000."""
    container: ContainerSpec
    """The container each replica runs."""
    gpu: JobGpu = defaulted(JobGpu)
    """GPUs per replica and which models will do."""
    estimated_power_w: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Power one replica draws, in W, for the site power budget. Absent: the placement
    engine takes gpu.count times the node's gpu.maxPowerW."""
    placement: PlacementSpec = defaulted(PlacementSpec)
    """Latency SLO, regions, spread and objective."""
    class_name: ObjectName = DEFAULT_CLASS
    """The InferenceClass of the job: the API server holds its priority, preemptible and
    GPUs to the class, and lets only those granted the class name it (docs/tenancy.md)."""
    priority: Annotated[int, Field(ge=0, le=MAX_PRIORITY)] = 0
    """Higher priority may preempt lower (only preemptible jobs are preempted); at most
    the class's priority."""
    preemptible: bool = False
    """True: replicas may be moved or stopped for higher-priority work or curtailment."""
    failover: FailoverSpec = defaulted(FailoverSpec)
    """Replicas at a site the hub cannot reach: when to replace them elsewhere."""
    value_usd_per_gpu_hour: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] | None = (
        None
    )
    """What one GPU-hour of this job earns, in USD. At a site that sheds mining for GPUs,
    new replicas take the mining's power only when they earn more per kWh than the mining
    (docs/api.md, Revenue). Absent: GPU work wins."""
    endpoint: EndpointSpec | None = None
    """Serve the job through the inference gateway at this path (and host name): the
    operator writes an InferencePool of its replicas and an HTTPRoute to it, and the URL
    into status.endpoint. Absent: no route (the job's Service only)."""

    @cel_rule(
        "!has(self.placement) || self.placement.minSites <= self.replicas",
        message="placement.minSites must not exceed replicas",
        field="placement.minSites",
    )
    def _spread_within_replicas(self) -> bool:
        return self.placement.min_sites <= self.replicas


class JobPlacement(StatusModel):
    """Replicas of the job on one node: one line of the placement decision."""

    site: LabelName
    """Site of the node."""
    node: ObjectName
    """GpuNode the replicas run on; its spec.nodeName is the Kubernetes Node they are
    pinned to."""
    replicas: Annotated[int, Field(ge=0, le=MAX_REPLICAS)]
    """Replicas on the node."""
    gpus: Annotated[int, Field(ge=0)] | None = None
    """GPUs they use (replicas times gpu.count)."""
    power_w: Annotated[float, Field(ge=0)] | None = None
    """Power committed for them, in W."""
    held_replicas: Annotated[int, Field(ge=0, le=MAX_REPLICAS)] | None = None
    """Of `replicas`, those not started yet: they need mining power that is being shed,
    and wait until the site's meter shows it (meter first). Absent: none."""

    @property
    def active_replicas(self) -> int:
        """The replicas to run now: placed and not held."""
        return max(0, self.replicas - (self.held_replicas or 0))


#: The name the contract's prose uses for one placement line.
PlacementStatus = JobPlacement


class Usage(StatusModel):
    """Metering for billing, since the job was created."""

    gpu_hours: Annotated[float, Field(ge=0)] | None = None
    """GPU-hours used."""
    energy_kwh: Annotated[float, Field(ge=0)] | None = None
    """Energy used, in kWh at the meter (PUE included)."""


class InferenceJobStatus(StatusModel):
    """What the operator decided and observes."""

    phase: JobPhase | None = None
    """Pending, Placing, Running, Degraded, Unschedulable or Failed."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The .metadata.generation this status was computed from."""
    replicas: Annotated[int, Field(ge=0)] | None = None
    """Replicas placed."""
    ready_replicas: Annotated[int, Field(ge=0)] | None = None
    """Replicas ready to serve."""
    unknown_replicas: Annotated[int, Field(ge=0)] | None = None
    """Replicas at sites the hub cannot reach: they may be serving, nobody can tell.
    Counted neither as ready nor as missing."""
    placements: list[JobPlacement] = Field(default_factory=list, max_length=MAX_REPLICAS)
    """The placement decision, node by node."""
    unreachable_placements: list[JobPlacement] = Field(
        default_factory=list, max_length=MAX_REPLICAS
    )
    """Replicas at an unreachable site that were replaced elsewhere (spec.failover): they
    stay as they are there until the site is back, then the surplus is removed."""
    sites: Annotated[list[Annotated[str, Field(max_length=63)]], Field(max_length=MAX_SITES)] = (
        Field(default_factory=list)
    )
    """Sites the job runs at, sorted."""
    latency_ms: Annotated[int, Field(ge=0)] | None = None
    """Worst latency from a placed site to clientRegion, in ms."""
    message: Annotated[str, Field(max_length=4096)] | None = None
    """Why the job is not running as asked, counted by reason, e.g. "0/2000 nodes fit:
    1400 latency > 50ms, 380 no power at site, 220 no H100"."""
    usage: Usage | None = None
    """Metering for billing."""
    selector: Annotated[str, Field(max_length=1024)] | None = None
    """Label selector of the job's pods (for the scale subresource and autoscalers)."""
    endpoint: Annotated[str, Field(max_length=2048)] | None = None
    """The URL the job is served at through the inference gateway, as the operator knows
    it: http(s)://<spec.endpoint.hostname, else the gateway's first address><spec.endpoint.path>
    (https when the gateway's served listener, its first HTTP or HTTPS one, is HTTPS; with
    its port when that is not 80 or 443). Absent while the job
    asks for no endpoint, while the operator runs without --gateway, and while the gateway
    has no address yet and spec.endpoint.hostname is not set."""
    conditions: list[Condition] = conditions_field()
    """Latest observations of the job's state."""


class InferenceJob(Resource):
    """A containerized inference service a tenant wants running at the mining sites.

    The operator places its replicas by power, price and latency and runs them as
    Deployments pinned to the chosen nodes, plus one Service named after the job.
    """

    KIND: ClassVar[str] = "InferenceJob"
    PLURAL: ClassVar[str] = "inferencejobs"
    SINGULAR: ClassVar[str] = "inferencejob"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ij",)
    NAMESPACED: ClassVar[bool] = True
    SCALE: ClassVar[dict[str, str] | None] = {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn("Phase", "string", ".status.phase", "Pending, Running, Unschedulable, ..."),
        PrinterColumn("Ready", "integer", ".status.readyReplicas", "Replicas ready to serve"),
        PrinterColumn("Replicas", "integer", ".spec.replicas", "Replicas asked for"),
        PrinterColumn("Sites", "string", ".status.sites", "Sites the job runs at"),
        PrinterColumn("Latency", "integer", ".status.latencyMs", "Worst site latency, ms"),
        PrinterColumn("Message", "string", ".status.message", "Why not running", priority=1),
        AGE_COLUMN,
    )

    kind: Literal["InferenceJob"] = "InferenceJob"
    """Kind of the object: InferenceJob."""
    spec: InferenceJobSpec
    """What the tenant asks for."""
    status: InferenceJobStatus | None = None
    """What the operator decided and observes."""

    @cel_rule(
        "self.metadata.name.size() <= 63 && self.metadata.name.matches('"
        + DNS_1035_LABEL_PATTERN
        + "')",
        message="an InferenceJob name names its Service: a DNS-1035 label "
        "(lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
        field="metadata.name",
    )
    def _name_fits_a_service(self) -> bool:
        name = self.metadata.name
        return len(name) <= 63 and re.fullmatch(DNS_1035_LABEL_PATTERN, name) is not None
