"""The ``prometheus`` feed: instant queries against a Prometheus server's HTTP API.

Each query must return exactly one series (or a scalar): aggregate with ``sum(...)`` when
a site has several meters. No series at all means the value is missing (Prometheus marks
series stale when their target stops answering), which fails the sample; a broken
``priceQuery`` only drops the price.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cango_operator.power.feeds.base import (
    FeedErrorKind,
    FeedReadError,
    FeedSample,
    make_sample,
    price_or_problem,
)
from cango_operator.power.feeds.config import PrometheusFeedConfig
from cango_operator.power.feeds.httpget import HttpBasedFeed, get_json

# Prometheus answers a bad or failing query with one of these and a JSON error body.
_QUERY_ERROR_STATUSES = frozenset({200, 400, 422, 503})


class PrometheusFeed(HttpBasedFeed[PrometheusFeedConfig]):
    @property
    def endpoint(self) -> str:
        return self.config.url.rstrip("/") + "/api/v1/query"

    @property
    def description(self) -> str:
        return f"prometheus feed {self.config.url}"

    async def read(self) -> FeedSample:
        headers = await self.headers()
        cfg = self.config
        queries = [cfg.query, cfg.capacity_query, cfg.curtailed_query, cfg.price_query]
        results = await asyncio.gather(
            *(self._query(q, headers) for q in queries if q is not None),
            return_exceptions=True,
        )
        answers: dict[str, tuple[datetime, float] | BaseException] = dict(
            zip([q for q in queries if q is not None], results, strict=True)
        )
        timestamp, load = _value_of(answers[cfg.query])
        capacity = _value_of(answers[cfg.capacity_query])[1] if cfg.capacity_query else None
        curtailed = None
        if cfg.curtailed_query is not None:
            curtailed = self._flag(cfg.curtailed_query, _value_of(answers[cfg.curtailed_query])[1])
        price_query = cfg.price_query
        price, price_problem = price_or_problem(
            lambda: None if price_query is None else _value_of(answers[price_query])[1]
        )
        return make_sample(
            timestamp,
            self.scope,
            load,
            capacity_kw=capacity,
            curtailed=curtailed,
            price_usd_per_mwh=price,
            price_problem=price_problem,
        )

    async def _query(self, query: str, headers: Mapping[str, str]) -> tuple[datetime, float]:
        source = f"{self.description} query {query!r}"
        status, document = await get_json(
            self.session,
            self.endpoint,
            source=source,
            headers=headers,
            params={"query": query},
            accept_statuses=_QUERY_ERROR_STATUSES,
        )
        if not isinstance(document, dict):
            raise FeedReadError(FeedErrorKind.MALFORMED, f"{source}: answer is not a JSON object")
        if document.get("status") != "success":
            error = str(document.get("error", "no error message"))[:300]
            kind = FeedErrorKind.HTTP_STATUS if status != 200 else FeedErrorKind.MALFORMED
            raise FeedReadError(kind, f"{source}: HTTP {status}, {error}")
        return _single_value(document.get("data"), source)

    def _flag(self, query: str, value: float) -> bool:
        if value not in (0.0, 1.0):
            raise FeedReadError(
                FeedErrorKind.WRONG_TYPE,
                f"{self.description} query {query!r}: curtailment flag must be 0 or 1, "
                f"got {value:g}",
            )
        return value == 1.0


def _value_of(answer: tuple[datetime, float] | BaseException) -> tuple[datetime, float]:
    if isinstance(answer, BaseException):
        raise answer
    return answer


def _single_value(data: Any, source: str) -> tuple[datetime, float]:
    """The (time, value) of a one-series vector or a scalar result."""
    if not isinstance(data, dict):
        raise FeedReadError(FeedErrorKind.MALFORMED, f"{source}: answer has no data object")
    result_type, result = data.get("resultType"), data.get("result")
    if result_type == "scalar":
        return _parse_pair(result, source)
    if result_type != "vector":
        raise FeedReadError(
            FeedErrorKind.WRONG_TYPE,
            f"{source}: result type {result_type!r}, expected an instant vector or scalar",
        )
    if not isinstance(result, list):
        raise FeedReadError(FeedErrorKind.MALFORMED, f"{source}: vector result is not a list")
    if not result:
        raise FeedReadError(
            FeedErrorKind.MISSING_VALUE, f"{source}: no series (target down or series stale?)"
        )
    if len(result) > 1:
        raise FeedReadError(
            FeedErrorKind.MALFORMED,
            f"{source}: {len(result)} series, expected one (aggregate with sum())",
        )
    series = result[0]
    if not isinstance(series, dict):
        raise FeedReadError(FeedErrorKind.MALFORMED, f"{source}: series is not an object")
    return _parse_pair(series.get("value"), source)


def _parse_pair(pair: Any, source: str) -> tuple[datetime, float]:
    """Prometheus sends ``[unix_seconds, "value"]``; the value is a string by design."""
    if not (isinstance(pair, list) and len(pair) == 2):
        raise FeedReadError(FeedErrorKind.MALFORMED, f"{source}: sample is not [time, value]")
    when, text = pair
    if isinstance(when, bool) or not isinstance(when, int | float) or not math.isfinite(when):
        raise FeedReadError(
            FeedErrorKind.MALFORMED, f"{source}: sample time {when!r} is not a number"
        )
    if not isinstance(text, str):
        raise FeedReadError(
            FeedErrorKind.MALFORMED, f"{source}: sample value {text!r} not a string"
        )
    try:
        value = float(text)
    except ValueError:
        raise FeedReadError(
            FeedErrorKind.WRONG_TYPE, f"{source}: sample value {text!r} is not a number"
        ) from None
    return datetime.fromtimestamp(when, tz=UTC), value
