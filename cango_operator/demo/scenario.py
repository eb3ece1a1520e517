"""The demo's scenario format: a fleet, tenants' jobs over a simulated day, and timed events.

A scenario is one YAML document (see ``examples/demo/scenario.yaml``)::

    name: winter-day
    day: {lengthHours: 24, startTime: "2025-01-20T00:00:00Z", defaultSpeed: 300}
    gpuModels: {H100-80GB: {memoryMiB: 81559, maxPowerW: 700, nodeOverheadW: 1500}}
    sites:
    - name: tx-rockdale-1
      region: north-america
      cluster: north-america   # the site cluster it runs in when federated (default: region)
      capacityKw: 2400
      ...
      nodes: [{model: H100-80GB, count: 2, gpusPerNode: 8}]
    tenants:
    - name: acme
      jobs: [{name: chat, submitAt: "00:10", replicas: 4, clientRegion: north-america, ...}]
    events:
    - {type: storm, name: winter-storm, start: "05:00", end: "11:00", sites: [tx-rockdale-1]}

Times of day are ``"HH:MM"`` or ``"HH:MM:SS"`` from the start of the simulated day. Every
error names the file and the field (``sites[3].capacityKw: ...``). The scenario only
*drives* the demo; the report never reads its numbers (it measures the cluster).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from cango_operator.api import ShedOrder
from cango_operator.devcluster.tools import REPO_ROOT
from cango_operator.errors import ManifestError

DEFAULT_SCENARIO = REPO_ROOT / "examples" / "demo" / "scenario.yaml"

_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
MAX_REPORTED_ERRORS = 20
DnsName = Annotated[str, Field(min_length=1, max_length=50, pattern=_NAME)]
Region = Annotated[str, Field(min_length=1, max_length=63, pattern=_NAME)]


def parse_time_of_day(value: object) -> float:
    """``"HH:MM"`` / ``"HH:MM:SS"`` (or a number of seconds) as seconds from the day's start."""
    if isinstance(value, bool):
        raise ValueError(f"expected a time like '06:30', got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"must not be negative, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a time like '06:30', got {value!r}")
    match = _TIME.match(value.strip())
    if match is None:
        raise ValueError(f"expected a time like '06:30' or '06:30:15', got {value!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"minutes and seconds must be < 60 in {value!r}")
    return float(hours * 3600 + minutes * 60 + seconds)


def format_time_of_day(seconds: float) -> str:
    """Seconds from the day's start as ``HH:MM``."""
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


SimTime = Annotated[float, Field(ge=0)]


class Day(_Model):
    """How long the simulated day is and how fast it plays by default."""

    length_hours: Annotated[float, Field(gt=0, le=24 * 7)] = 24.0
    start_time: datetime = datetime(2025, 1, 20, tzinfo=UTC)
    default_speed: Annotated[float, Field(gt=0, le=100_000)] = 300.0

    @property
    def length_seconds(self) -> float:
        return self.length_hours * 3600.0


class GpuModel(_Model):
    """A GPU product as the fleet has it: memory, power limit, and the node around it."""

    memory_mib: Annotated[int, Field(gt=0, alias="memoryMiB")]
    max_power_w: Annotated[float, Field(gt=0, le=5000)]
    node_overhead_w: Annotated[float, Field(ge=0, le=20_000)] = 1000.0


class Location(_Model):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class Mining(_Model):
    load_kw: Annotated[float, Field(ge=0)]
    curtailable_kw: Annotated[float, Field(ge=0)] = 0.0
    #: How its miners give up power (the Site's spec.mining.shedOrder).
    shed_order: ShedOrder = ShedOrder.LOWER_THEN_SLEEP

    @model_validator(mode="after")
    def _curtailable_within_load(self) -> Mining:
        if self.curtailable_kw > self.load_kw:
            raise ValueError(
                f"curtailableKw ({self.curtailable_kw}) must not exceed loadKw ({self.load_kw})"
            )
        return self


class NodeGroup(_Model):
    """``count`` nodes of one GPU model at a site."""

    model: Annotated[str, Field(min_length=1)]
    count: Annotated[int, Field(ge=1, le=100)]
    gpus_per_node: Annotated[int, Field(ge=1, le=16)] = 8


class SiteScenario(_Model):
    name: DnsName
    region: Region
    #: The site cluster the site runs in when the demo is federated; the region's own
    #: cluster by default (one cluster per region).
    cluster: Region | None = None
    location: Location | None = None
    operator_name: str = "cango"
    capacity_kw: Annotated[float, Field(gt=0, le=2_000_000)]
    reserve_kw: Annotated[float, Field(ge=0)] = 0.0
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.1
    #: The Site's spec.power.gpuPowerCapShare: how far its GPUs may be capped.
    gpu_power_cap_share: Annotated[float, Field(ge=0.3, le=1.0)] | None = None
    energy_price_usd_per_mwh: Annotated[float, Field(ge=-10_000, le=100_000)]
    mining: Mining
    latency_ms: dict[Region, Annotated[float, Field(ge=0, le=10_000)]] = Field(min_length=1)
    nodes: list[NodeGroup] = Field(default_factory=list)

    @property
    def cluster_name(self) -> str:
        return self.cluster or self.region

    @model_validator(mode="after")
    def _budget_is_consistent(self) -> SiteScenario:
        if self.reserve_kw >= self.capacity_kw:
            raise ValueError(
                f"reserveKw ({self.reserve_kw}) must be less than capacityKw ({self.capacity_kw})"
            )
        if self.mining.load_kw > self.capacity_kw:
            raise ValueError(
                f"mining.loadKw ({self.mining.load_kw}) must not exceed capacityKw "
                f"({self.capacity_kw})"
            )
        return self

    def node_names(self) -> list[tuple[str, NodeGroup]]:
        """Every node of the site, named ``<site>-n001`` onwards, with its group."""
        named: list[tuple[str, NodeGroup]] = []
        for group in self.nodes:
            for _ in range(group.count):
                named.append((f"{self.name}-n{len(named) + 1:03d}", group))
        return named


class JobGpu(_Model):
    count: Annotated[int, Field(ge=1, le=16)] = 1
    models: list[str] = Field(default_factory=list)
    min_memory_mib: Annotated[int, Field(ge=0, alias="minMemoryMiB")] = 0


class JobScenario(_Model):
    name: DnsName
    submit_at: SimTime
    end_at: SimTime | None = None
    replicas: Annotated[int, Field(ge=1, le=1000)]
    gpu: JobGpu = JobGpu()
    image: str = "registry.example/inference/vllm:0.6"
    estimated_power_w: Annotated[float, Field(gt=0)] | None = None
    client_region: Region
    max_latency_ms: Annotated[float, Field(gt=0)]
    min_sites: Annotated[int, Field(ge=1)] = 1
    objective: Literal["latency", "cost", "balanced"] = "balanced"
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    preemptible: bool = True

    @field_validator("submit_at", "end_at", mode="before")
    @classmethod
    def _parse_time(cls, value: object) -> object:
        return None if value is None else parse_time_of_day(value)

    @model_validator(mode="after")
    def _ends_after_submit(self) -> JobScenario:
        if self.end_at is not None and self.end_at <= self.submit_at:
            raise ValueError("endAt must be after submitAt")
        return self


class Tenant(_Model):
    name: DnsName
    jobs: list[JobScenario] = Field(min_length=1)

    @property
    def namespace(self) -> str:
        return f"tenant-{self.name}"


class _Window(_Model):
    name: DnsName
    start: SimTime
    end: SimTime

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_time(cls, value: object) -> object:
        return parse_time_of_day(value)

    @model_validator(mode="after")
    def _end_after_start(self) -> _Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class StormEvent(_Window):
    """A storm cuts the sites' grid connections from ``start`` to ``end``: no power at all."""

    type: Literal["storm"]
    sites: list[DnsName] = Field(min_length=1)


class CurtailmentEvent(_Window):
    """The grid lowers a site's capacity to ``capacityKw``, announced ahead of ``start``."""

    type: Literal["curtailment"]
    site: DnsName
    capacity_kw: Annotated[float, Field(ge=0)]
    announce_minutes: Annotated[float, Field(ge=0, le=24 * 60)] = 30.0


class PriceSpikeEvent(_Window):
    """The energy price at the sites jumps to ``priceUsdPerMwh`` from ``start`` to ``end``."""

    type: Literal["priceSpike"]
    sites: list[DnsName] = Field(min_length=1)
    price_usd_per_mwh: Annotated[float, Field(ge=-10_000, le=100_000)]


class GpuFailureEvent(_Model):
    """GPU ``gpu`` of a node reports XID ``xid`` at ``at`` (79: fallen off the bus).

    The node is ``node``; without one, the busiest node (most GPUs held by pods) at
    ``site``, or in the whole fleet, chosen in each world when the event comes: GPUs fail
    more under load, and a failure where nothing runs shows nothing.
    """

    type: Literal["gpuFailure"]
    name: DnsName
    at: SimTime
    node: DnsName | None = None
    site: DnsName | None = None
    gpu: Annotated[int, Field(ge=0, le=15)] = 0
    xid: Annotated[int, Field(ge=1)] = 79

    @model_validator(mode="after")
    def _node_or_site(self) -> GpuFailureEvent:
        if self.node is not None and self.site is not None:
            raise ValueError("give node or site, not both")
        return self

    @field_validator("at", mode="before")
    @classmethod
    def _parse_time(cls, value: object) -> object:
        return parse_time_of_day(value)

    @property
    def start(self) -> float:
        return self.at


Event = Annotated[
    StormEvent | CurtailmentEvent | PriceSpikeEvent | GpuFailureEvent,
    Field(discriminator="type"),
]


class Scenario(_Model):
    name: DnsName
    description: str = ""
    day: Day = Day()
    gpu_models: dict[str, GpuModel] = Field(min_length=1)
    sites: list[SiteScenario] = Field(min_length=1)
    tenants: list[Tenant] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    #: Mining revenue per PH/s per day (USD): the Sites' hashprice and the report's.
    hashprice_usd_per_ph_day: Annotated[float, Field(ge=0, le=10_000)] = 48.0
    #: What a GPU-hour of the tenants' work earns (USD): the jobs' value, the report's.
    gpu_value_usd_per_hour: Annotated[float, Field(ge=0, le=10_000)] = 2.0

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        problems: list[str] = []
        problems += _duplicates("sites", [s.name for s in self.sites])
        problems += _duplicates("tenants", [t.name for t in self.tenants])
        problems += _duplicates("events", [e.name for e in self.events])
        site_names = {s.name for s in self.sites}
        regions = {r for s in self.sites for r in s.latency_ms}
        day_end = self.day.length_seconds
        for i, site in enumerate(self.sites):
            for j, group in enumerate(site.nodes):
                if group.model not in self.gpu_models:
                    problems.append(
                        f"sites[{i}].nodes[{j}].model: {group.model!r} is not in gpuModels "
                        f"({', '.join(sorted(self.gpu_models))})"
                    )
        for t, tenant in enumerate(self.tenants):
            problems += _duplicates(f"tenants[{t}].jobs", [j.name for j in tenant.jobs])
            for j, job in enumerate(tenant.jobs):
                where = f"tenants[{t}].jobs[{j}]"
                for model in job.gpu.models:
                    if model not in self.gpu_models:
                        problems.append(f"{where}.gpu.models: {model!r} is not in gpuModels")
                if job.client_region not in regions:
                    problems.append(
                        f"{where}.clientRegion: no site declares a latency to "
                        f"{job.client_region!r} (known: {', '.join(sorted(regions))})"
                    )
                if job.submit_at >= day_end:
                    problems.append(f"{where}.submitAt: after the day's end")
        for e, event in enumerate(self.events):
            where = f"events[{e}]"
            if event.start >= day_end:
                problems.append(f"{where}: starts after the day's end")
            named_sites: list[str] = []
            if isinstance(event, StormEvent | PriceSpikeEvent):
                named_sites = event.sites
            elif isinstance(event, CurtailmentEvent | GpuFailureEvent) and event.site:
                named_sites = [event.site]
            for site_name in named_sites:
                if site_name not in site_names:
                    problems.append(f"{where}: site {site_name!r} is not in sites")
            if isinstance(event, GpuFailureEvent):
                problems += _gpu_failure_problems(event, where, self.sites)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- views the demo needs -------------------------------------------------------------

    def site(self, name: str) -> SiteScenario:
        return next(s for s in self.sites if s.name == name)

    def jobs(self) -> list[tuple[Tenant, JobScenario]]:
        """Every job with its tenant, in submission order."""
        pairs = [(t, j) for t in self.tenants for j in t.jobs]
        return sorted(pairs, key=lambda p: (p[1].submit_at, p[0].name, p[1].name))

    def client_regions(self) -> list[str]:
        return sorted({r for s in self.sites for r in s.latency_ms})

    def site_clusters(self) -> list[str]:
        """The site clusters of the federated demo, one per distinct ``cluster``."""
        return sorted({s.cluster_name for s in self.sites})


def _gpu_failure_problems(
    event: GpuFailureEvent, where: str, sites: Sequence[SiteScenario]
) -> list[str]:
    """The node must exist; the GPU index must exist on every node it may pick."""
    node_gpus = {n: g.gpus_per_node for s in sites for n, g in s.node_names()}
    if event.node is not None:
        if event.node not in node_gpus:
            return [f"{where}.node: {event.node!r} is not a node of any site"]
        candidates = {event.node: node_gpus[event.node]}
    else:
        candidates = {
            n: g.gpus_per_node
            for s in sites
            if event.site in (None, s.name)
            for n, g in s.node_names()
        }
    if not candidates:
        return [f"{where}: no node to fail (the site has none)"]
    fewest = min(candidates.values())
    if event.gpu >= fewest:
        return [f"{where}.gpu: a node it may pick has {fewest} GPUs, no index {event.gpu}"]
    return []


def _duplicates(where: str, names: Sequence[str]) -> list[str]:
    dupes = sorted({n for n in names if names.count(n) > 1})
    return [f"{where}: {n!r} is given more than once" for n in dupes]


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("storm", "curtailment", "priceSpike", "gpuFailure"):
            continue  # the discriminated union's branch name, not a field
        else:
            text += f".{part}"
    return text.lstrip(".") or "scenario"


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, each naming the field path as the YAML spells it."""
    lines = []
    errors = exc.errors()
    for err in errors[:MAX_REPORTED_ERRORS]:
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{source}: {_location(tuple(err['loc']))}: {message}")
    if len(errors) > MAX_REPORTED_ERRORS:
        lines.append(f"{source}: ... and {len(errors) - MAX_REPORTED_ERRORS} more problems")
    return "\n".join(lines)


def parse_scenario(document: Any, source: str = "scenario") -> Scenario:
    """Validate a parsed YAML document; errors raise ManifestError naming source and field."""
    if not isinstance(document, dict):
        raise ManifestError(
            f"{source}: expected a mapping at the top, got {type(document).__name__}"
        )
    try:
        return Scenario.model_validate(document)
    except ValidationError as exc:
        raise ManifestError(format_validation_error(exc, source)) from None


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None
    return parse_scenario(document, str(path))
