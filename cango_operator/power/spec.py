"""The power-related part of a Site's spec, as the power model needs it.

Made from the API models (:func:`site_power_spec_of`), or from a plain mapping with the
API's camelCase names (what the API server returns, or a manifest) validated by those
same models first: one set of rules, the API's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from cango_operator.api import Mining, SitePower, SiteSpec, problems_at
from cango_operator.api.site import PriceUsdPerMwh
from cango_operator.errors import ConfigError
from cango_operator.power.feeds.config import STATIC_FEED, FeedConfig, feed_config_of

T = TypeVar("T")
_POWER: TypeAdapter[SitePower] = TypeAdapter(SitePower)
_MINING: TypeAdapter[Mining] = TypeAdapter(Mining)
_PRICE: TypeAdapter[float | None] = TypeAdapter(PriceUsdPerMwh | None)


@dataclass(frozen=True)
class SitePowerSpec:
    """What the site operator declared; live feed values override load and capacity.
    Made from the API's validated SiteSpec (:func:`site_power_spec_of`): its rules are the
    API's, checked there once."""

    capacity_kw: float
    reserve_kw: float = 0.0
    pue: float = 1.0
    mining_load_kw: float = 0.0
    curtailable_kw: float = 0.0
    energy_price_usd_per_mwh: float | None = None
    feed: FeedConfig = field(default=STATIC_FEED)


def parse_site_power_spec(spec: Mapping[str, Any], where: str = "spec") -> SitePowerSpec:
    """The power part of a Site's spec mapping (a manifest, or what an API server returned):
    ``power``, ``mining`` and ``energyPriceUsdPerMwh``, each validated by the API's type for
    it (the rest of the spec is not this code's); ConfigError naming the field otherwise."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: must be a mapping, got {type(spec).__name__}")
    power = _read(_POWER, spec.get("power"), f"{where}.power")
    mining = _read(_MINING, spec.get("mining") or {}, f"{where}.mining")
    price_at = f"{where}.energyPriceUsdPerMwh"
    price = _read(_PRICE, spec.get("energyPriceUsdPerMwh"), price_at, strict=True)
    return _power_spec(power, mining, price)


def _read(adapter: TypeAdapter[T], value: Any, where: str, *, strict: bool | None = None) -> T:
    """The models are strict where the API is (a number is not a string); a bare price is
    read strictly here, as it is inside the SiteSpec model."""
    try:
        return adapter.validate_python(value, strict=strict)
    except ValidationError as exc:
        raise ConfigError(problems_at(where, exc)) from None


def site_power_spec_of(spec: SiteSpec) -> SitePowerSpec:
    """The power part of an API :class:`~cango_operator.api.SiteSpec`."""
    return _power_spec(spec.power, spec.mining, spec.energy_price_usd_per_mwh)


def _power_spec(power: SitePower, mining: Mining, price: float | None) -> SitePowerSpec:
    return SitePowerSpec(
        capacity_kw=power.capacity_kw,
        reserve_kw=power.reserve_kw,
        pue=power.pue,
        mining_load_kw=mining.load_kw,
        curtailable_kw=mining.curtailable_kw,
        energy_price_usd_per_mwh=price,
        feed=feed_config_of(power.feed),
    )
