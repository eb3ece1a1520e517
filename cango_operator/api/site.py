"""Site: one mining site, a place with a grid connection and a power budget."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cango_operator.api.base import SpecModel, StatusModel, cel_rule, defaulted
from cango_operator.api.enums import FeedType, ModbusDataType, ModbusRegisterType, SitePhase
from cango_operator.api.meta import Condition, conditions_field
from cango_operator.api.resource import AGE_COLUMN, PrinterColumn, Resource
from cango_operator.api.types import DNS_LABEL_PATTERN, ObjectName, Region

#: 1 GW: far above any single site, low enough to catch a value given in W instead of kW.
MAX_KW = 1_000_000.0
#: Client regions a site may declare a latency to.
MAX_REGIONS = 64
MAX_LATENCY_MS = 60_000
URL_PATTERN = r"^https?://[^\s]+$"

Kw = Annotated[float, Field(ge=0, le=MAX_KW)]
LatencyMs = Annotated[int, Field(ge=0, le=MAX_LATENCY_MS)]


class SiteLocation(SpecModel):
    """Where the site is. Informational: maps, dashboards, reports."""

    country: Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")] | None = None
    """ISO 3166-1 alpha-2 country code, e.g. US, PY, ET."""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    """Degrees north (negative: south), -90..90. Give it together with longitude."""
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    """Degrees east (negative: west), -180..180. Give it together with latitude."""

    @cel_rule(
        "!has(self.latitude) || has(self.longitude)",
        message="longitude is required when latitude is given",
        field="longitude",
        reason="FieldValueRequired",
    )
    def _longitude_with_latitude(self) -> bool:
        return self.latitude is None or self.longitude is not None

    @cel_rule(
        "!has(self.longitude) || has(self.latitude)",
        message="latitude is required when longitude is given",
        field="latitude",
        reason="FieldValueRequired",
    )
    def _latitude_with_longitude(self) -> bool:
        return self.longitude is None or self.latitude is not None


class SecretRef(SpecModel):
    """A Secret holding credentials. Credentials are never written inline in a Site."""

    name: ObjectName
    """Name of the Secret. Keys the feeds read: `token` (sent as a bearer token), or
    `username` and `password` (HTTP basic auth)."""
    namespace: (
        Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)] | None
    ) = None
    """Namespace of the Secret; default: the namespace the operator runs in."""


class PowerFeed(SpecModel):
    """Where the site's live load comes from. Which fields apply depends on `type`."""

    type: FeedType = Field(strict=False)
    """Kind of feed: http (JSON or plain number over HTTP), prometheus (a PromQL query),
    modbus (a Modbus TCP power meter) or static (no live data: `spec.mining.loadKw`)."""
    url: Annotated[str, Field(max_length=2048, pattern=URL_PATTERN)] | None = None
    """http: the URL to GET. prometheus: the base URL of the Prometheus server.
    Required for both."""
    json_path: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    """http: dotted path to the number in the JSON body, e.g. `site.loadKw` or
    `meters.0.kw`; absent: the whole body is the number."""
    query: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    """prometheus: PromQL query returning one sample, the site load in kW. Required."""
    host: Annotated[str, Field(min_length=1, max_length=253)] | None = None
    """modbus: host name or IP address of the meter. Required."""
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    """modbus: TCP port of the meter."""
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    """modbus: unit (slave) id of the meter."""
    register_address: Annotated[int, Field(ge=0, le=65535)] | None = Field(None, alias="register")
    """modbus: address of the (first) register holding the load. Required."""
    register_type: ModbusRegisterType = Field(ModbusRegisterType.HOLDING, strict=False)
    """modbus: holding or input register."""
    data_type: ModbusDataType = Field(ModbusDataType.UINT16, strict=False)
    """modbus: encoding of the value; 32-bit types span two registers, high word first."""
    scale: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    """modbus: kW per unit of the raw register value (e.g. 0.001 for a meter reporting W)."""
    interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 15
    """How often to read the feed, in seconds."""
    stale_after_seconds: Annotated[int, Field(ge=2, le=86400)] = 90
    """A reading older than this makes the site Unknown (no new placements). Must be
    greater than intervalSeconds."""
    secret_ref: SecretRef | None = None
    """Secret with credentials for the feed (http and prometheus)."""

    @cel_rule(
        "!(self.type in ['http', 'prometheus']) || has(self.url)",
        message="url is required when type is http or prometheus",
        field="url",
        reason="FieldValueRequired",
    )
    def _url_for_http(self) -> bool:
        return self.type not in (FeedType.HTTP, FeedType.PROMETHEUS) or self.url is not None

    @cel_rule(
        "self.type != 'prometheus' || has(self.query)",
        message="query is required when type is prometheus",
        field="query",
        reason="FieldValueRequired",
    )
    def _query_for_prometheus(self) -> bool:
        return self.type != FeedType.PROMETHEUS or self.query is not None

    @cel_rule(
        "self.type != 'modbus' || has(self.host)",
        message="host is required when type is modbus",
        field="host",
        reason="FieldValueRequired",
    )
    def _host_for_modbus(self) -> bool:
        return self.type != FeedType.MODBUS or self.host is not None

    @cel_rule(
        "self.type != 'modbus' || has(self.register)",
        message="register is required when type is modbus",
        field="register",
        reason="FieldValueRequired",
    )
    def _register_for_modbus(self) -> bool:
        return self.type != FeedType.MODBUS or self.register_address is not None

    @cel_rule(
        "self.staleAfterSeconds > self.intervalSeconds",
        message="staleAfterSeconds must be greater than intervalSeconds",
        field="staleAfterSeconds",
    )
    def _stale_after_interval(self) -> bool:
        return self.stale_after_seconds > self.interval_seconds


class SitePower(SpecModel):
    """The site's power budget: what the grid connection gives and what must stay free."""

    capacity_kw: Annotated[float, Field(gt=0, le=MAX_KW)]
    """Contracted / interconnect capacity of the site in kW; greater than 0."""
    reserve_kw: Kw = 0.0
    """Safety margin in kW that is never allocated; less than capacityKw."""
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.0
    """Power usage effectiveness, 1.0..3.0: each kW of IT load costs pue kW at the meter
    (cooling, conversion losses). GPU draw and commitments are multiplied by it."""
    feed: PowerFeed | None = None
    """Live site load. Absent: static, the site load is `spec.mining.loadKw`."""

    @cel_rule(
        "self.reserveKw < self.capacityKw",
        message="reserveKw must be less than capacityKw",
        field="reserveKw",
    )
    def _reserve_below_capacity(self) -> bool:
        return self.reserve_kw < self.capacity_kw


class Mining(SpecModel):
    """The bitcoin miners that share the site's power with the GPUs."""

    load_kw: Kw = 0.0
    """Current mining draw in kW, used when no feed says otherwise."""
    curtailable_kw: Kw = 0.0
    """How much of the mining load may be shed (in kW) to make room for GPU work;
    at most loadKw."""

    @cel_rule(
        "self.curtailableKw <= self.loadKw",
        message="curtailableKw must not exceed loadKw",
        field="curtailableKw",
    )
    def _curtailable_within_load(self) -> bool:
        return self.curtailable_kw <= self.load_kw


class SiteSpec(SpecModel):
    """What the site operator declares about a mining site."""

    region: Region
    """Client region the site serves best, one of the regions jobs name in
    `placement.clientRegion`, e.g. north-america."""
    location: SiteLocation | None = None
    """Where the site is (country, coordinates)."""
    operator_name: Annotated[str, Field(min_length=1, max_length=63)] | None = None
    """Who runs the site: the miner that owns it (the network is open to other miners)."""
    power: SitePower
    """Power budget of the site: capacity, reserve, PUE and where live load comes from."""
    energy_price_usd_per_mwh: Annotated[float, Field(ge=-10_000, le=100_000)] | None = None
    """Energy price at the site in USD/MWh (may be negative on some grids). A price feed
    may override it; absent: unknown, the cost score treats the site as average."""
    mining: Mining = defaulted(Mining)
    """Mining load at the site and how much of it may be shed for GPU work."""
    latency_ms: dict[Region, LatencyMs] = Field(default_factory=dict, max_length=MAX_REGIONS)
    """Declared round-trip time in ms from the site to each client region; the node
    agent's probes may refine it (see status.latencyMs). A region not listed is
    unreachable for latency-bound jobs."""
    cordoned: bool = False
    """True: no new placements at this site; running work stays."""

    @cel_rule(
        "!has(self.mining) || self.mining.loadKw <= self.power.capacityKw",
        message="mining.loadKw must not exceed power.capacityKw",
        field="mining.loadKw",
    )
    def _mining_within_capacity(self) -> bool:
        return self.mining.load_kw <= self.power.capacity_kw


class FeedStatus(StatusModel):
    """Health of the site's power feed."""

    healthy: bool | None = None
    """Whether the last reading was fresh and plausible."""
    last_sample_time: datetime | None = None
    """When the last usable reading was taken."""
    last_value_kw: float | None = None
    """The last usable reading, in kW."""
    message: Annotated[str, Field(max_length=1024)] | None = None
    """Why the feed is unhealthy, when it is."""


class SitePowerStatus(StatusModel):
    """The site's power as the operator last computed it (all in kW at the meter)."""

    capacity_kw: Annotated[float, Field(ge=0)] | None = None
    """Capacity in effect: spec.power.capacityKw, or what the feed reports when lower."""
    other_load_kw: Annotated[float, Field(ge=0)] | None = None
    """Mining and everything else that is not GPU nodes, from the feed."""
    gpu_draw_kw: Annotated[float, Field(ge=0)] | None = None
    """Sum of the GpuNodes' measured power, times pue."""
    committed_kw: Annotated[float, Field(ge=0)] | None = None
    """Power promised to placed replicas, times pue."""
    available_kw: Annotated[float, Field(ge=0)] | None = None
    """What a new placement may still use: capacityKw - reserveKw - otherLoadKw
    - max(gpuDrawKw, committedKw) + sheddable mining, never negative."""
    mining_target_kw: Annotated[float, Field(ge=0)] | None = None
    """Recommended mining load so that GPU work fits (a signal to the miners)."""
    feed: FeedStatus | None = None
    """Health of the power feed."""


class SiteGpuStatus(StatusModel):
    """GPU counts at the site, summed over its GpuNodes."""

    total: Annotated[int, Field(ge=0)] | None = None
    """GPUs on the site's nodes."""
    allocated: Annotated[int, Field(ge=0)] | None = None
    """GPUs given to placed replicas."""
    free: Annotated[int, Field(ge=0)] | None = None
    """GPUs on Ready, schedulable nodes that are not allocated."""


class SiteNodeStatus(StatusModel):
    """GpuNode counts at the site."""

    total: Annotated[int, Field(ge=0)] | None = None
    """GpuNodes that name this site."""
    ready: Annotated[int, Field(ge=0)] | None = None
    """Of those, the ones in phase Ready."""


class SiteStatus(StatusModel):
    """What the operator observes about the site."""

    phase: SitePhase | None = None
    """Ready, Degraded, Curtailed, Offline or Unknown."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The .metadata.generation this status was computed from."""
    power: SitePowerStatus | None = None
    """Power budget as last computed."""
    gpus: SiteGpuStatus | None = None
    """GPU counts at the site."""
    nodes: SiteNodeStatus | None = None
    """GpuNode counts at the site."""
    latency_ms: dict[str, Annotated[int, Field(ge=0)]] | None = Field(None, max_length=MAX_REGIONS)
    """Measured round-trip time in ms to each client region (node agent probes)."""
    energy_price_usd_per_mwh: float | None = None
    """Energy price in effect (from a price feed, else the spec)."""
    conditions: list[Condition] = conditions_field()
    """Latest observations of the site's state (Ready, PowerFeedHealthy, ...)."""


class Site(Resource):
    """A mining site: a grid connection with a power budget shared by miners and GPU nodes.

    Cluster-scoped; its name labels the site's Kubernetes Nodes (compute.cango.io/site),
    so it is at most 63 characters.
    """

    KIND: ClassVar[str] = "Site"
    PLURAL: ClassVar[str] = "sites"
    SINGULAR: ClassVar[str] = "site"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("st",)
    NAMESPACED: ClassVar[bool] = False
    SELECTABLE_FIELDS: ClassVar[tuple[str, ...]] = (".spec.region",)
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn("Region", "string", ".spec.region", "Client region the site serves"),
        PrinterColumn("Phase", "string", ".status.phase", "Ready, Degraded, Curtailed, ..."),
        PrinterColumn(
            "Available kW", "number", ".status.power.availableKw", "Power a placement may use"
        ),
        PrinterColumn("Free GPUs", "integer", ".status.gpus.free", "Unallocated usable GPUs"),
        PrinterColumn(
            "Capacity kW", "number", ".spec.power.capacityKw", "Contracted capacity", priority=1
        ),
        PrinterColumn(
            "Price", "number", ".spec.energyPriceUsdPerMwh", "Energy price, USD/MWh", priority=1
        ),
        PrinterColumn("Cordoned", "boolean", ".spec.cordoned", "No new placements", priority=1),
        AGE_COLUMN,
    )

    kind: Literal["Site"] = "Site"
    """Kind of the object: Site."""
    spec: SiteSpec
    """What the site operator declares."""
    status: SiteStatus | None = None
    """What the operator observes."""

    @cel_rule(
        "self.metadata.name.size() <= 63",
        message="a Site name is used as a label value: at most 63 characters",
        field="metadata.name",
    )
    def _name_fits_a_label(self) -> bool:
        return len(self.metadata.name) <= 63
