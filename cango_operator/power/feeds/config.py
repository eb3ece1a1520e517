"""Feed configuration: frozen dataclasses read from the Site spec's ``power.feed`` block.

Field names in the mapping are the API's (camelCase, units in the names); a wrong or
unknown field raises :class:`~cango_operator.errors.ConfigError` naming its path, e.g.
``spec.power.feed.intervalSeconds: must be > 0, got -1``. No ``feed`` block means a
static feed: the spec's own values, never stale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cango_operator.api import FeedType, LoadScope, ModbusDataType, ModbusRegisterType, WordOrder
from cango_operator.errors import ConfigError

FEED_FIELD = "spec.power.feed"
DEFAULT_INTERVAL_SECONDS = 15.0
STALE_AFTER_INTERVALS = 6.0
MAX_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class SecretRef:
    """A Secret with feed credentials; no namespace: the operator's own namespace."""

    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class FeedTiming:
    """How often to poll, when a sample is too old, and how hard to try each time."""

    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    stale_after_seconds: float = DEFAULT_INTERVAL_SECONDS * STALE_AFTER_INTERVALS
    timeout_seconds: float = MAX_TIMEOUT_SECONDS
    retries: int = DEFAULT_RETRIES


@dataclass(frozen=True)
class HttpFeedConfig:
    """A JSON document at ``url``; each ``*_path`` is a dotted path like ``site.load_kw``
    or ``meters.0.kw``. No ``load_path``: the whole body is the number."""

    url: str
    load_path: str | None = None
    capacity_path: str | None = None
    curtailed_path: str | None = None
    price_path: str | None = None
    timestamp_path: str | None = None


@dataclass(frozen=True)
class PrometheusFeedConfig:
    """Instant queries against the Prometheus server at ``url``; each returns one series."""

    url: str
    query: str
    capacity_query: str | None = None
    curtailed_query: str | None = None
    price_query: str | None = None


@dataclass(frozen=True)
class ModbusFeedConfig:
    """Modbus TCP registers; values are ``raw * scale`` kW (the curtailed flag: raw != 0)."""

    host: str
    register: int
    port: int = 502
    unit_id: int = 1
    register_type: ModbusRegisterType = ModbusRegisterType.HOLDING
    data_type: ModbusDataType = ModbusDataType.UINT16
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0
    capacity_register: int | None = None
    curtailed_register: int | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


SourceConfig = HttpFeedConfig | PrometheusFeedConfig | ModbusFeedConfig


@dataclass(frozen=True)
class FeedConfig:
    """One site's feed: its type, timing, what its load covers, and the source details."""

    type: FeedType = FeedType.STATIC
    timing: FeedTiming = field(default_factory=FeedTiming)
    load_scope: LoadScope = LoadScope.SITE
    secret: SecretRef | None = None
    source: SourceConfig | None = None

    @property
    def provides_price(self) -> bool:
        src = self.source
        if isinstance(src, HttpFeedConfig):
            return src.price_path is not None
        if isinstance(src, PrometheusFeedConfig):
            return src.price_query is not None
        return False


STATIC_FEED = FeedConfig()

_COMMON_KEYS = {
    "type",
    "url",
    "intervalSeconds",
    "staleAfterSeconds",
    "timeoutSeconds",
    "retries",
    "secretRef",
    "loadScope",
}
_KEYS_BY_TYPE: dict[FeedType, set[str]] = {
    FeedType.STATIC: set(),
    FeedType.HTTP: {"jsonPath", "capacityPath", "curtailedPath", "pricePath", "timestampPath"},
    FeedType.PROMETHEUS: {"query", "capacityQuery", "curtailedQuery", "priceQuery"},
    FeedType.MODBUS: {
        "host",
        "port",
        "unitId",
        "register",
        "registerType",
        "dataType",
        "wordOrder",
        "scale",
        "capacityRegister",
        "curtailedRegister",
    },
}

_ALL_TYPE_KEYS = set().union(*_KEYS_BY_TYPE.values())
#: Every field name a ``power.feed`` block may carry (the API declares the same set).
FEED_FIELD_NAMES = frozenset(_COMMON_KEYS | _ALL_TYPE_KEYS)

_E = TypeVar("_E", bound=StrEnum)


class _Fields:
    """Typed access to one mapping, with errors that name the field's full path."""

    def __init__(self, data: Mapping[str, Any], prefix: str) -> None:
        self.data = data
        self.prefix = prefix

    def fail(self, name: str, why: str) -> ConfigError:
        return ConfigError(f"{self.prefix}.{name}: {why}")

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def number(self, name: str, default: float, *, positive: bool = False) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise self.fail(name, f"must be finite, got {value!r}")
        if positive and value <= 0:
            raise self.fail(name, f"must be > 0, got {value!r}")
        return float(value)

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(name, f"must be in {low}..{high}, got {value}")
        return value

    def choice(self, name: str, enum: type[_E], default: _E) -> _E:
        value = self.data.get(name, default.value)
        try:
            return enum(value)
        except ValueError:
            allowed = " | ".join(member.value for member in enum)
            raise self.fail(name, f"must be one of {allowed}, got {value!r}") from None


def parse_feed_config(data: Mapping[str, Any] | None, prefix: str = FEED_FIELD) -> FeedConfig:
    """Read a ``power.feed`` block (``None``: static) into a :class:`FeedConfig`."""
    if data is None:
        return STATIC_FEED
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix}: must be a mapping, got {type(data).__name__}")
    fields = _Fields(data, prefix)
    feed_type = fields.choice("type", FeedType, FeedType.STATIC)
    # Fields of other feed types are ignored (the API schema allows them and fills in
    # defaults such as port); a name no feed type knows is a typo worth an error.
    unknown = sorted(set(data) - FEED_FIELD_NAMES)
    if unknown:
        raise fields.fail(unknown[0], "is not a field of power feeds")
    timing = _parse_timing(fields)
    secret = _parse_secret_ref(fields, feed_type)
    source: SourceConfig | None = None
    if feed_type is FeedType.HTTP:
        source = _parse_http(fields)
    elif feed_type is FeedType.PROMETHEUS:
        source = _parse_prometheus(fields)
    elif feed_type is FeedType.MODBUS:
        source = _parse_modbus(fields)
    return FeedConfig(
        type=feed_type,
        timing=timing,
        load_scope=fields.choice("loadScope", LoadScope, LoadScope.SITE),
        secret=secret,
        source=source,
    )


def _parse_timing(fields: _Fields) -> FeedTiming:
    interval = fields.number("intervalSeconds", DEFAULT_INTERVAL_SECONDS, positive=True)
    stale_after = fields.number(
        "staleAfterSeconds", interval * STALE_AFTER_INTERVALS, positive=True
    )
    if stale_after < interval:
        raise fields.fail(
            "staleAfterSeconds",
            f"must be at least intervalSeconds ({interval:g}), got {stale_after:g}",
        )
    timeout = fields.number("timeoutSeconds", min(MAX_TIMEOUT_SECONDS, interval), positive=True)
    retries = fields.integer("retries", DEFAULT_RETRIES, 0, 10)
    assert retries is not None
    return FeedTiming(interval, stale_after, timeout, retries)


def _parse_secret_ref(fields: _Fields, feed_type: FeedType) -> SecretRef | None:
    ref = fields.data.get("secretRef")
    if ref is None:
        return None
    if feed_type not in (FeedType.HTTP, FeedType.PROMETHEUS):
        raise fields.fail("secretRef", f"{feed_type.value} feeds take no credentials")
    if not isinstance(ref, Mapping):
        raise fields.fail("secretRef", "must be a mapping like {name: my-secret}")
    ref_fields = _Fields(ref, f"{fields.prefix}.secretRef")
    unknown = sorted(set(ref) - {"name", "namespace"})
    if unknown:
        raise ref_fields.fail(unknown[0], "is not a field of secretRef")
    name = ref_fields.text("name", required=True)
    assert name is not None
    return SecretRef(name=name, namespace=ref_fields.text("namespace"))


def _parse_url(fields: _Fields) -> str:
    url = fields.text("url", required=True)
    assert url is not None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fields.fail("url", f"must be an http(s) URL with a host, got {url!r}")
    if parts.username or parts.password:
        raise fields.fail("url", "must not carry credentials; use secretRef")
    return url


def _parse_http(fields: _Fields) -> HttpFeedConfig:
    return HttpFeedConfig(
        url=_parse_url(fields),
        load_path=fields.text("jsonPath"),
        capacity_path=fields.text("capacityPath"),
        curtailed_path=fields.text("curtailedPath"),
        price_path=fields.text("pricePath"),
        timestamp_path=fields.text("timestampPath"),
    )


def _parse_prometheus(fields: _Fields) -> PrometheusFeedConfig:
    url = _parse_url(fields)
    query = fields.text("query", required=True)
    assert query is not None
    return PrometheusFeedConfig(
        url=url,
        query=query,
        capacity_query=fields.text("capacityQuery"),
        curtailed_query=fields.text("curtailedQuery"),
        price_query=fields.text("priceQuery"),
    )


def _parse_modbus(fields: _Fields) -> ModbusFeedConfig:
    if "url" in fields.data:
        raise fields.fail("url", "modbus feeds use host and port instead")
    host = fields.text("host", required=True)
    register = fields.integer("register", None, 0, 65535)
    if register is None:
        raise fields.fail("register", "is required")
    scale = fields.number("scale", 1.0)
    if scale == 0:
        raise fields.fail("scale", "must not be 0")
    port = fields.integer("port", 502, 1, 65535)
    unit_id = fields.integer("unitId", 1, 0, 255)
    assert host is not None and port is not None and unit_id is not None
    return ModbusFeedConfig(
        host=host,
        register=register,
        port=port,
        unit_id=unit_id,
        register_type=fields.choice("registerType", ModbusRegisterType, ModbusRegisterType.HOLDING),
        data_type=fields.choice("dataType", ModbusDataType, ModbusDataType.UINT16),
        word_order=fields.choice("wordOrder", WordOrder, WordOrder.BIG),
        scale=scale,
        capacity_register=fields.integer("capacityRegister", None, 0, 65535),
        curtailed_register=fields.integer("curtailedRegister", None, 0, 65535),
    )
