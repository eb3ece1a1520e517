"""Feed configuration: frozen dataclasses made from the Site spec's ``power.feed`` block.

The block is the API's :class:`~cango_operator.api.PowerFeed`, validated there once (the
same rules the API server applies); a wrong or unknown field raises
:class:`~cango_operator.errors.ConfigError` naming its path, e.g.
``spec.power.feed.intervalSeconds: Input should be greater than or equal to 1``. No
``feed`` block means a static feed: the spec's own values, never stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cango_operator.api import (
    FeedType,
    LoadScope,
    ModbusDataType,
    ModbusRegisterType,
    PowerFeed,
    SecretRef,
    WordOrder,
    problems_at,
)
from cango_operator.errors import ConfigError

FEED_FIELD = "spec.power.feed"
#: The API's defaults, for a feed made without one (a static site).
DEFAULT_INTERVAL_SECONDS = 15.0
STALE_AFTER_INTERVALS = 6.0
MAX_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRIES = 2


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


def parse_feed_config(data: Mapping[str, Any] | None, prefix: str = FEED_FIELD) -> FeedConfig:
    """Read a ``power.feed`` block (``None``: static) into a :class:`FeedConfig`.

    The block is validated by the API model itself (:class:`~cango_operator.api.PowerFeed`,
    the rules the API server applies too): one set of rules, errors naming the field."""
    if data is None:
        return STATIC_FEED
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix}: must be a mapping, got {type(data).__name__}")
    try:
        feed = PowerFeed.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(problems_at(prefix, exc)) from None
    return feed_config_of(feed)


def feed_config_of(feed: PowerFeed | None) -> FeedConfig:
    """The feed configuration of a validated :class:`~cango_operator.api.PowerFeed`."""
    if feed is None or feed.type is FeedType.STATIC:
        timing = _timing(feed) if feed is not None else FeedTiming()
        scope = feed.load_scope if feed is not None else LoadScope.SITE
        return FeedConfig(type=FeedType.STATIC, timing=timing, load_scope=scope)
    return FeedConfig(
        type=feed.type,
        timing=_timing(feed),
        load_scope=feed.load_scope,
        secret=feed.secret_ref,
        source=_source(feed),
    )


def _timing(feed: PowerFeed) -> FeedTiming:
    interval = float(feed.interval_seconds)
    timeout = feed.timeout_seconds
    return FeedTiming(
        interval_seconds=interval,
        stale_after_seconds=float(feed.stale_after_seconds),
        timeout_seconds=float(timeout)
        if timeout is not None
        else min(MAX_TIMEOUT_SECONDS, interval),
        retries=feed.retries,
    )


def _source(feed: PowerFeed) -> SourceConfig:
    # The model's rules guarantee what each type requires (url, query, host, register).
    if feed.type is FeedType.HTTP:
        assert feed.url is not None
        return HttpFeedConfig(
            url=feed.url,
            load_path=feed.json_path,
            capacity_path=feed.capacity_path,
            curtailed_path=feed.curtailed_path,
            price_path=feed.price_path,
            timestamp_path=feed.timestamp_path,
        )
    if feed.type is FeedType.PROMETHEUS:
        assert feed.url is not None and feed.query is not None
        return PrometheusFeedConfig(
            url=feed.url,
            query=feed.query,
            capacity_query=feed.capacity_query,
            curtailed_query=feed.curtailed_query,
            price_query=feed.price_query,
        )
    assert feed.host is not None and feed.register_address is not None
    return ModbusFeedConfig(
        host=feed.host,
        register=feed.register_address,
        port=feed.port,
        unit_id=feed.unit_id,
        register_type=feed.register_type,
        data_type=feed.data_type,
        word_order=feed.word_order,
        scale=feed.scale,
        capacity_register=feed.capacity_register,
        curtailed_register=feed.curtailed_register,
    )
