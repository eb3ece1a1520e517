"""The power-related part of a Site's spec, as the power model needs it.

Read from a plain mapping with the API's camelCase names (what the API server returns,
or a manifest), or from the API models with :func:`site_power_spec_of`. Both routes see
the same feed fields: the API declares every one the feeds read (timeoutSeconds,
loadScope, capacityPath, priceQuery, wordOrder, ...), so the API server keeps them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cango_operator.api import PowerFeed, SiteSpec
from cango_operator.errors import ConfigError
from cango_operator.power.feeds.config import STATIC_FEED, FeedConfig, parse_feed_config

MIN_PUE = 1.0
MAX_PUE = 3.0


@dataclass(frozen=True)
class SitePowerSpec:
    """What the site operator declared; live feed values override load and capacity."""

    capacity_kw: float
    reserve_kw: float = 0.0
    pue: float = 1.0
    mining_load_kw: float = 0.0
    curtailable_kw: float = 0.0
    energy_price_usd_per_mwh: float | None = None
    feed: FeedConfig = field(default=STATIC_FEED)

    def __post_init__(self) -> None:
        checks = [
            (self.capacity_kw > 0, "power.capacityKw", "must be > 0"),
            (
                0 <= self.reserve_kw < self.capacity_kw,
                "power.reserveKw",
                "must be >= 0 and < capacityKw",
            ),
            (MIN_PUE <= self.pue <= MAX_PUE, "power.pue", f"must be in {MIN_PUE}..{MAX_PUE}"),
            (self.mining_load_kw >= 0, "mining.loadKw", "must be >= 0"),
            (self.curtailable_kw >= 0, "mining.curtailableKw", "must be >= 0"),
        ]
        for ok, name, why in checks:
            if not ok:
                raise ConfigError(f"spec.{name}: {why}")


def parse_site_power_spec(spec: Mapping[str, Any]) -> SitePowerSpec:
    """Read ``power``, ``mining`` and ``energyPriceUsdPerMwh`` from a Site's spec mapping."""
    power = _mapping(spec.get("power"), "spec.power", required=True)
    mining = _mapping(spec.get("mining"), "spec.mining", required=False)
    return SitePowerSpec(
        capacity_kw=_number(power, "capacityKw", "spec.power", None),
        reserve_kw=_number(power, "reserveKw", "spec.power", 0.0),
        pue=_number(power, "pue", "spec.power", 1.0),
        mining_load_kw=_number(mining, "loadKw", "spec.mining", 0.0),
        curtailable_kw=_number(mining, "curtailableKw", "spec.mining", 0.0),
        energy_price_usd_per_mwh=(
            None
            if spec.get("energyPriceUsdPerMwh") is None
            else _number(spec, "energyPriceUsdPerMwh", "spec", None)
        ),
        feed=parse_feed_config(power.get("feed"), "spec.power.feed"),
    )


def site_power_spec_of(spec: SiteSpec) -> SitePowerSpec:
    """The power part of an API :class:`~cango_operator.api.SiteSpec`."""
    return parse_site_power_spec(spec.model_dump(by_alias=True, exclude_none=True, mode="json"))


def feed_config_of(feed: PowerFeed | None) -> FeedConfig:
    """The feed configuration of an API :class:`~cango_operator.api.PowerFeed`."""
    if feed is None:
        return STATIC_FEED
    return parse_feed_config(feed.model_dump(by_alias=True, exclude_none=True, mode="json"))


def _mapping(value: Any, where: str, *, required: bool) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be a mapping, got {type(value).__name__}")
    return value


def _number(data: Mapping[str, Any], name: str, where: str, default: float | None) -> float:
    value = data.get(name, default)
    if value is None:
        raise ConfigError(f"{where}.{name}: is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}.{name}: must be a finite number, got {value!r}")
    return float(value)
