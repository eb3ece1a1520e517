"""Site: one mining site, a place with a grid connection and a power budget."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from cango_operator.api import revenue
from cango_operator.api.base import SpecModel, StatusModel, cel_rule, defaulted
from cango_operator.api.enums import (
    FeedType,
    LoadScope,
    MinerFirmware,
    ModbusDataType,
    ModbusRegisterType,
    ShedOrder,
    SitePhase,
    WordOrder,
)
from cango_operator.api.meta import Condition, conditions_field
from cango_operator.api.resource import AGE_COLUMN, PrinterColumn, Resource
from cango_operator.api.types import (
    DNS_LABEL_PATTERN,
    LIST_SET,
    NoDuplicates,
    ObjectName,
    Region,
)

#: 1 GW: far above any single site, low enough to catch a value given in W instead of kW.
MAX_KW = 1_000_000.0
#: Client regions a site may declare a latency to.
MAX_REGIONS = 64
MAX_LATENCY_MS = 60_000
URL_PATTERN = r"^https?://[^\s]+$"
#: Some character that is not white space (the value is not blank).
NON_BLANK_PATTERN = r"\S"
#: A dotted path into a JSON document: ``site.loadKw``, ``$.meters[0].kw``, ``meters.0.kw``.
#: Keys hold no ``.``, ``[`` or ``]`` and do not start or end with white space; a leading
#: ``$`` is the document root, not a key.
_PATH_KEY = r"[^.\[\]\s]([^.\[\]]*[^.\[\]\s])?"
_FIRST_KEY = r"[^$.\[\]\s]([^.\[\]]*[^.\[\]\s])?"
FEED_PATH_PATTERN = rf"^(\$\.?)?({_FIRST_KEY}|\[[0-9]+\])(\.{_PATH_KEY}|\.?\[[0-9]+\])*$"
#: One read of a feed: long enough for a slow gateway, short enough to notice a dead one.
MAX_FEED_TIMEOUT_SECONDS = 60.0
MAX_FEED_RETRIES = 10

Kw = Annotated[float, Field(ge=0, le=MAX_KW, allow_inf_nan=False)]
#: Energy prices may be negative on some grids.
PriceUsdPerMwh = Annotated[float, Field(ge=-10_000, le=100_000)]
#: A managed cluster's name is also a namespace on the hub: a DNS label.
ClusterName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
LatencyMs = Annotated[int, Field(ge=0, le=MAX_LATENCY_MS)]
FeedPath = Annotated[str, Field(min_length=1, max_length=256, pattern=FEED_PATH_PATTERN)]
PromQuery = Annotated[str, Field(min_length=1, max_length=4096, pattern=NON_BLANK_PATTERN)]
RegisterAddress = Annotated[int, Field(ge=0, le=65535)]
#: A miner's efficiency in J/TH: today's machines are 10-40; above 1,000 is a unit mistake.
JPerTh = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]


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

    def __str__(self) -> str:
        """``namespace/name``, or ``name`` alone: how messages name the Secret."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def _only_for(
    feed_types: tuple[FeedType, ...], attribute: str, wire_name: str
) -> Callable[[PowerFeed], bool]:
    """A rule: the field ``wire_name`` may be given only on feeds of ``feed_types``."""
    names = [t.value for t in feed_types]
    if len(names) == 1:
        condition, words = f"self.type == '{names[0]}'", f"{names[0]} feeds"
    else:
        condition = "self.type in [" + ", ".join(f"'{n}'" for n in names) + "]"
        words = " and ".join(names) + " feeds"

    @cel_rule(
        f"{condition} || !has(self.{wire_name})",
        message=f"{wire_name} applies only to {words}",
        field=wire_name,
        reason="FieldValueForbidden",
    )
    def check(feed: PowerFeed) -> bool:
        return feed.type in feed_types or getattr(feed, attribute) is None

    return check


_HTTP = (FeedType.HTTP,)
_PROMETHEUS = (FeedType.PROMETHEUS,)
_MODBUS = (FeedType.MODBUS,)
_HTTP_OR_PROMETHEUS = (FeedType.HTTP, FeedType.PROMETHEUS)


class PowerFeed(SpecModel):
    """Where the site's live load comes from. Which fields apply depends on `type`;
    a field of another feed type is rejected (the modbus fields with defaults excepted)."""

    type: FeedType = Field(strict=False)
    """Kind of feed: http (JSON or plain number over HTTP), prometheus (a PromQL query),
    modbus (a Modbus TCP power meter) or static (no live data: `spec.mining.loadKw`)."""
    url: Annotated[str, Field(max_length=2048, pattern=URL_PATTERN)] | None = None
    """http: the URL to GET. prometheus: the base URL of the Prometheus server.
    Required for both, and for no other type. No credentials in it: use secretRef."""
    json_path: FeedPath | None = None
    """http: dotted path to the load in kW in the JSON body, e.g. `site.loadKw` or
    `meters[0].kw`; absent: the whole body is the number."""
    capacity_path: FeedPath | None = None
    """http: dotted path to the capacity the site may draw right now, in kW. A value
    below capacityKw curtails the site; 0 takes it offline. Absent: capacityKw holds."""
    curtailed_path: FeedPath | None = None
    """http: dotted path to a curtailment flag (true/false or 1/0). True: the grid asks
    the site to shed load, so it takes no new placements. Absent: no flag."""
    price_path: FeedPath | None = None
    """http: dotted path to the energy price in USD/MWh; it overrides
    energyPriceUsdPerMwh while the feed is healthy. Absent: the spec's price."""
    timestamp_path: FeedPath | None = None
    """http: dotted path to when the meter took the reading (unix seconds or RFC 3339
    with a zone); staleAfterSeconds counts from it. Absent: the time of the read."""
    query: PromQuery | None = None
    """prometheus: PromQL query returning one sample, the load in kW. Required."""
    capacity_query: PromQuery | None = None
    """prometheus: PromQL query returning the capacity the site may draw right now, in
    kW. A value below capacityKw curtails the site; 0 takes it offline."""
    curtailed_query: PromQuery | None = None
    """prometheus: PromQL query returning a curtailment flag, 0 or 1. 1: the grid asks
    the site to shed load, so it takes no new placements."""
    price_query: PromQuery | None = None
    """prometheus: PromQL query returning the energy price in USD/MWh; it overrides
    energyPriceUsdPerMwh while the feed is healthy."""
    host: Annotated[str, Field(min_length=1, max_length=253, pattern=NON_BLANK_PATTERN)] | None = (
        None
    )
    """modbus: host name or IP address of the meter. Required."""
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    """modbus: TCP port of the meter."""
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    """modbus: unit (slave) id of the meter."""
    register_address: RegisterAddress | None = Field(None, alias="register")
    """modbus: address (0-based) of the (first) register holding the load. Required."""
    register_type: ModbusRegisterType = Field(ModbusRegisterType.HOLDING, strict=False)
    """modbus: holding or input registers (for every register of the feed)."""
    data_type: ModbusDataType = Field(ModbusDataType.UINT16, strict=False)
    """modbus: encoding of the load and capacity values; 32-bit types span two
    registers, in the order wordOrder gives."""
    word_order: WordOrder = Field(WordOrder.BIG, strict=False)
    """modbus: for 32-bit data types, big (high word first) or little (low word first,
    as word-swapped meters send it)."""
    scale: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    """modbus: kW per unit of the raw register value (e.g. 0.001 for a meter reporting W);
    applies to the load and the capacity."""
    capacity_register: RegisterAddress | None = None
    """modbus: address of the register holding the capacity the site may draw right now
    (same registerType, dataType and scale as the load). A value below capacityKw
    curtails the site; 0 takes it offline."""
    curtailed_register: RegisterAddress | None = None
    """modbus: address of a uint16 register holding a curtailment flag: not 0 means the
    grid asks the site to shed load, so it takes no new placements."""
    interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 15
    """How often to read the feed, in seconds."""
    stale_after_seconds: Annotated[int, Field(ge=2, le=86400)] = 90
    """A reading older than this makes the site Unknown (no new placements). Must be
    greater than intervalSeconds."""
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_FEED_TIMEOUT_SECONDS)] | None = None
    """How long one read may take, in seconds (each retry gets as long again); at most
    intervalSeconds. Absent: 10 or intervalSeconds, whichever is less."""
    retries: Annotated[int, Field(ge=0, le=MAX_FEED_RETRIES)] = 2
    """How often a failed read is tried again within one poll, with exponential backoff.
    Only faults a retry may cure are retried: timeouts, refused connections, HTTP errors,
    Modbus exceptions."""
    load_scope: LoadScope = Field(LoadScope.SITE, strict=False)
    """What the feed's load covers: site (the whole site at the grid meter, GPU nodes
    included; their draw is subtracted) or mining (the miners alone)."""
    secret_ref: SecretRef | None = None
    """Secret with credentials for the feed (http and prometheus only)."""

    @cel_rule(
        "!(self.type in ['http', 'prometheus']) || has(self.url)",
        message="url is required when type is http or prometheus",
        field="url",
        reason="FieldValueRequired",
    )
    def _url_for_http(self) -> bool:
        return self.type not in _HTTP_OR_PROMETHEUS or self.url is not None

    @cel_rule(
        "!has(self.url) || !self.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@')",
        message="url must not carry credentials; use secretRef",
        field="url",
    )
    def _no_credentials_in_url(self) -> bool:
        return self.url is None or "@" not in urlsplit(self.url).netloc

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

    @cel_rule(
        "!has(self.timeoutSeconds) || self.timeoutSeconds <= double(self.intervalSeconds)",
        message="timeoutSeconds must not exceed intervalSeconds",
        field="timeoutSeconds",
    )
    def _timeout_within_interval(self) -> bool:
        return self.timeout_seconds is None or self.timeout_seconds <= self.interval_seconds

    # Fields that belong to one kind of feed are refused on the others, so a field that
    # would be silently ignored is a clear error instead.
    _url_only_http_prometheus = _only_for(_HTTP_OR_PROMETHEUS, "url", "url")
    _secret_ref_only_http_prometheus = _only_for(_HTTP_OR_PROMETHEUS, "secret_ref", "secretRef")
    _json_path_only_http = _only_for(_HTTP, "json_path", "jsonPath")
    _capacity_path_only_http = _only_for(_HTTP, "capacity_path", "capacityPath")
    _curtailed_path_only_http = _only_for(_HTTP, "curtailed_path", "curtailedPath")
    _price_path_only_http = _only_for(_HTTP, "price_path", "pricePath")
    _timestamp_path_only_http = _only_for(_HTTP, "timestamp_path", "timestampPath")
    _query_only_prometheus = _only_for(_PROMETHEUS, "query", "query")
    _capacity_query_only_prometheus = _only_for(_PROMETHEUS, "capacity_query", "capacityQuery")
    _curtailed_query_only_prometheus = _only_for(_PROMETHEUS, "curtailed_query", "curtailedQuery")
    _price_query_only_prometheus = _only_for(_PROMETHEUS, "price_query", "priceQuery")
    _host_only_modbus = _only_for(_MODBUS, "host", "host")
    _register_only_modbus = _only_for(_MODBUS, "register_address", "register")
    _capacity_register_only_modbus = _only_for(_MODBUS, "capacity_register", "capacityRegister")
    _curtailed_register_only_modbus = _only_for(_MODBUS, "curtailed_register", "curtailedRegister")


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
    gpu_power_cap_share: Annotated[float, Field(ge=0.3, le=1.0)] | None = None
    """The lowest share of each GPU's `gpu.maxPowerW` the operator may cap the site's GPUs
    to, when capping serves more GPUs within the power budget than the site can without
    (docs/api.md, GPU power caps); 0.3..1.0. Absent: the site's GPUs are never capped."""

    @cel_rule(
        "self.reserveKw < self.capacityKw",
        message="reserveKw must be less than capacityKw",
        field="reserveKw",
    )
    def _reserve_below_capacity(self) -> bool:
        return self.reserve_kw < self.capacity_kw


#: Miners one Site may list (all groups together).
MAX_MINERS = 5000
MAX_MINER_GROUPS = 16


def parse_miner_address(address: str) -> tuple[str, int | None]:
    """``("10.1.2.3", 4028)`` from ``"10.1.2.3:4028"``, ``("10.1.2.3", None)`` from
    ``"10.1.2.3"`` (IPv6: ``"::1"`` or ``"[::1]:4028"``); ValueError naming the address
    for anything else (a host name, a port out of range)."""
    bare = address.strip("[]")
    if _is_ip(bare):
        return bare, None
    host, sep, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not _is_ip(host):
        raise ValueError(f"miner address {address!r}: not an IP address (IP or IP:port)")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"miner address {address!r}: port must be 1..65535")
    return host, int(port_text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


MinerAddress = Annotated[str, Field(min_length=2, max_length=47, pattern=r"^[0-9A-Fa-f.:\[\]]+$")]


class MinerGroup(SpecModel):
    """Miners of one firmware that the operator drives."""

    firmware: MinerFirmware = Field(strict=False)
    """Which protocol the miners speak: luxos."""
    addresses: Annotated[
        list[MinerAddress], Field(min_length=1, max_length=MAX_MINERS), NoDuplicates
    ] = Field(json_schema_extra=LIST_SET)
    """Each miner's IP address, or IP:port when its API is not on the firmware's default
    port (luxos: 4028)."""

    credentials_secret_ref: SecretRef | None = None
    """The Secret with the miners' API password (key `password`), mounted into the
    site-mining controller's pod; required by epic. Never the factory default."""
    efficiency_j_per_th: JPerTh | None = None
    """The group's efficiency in J/TH (joules per terahash); absent: `mining.efficiencyJPerTh`."""

    @cel_rule(
        "self.firmware != 'epic' || has(self.credentialsSecretRef)",
        message="credentialsSecretRef is required for epic miners",
        field="credentialsSecretRef",
        reason="FieldValueRequired",
    )
    def _epic_needs_credentials(self) -> bool:
        return self.firmware is not MinerFirmware.EPIC or self.credentials_secret_ref is not None

    @field_validator("addresses")
    @classmethod
    def _addresses_are_ips(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            parse_miner_address(address)
        return addresses


class MinerRamp(SpecModel):
    """How fast the miners' load may change: a ramp in batches, not a step."""

    batch_size: Annotated[int, Field(ge=1, le=1000)] = 20
    """Miners acted on at once."""
    batch_interval_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    """Seconds between two batches."""


class Mining(SpecModel):
    """The bitcoin miners that share the site's power with the GPUs."""

    load_kw: Kw = 0.0
    """Current mining draw in kW, used when no feed says otherwise."""
    curtailable_kw: Kw = 0.0
    """How much of the mining load may be shed (in kW) to make room for GPU work;
    at most loadKw."""
    miners: Annotated[list[MinerGroup], Field(max_length=MAX_MINER_GROUPS)] = Field(
        default_factory=list
    )
    """The miners the operator drives to `status.power.miningTargetKw` (the site-mining
    controller, at the site). Empty: the target is only published."""
    ramp: MinerRamp = defaulted(MinerRamp)
    """How fast the miners' load may change."""
    shed_order: ShedOrder = Field(ShedOrder.LOWER_THEN_SLEEP, strict=False)
    """How the miners give up power: LowerThenSleep or SleepFirst."""
    hashprice_usd_per_ph_day: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] | None = (
        None
    )
    """Mining revenue in USD per PH/s of hashrate per day (the hashprice), set here or
    kept current by whoever follows the market. With an efficiency it gives mining's
    revenue per kWh, which GPU work must beat to take mining power (docs/api.md, Revenue).
    Absent: GPU work always may."""
    efficiency_j_per_th: JPerTh | None = None
    """The miners' efficiency in J/TH where a group does not name its own."""

    def usd_per_kwh(self) -> float | None:
        """Revenue of a kWh of the mining GPU work would displace: the least efficient
        miners' (they are shed first); None when the hashprice or every efficiency is
        unknown."""
        if self.hashprice_usd_per_ph_day is None:
            return None
        known = [
            e
            for e in (g.efficiency_j_per_th or self.efficiency_j_per_th for g in self.miners)
            if e is not None
        ]
        if not self.miners and self.efficiency_j_per_th is not None:
            known.append(self.efficiency_j_per_th)
        if not known:
            return None
        return revenue.mining_usd_per_kwh(self.hashprice_usd_per_ph_day, max(known))

    @cel_rule(
        "!has(self.miners) || self.miners.map(g, size(g.addresses)).sum() <= " + str(MAX_MINERS),
        message=f"at most {MAX_MINERS} miners in all groups together",
        field="miners",
    )
    def _miners_in_all_groups(self) -> bool:
        return sum(len(g.addresses) for g in self.miners) <= MAX_MINERS

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
    energy_price_usd_per_mwh: PriceUsdPerMwh | None = None
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
    cluster: ClusterName | None = None
    """The managed cluster (Open Cluster Management) the site's nodes belong to: its
    work is sent there as ManifestWorks in the hub namespace of that name. Several sites
    may share one cluster (a regional cluster). Absent: the operator's own cluster, where
    it writes Deployments directly."""

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
    gpu_excess_kw: Annotated[float, Field(ge=0)] | None = None
    """GPU power (max of gpuDrawKw and committedKw) above what the site can carry even
    after mining sheds all it may. Greater than 0: preemptible GPU work must move away."""
    feed: FeedStatus | None = None
    """Health of the power feed."""


class MinerCounts(StatusModel):
    """The site's miners by state."""

    mining: Annotated[int, Field(ge=0)] | None = None
    """Answering and hashing."""
    asleep: Annotated[int, Field(ge=0)] | None = None
    """Put to sleep (curtailed)."""
    unreachable: Annotated[int, Field(ge=0)] | None = None
    """Not answering; each counts at the draw it last reported."""


class SiteMiningStatus(StatusModel):
    """What the site-mining controller last did, written by it."""

    miners: MinerCounts | None = None
    """The miners by state."""
    miners_kw: Annotated[float, Field(ge=0)] | None = None
    """The miners' draw by their own figures (which can be 5-20 % off the meter); a
    miner that does not answer counts at its last figure, never as zero."""
    target_kw: Annotated[float, Field(ge=0)] | None = None
    """What the last ramp drove the listed miners to: `status.power.miningTargetKw` then,
    less the mining the site never sheds (`loadKw - curtailableKw`)."""
    last_ramp_time: datetime | None = None
    """When the last ramp started."""
    last_ramp_seconds: Annotated[float, Field(ge=0)] | None = None
    """How long it took, batches and pauses included."""
    failed_actions: Annotated[int, Field(ge=0)] | None = None
    """Actions of the last ramp that failed (see the controller's log and Events)."""
    shortfall_kw: Annotated[float, Field(ge=0)] | None = None
    """How far above the target the miners stay at best (those not answering cannot
    be acted on); GPU work must give way for the rest."""
    usd_per_kwh: Annotated[float, Field(ge=0)] | None = None
    """Revenue of a kWh of the mining GPU work would displace (the least efficient
    miners'), from `spec.mining.hashpriceUsdPerPhDay`; absent: unknown."""
    usd_per_day: Annotated[float, Field(ge=0)] | None = None
    """What the miners earn at their present draw, per day: each miner's draw at its
    group's efficiency (or its own figure's J/TH); absent without a hashprice."""
    message: Annotated[str, Field(max_length=1024)] | None = None
    """Why the controller could not act, when it could not."""


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
    """Of those, the ones that take new work: Ready or Degraded, schedulable, with a
    fresh heartbeat and a Ready Kubernetes Node."""


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
    mining: SiteMiningStatus | None = None
    """The miners as the site-mining controller last drove them."""
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
        PrinterColumn("Cluster", "string", ".spec.cluster", "Managed cluster of the site"),
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

    def latency_ms_now(self) -> dict[str, int]:
        """Latency to each client region: measured (``status.latencyMs``) where the site
        reports it, else declared (``spec.latencyMs``)."""
        latency = {str(region): int(ms) for region, ms in self.spec.latency_ms.items()}
        if self.status is not None and self.status.latency_ms:
            latency.update(self.status.latency_ms)
        return latency

    def energy_price_now(self) -> float | None:
        """USD/MWh: measured (``status.energyPriceUsdPerMwh``) over declared; None if
        neither is known."""
        if self.status is not None and self.status.energy_price_usd_per_mwh is not None:
            return self.status.energy_price_usd_per_mwh
        return self.spec.energy_price_usd_per_mwh

    @cel_rule(
        "self.metadata.name.size() <= 63",
        message="a Site name is used as a label value: at most 63 characters",
        field="metadata.name",
    )
    def _name_fits_a_label(self) -> bool:
        return len(self.metadata.name) <= 63
