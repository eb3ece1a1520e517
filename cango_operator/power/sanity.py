"""Sanity checks on a feed sample: is it a plausible reading of this site, right now?

A load or capacity that is NaN or infinite, negative, or more than
:data:`ABSURD_FACTOR` times the site's contracted capacity is a broken meter or a wrong
path, not a real reading; so is a timestamp older than ``staleAfterSeconds`` or far in
the future. Those fail the whole sample (the site becomes Unknown). A price outside
:data:`PRICE_RANGE_USD_PER_MWH` only drops the price: wholesale prices do go negative
and spike to the market cap, but not beyond these bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from cango_operator.power.feeds.base import FeedErrorKind, FeedProblem, FeedReadError, FeedSample

ABSURD_FACTOR = 1.5
"""Loads and capacities above this multiple of the contracted capacity are rejected."""
PRICE_RANGE_USD_PER_MWH = (-1000.0, 20000.0)
FUTURE_TOLERANCE_SECONDS = 60.0
"""Clock skew allowed between the source and the operator."""


@dataclass(frozen=True)
class SanityLimits:
    capacity_kw: float
    stale_after_seconds: float


def check_sample(
    sample: FeedSample, limits: SanityLimits, now: datetime, source: str
) -> FeedSample:
    """``sample`` if it is plausible (maybe without its price), else :class:`FeedReadError`."""
    check_age(sample.timestamp, limits.stale_after_seconds, now, source)
    ceiling = limits.capacity_kw * ABSURD_FACTOR
    for what, value in (
        ("site load", sample.total_load_kw),
        ("mining load", sample.mining_load_kw),
        ("capacity", sample.capacity_kw),
    ):
        if value is not None:
            _check_kw(value, what, ceiling, limits.capacity_kw, source)
    price = sample.price_usd_per_mwh
    if price is not None:
        problem = price_problem(price, source)
        if problem is not None:
            return sample.without_price(problem)
    return sample


def check_age(timestamp: datetime, stale_after_seconds: float, now: datetime, source: str) -> None:
    age = (now - timestamp).total_seconds()
    if age > stale_after_seconds:
        raise FeedReadError(
            FeedErrorKind.STALE,
            f"{source}: sample from {timestamp.isoformat()} is {age:.0f} s old "
            f"(staleAfterSeconds {stale_after_seconds:g})",
        )
    if -age > FUTURE_TOLERANCE_SECONDS:
        raise FeedReadError(
            FeedErrorKind.ABSURD,
            f"{source}: sample time {timestamp.isoformat()} is {-age:.0f} s in the future",
        )


def _check_kw(value: float, what: str, ceiling: float, capacity_kw: float, source: str) -> None:
    if math.isnan(value) or math.isinf(value):
        raise FeedReadError(FeedErrorKind.NAN, f"{source}: {what} is {value}, not a number")
    if value < 0:
        raise FeedReadError(FeedErrorKind.NEGATIVE, f"{source}: {what} is negative ({value:g} kW)")
    if value > ceiling:
        raise FeedReadError(
            FeedErrorKind.ABSURD,
            f"{source}: {what} {value:g} kW is above {ABSURD_FACTOR:g} x the site's "
            f"capacity ({capacity_kw:g} kW)",
        )


def price_problem(price: float, source: str) -> FeedProblem | None:
    if math.isnan(price) or math.isinf(price):
        return FeedProblem(FeedErrorKind.NAN, f"{source}: energy price is {price}, not a number")
    low, high = PRICE_RANGE_USD_PER_MWH
    if not low <= price <= high:
        return FeedProblem(
            FeedErrorKind.ABSURD,
            f"{source}: energy price {price:g} USD/MWh is outside {low:g}..{high:g}",
        )
    return None
