"""The power-related part of a Site's spec, as the power model needs it.

Made from the API models (:func:`site_power_spec_of`), or from a plain mapping with the
API's camelCase names (what the API server returns, or a manifest) validated by those
same models first: one set of rules, the API's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cango_operator.api import Mining, SitePower, SiteSpec, describe_errors
from cango_operator.api.site import PriceUsdPerMwh
from cango_operator.errors import ConfigError
from cango_operator.power.feeds.config import STATIC_FEED, FeedConfig, feed_config_of

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
    ``power``, ``mining`` and ``energyPriceUsdPerMwh``, each validated by the API model it
    is (the rest of the spec is not this code's); ConfigError naming the field otherwise."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: must be a mapping, got {type(spec).__name__}")
    price = spec.get("energyPriceUsdPerMwh")
    try:
        power = SitePower.model_validate(spec.get("power"))
        mining = Mining.model_validate(spec.get("mining") or {})
        _PRICE.validate_python(price, strict=True)
    except ValidationError as exc:
        part = exc.title
        prefix = {"SitePower": ".power", "Mining": ".mining"}.get(part, ".energyPriceUsdPerMwh")
        lines = describe_errors(exc)
        raise ConfigError(
            "; ".join(f"{where}{prefix}.{line}".replace(".<document>", "") for line in lines)
        ) from None
    return _power_spec(power, mining, None if price is None else float(price))


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
