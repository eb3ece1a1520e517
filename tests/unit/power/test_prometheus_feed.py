"""The prometheus feed against an HTTP server shaped like Prometheus' query API: the
answer shapes and error bodies a real server sends (the integration test runs the real
Prometheus)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from cango_operator.power.feeds import (
    FeedErrorKind,
    FeedReadError,
    LoadScope,
    PrometheusFeedConfig,
)
from cango_operator.power.feeds.prometheus import PrometheusFeed
from tests.unit.power.servers import PromApiServer

LOAD = 'sum(site_load_kw{site="tx-1"})'
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def prom_feed(
    server: PromApiServer, session: aiohttp.ClientSession, **queries: str
) -> PrometheusFeed:
    config = PrometheusFeedConfig(url=server.url + "/", query=LOAD, **queries)
    return PrometheusFeed(config, session, scope=LoadScope.MINING, clock=lambda: NOW)


async def fault_of(feed: PrometheusFeed) -> FeedReadError:
    with pytest.raises(FeedReadError) as caught:
        await feed.read()
    return caught.value


class TestQueries:
    async def test_one_series_gives_value_and_its_evaluation_time(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.set_vector(LOAD, "15800.5", at=NOW.timestamp())
        sample = await prom_feed(prom_api, session).read()
        assert sample.mining_load_kw == 15800.5
        assert sample.timestamp == NOW

    async def test_capacity_flag_and_price_queries(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.set_vector(LOAD, "9000")
        prom_api.set_vector("cap", "12000")
        prom_api.set_vector("flag", "1")
        prom_api.state.results["price"] = {"resultType": "scalar", "result": [1.7e9, "42.25"]}
        feed = prom_feed(
            prom_api, session, capacity_query="cap", curtailed_query="flag", price_query="price"
        )
        sample = await feed.read()
        assert (sample.capacity_kw, sample.curtailed, sample.price_usd_per_mwh) == (
            12000.0,
            True,
            42.25,
        )

    async def test_nan_is_passed_on_for_the_sanity_check(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.set_vector(LOAD, "NaN")
        sample = await prom_feed(prom_api, session).read()
        assert sample.mining_load_kw != sample.mining_load_kw

    async def test_a_missing_price_series_only_drops_the_price(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.set_vector(LOAD, "9000")
        sample = await prom_feed(prom_api, session, price_query="price").read()
        assert sample.mining_load_kw == 9000.0
        assert sample.price_problem is not None
        assert sample.price_problem.kind is FeedErrorKind.MISSING_VALUE


class TestQueryFaults:
    async def test_no_series_is_a_missing_value(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        fault = await fault_of(prom_feed(prom_api, session))
        assert fault.kind is FeedErrorKind.MISSING_VALUE
        assert f"query {LOAD!r}: no series" in str(fault)

    async def test_several_series_must_be_aggregated(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.set_vector(LOAD, "1", "2")
        fault = await fault_of(prom_feed(prom_api, session))
        assert fault.kind is FeedErrorKind.MALFORMED
        assert "2 series, expected one (aggregate with sum())" in str(fault)

    async def test_a_rejected_query_carries_prometheus_error_text(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.state.status = 400
        prom_api.state.error = 'parse error: unexpected "}"'
        fault = await fault_of(prom_feed(prom_api, session))
        assert fault.kind is FeedErrorKind.HTTP_STATUS
        assert 'HTTP 400, parse error: unexpected "}"' in str(fault)

    async def test_a_range_vector_is_the_wrong_type(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.state.results[LOAD] = {"resultType": "matrix", "result": []}
        fault = await fault_of(prom_feed(prom_api, session))
        assert fault.kind is FeedErrorKind.WRONG_TYPE
        assert "result type 'matrix'" in str(fault)

    async def test_a_curtailment_flag_other_than_0_or_1(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        prom_api.set_vector(LOAD, "1")
        prom_api.set_vector("flag", "0.5")
        fault = await fault_of(prom_feed(prom_api, session, curtailed_query="flag"))
        assert fault.kind is FeedErrorKind.WRONG_TYPE
        assert "curtailment flag must be 0 or 1, got 0.5" in str(fault)

    async def test_a_server_that_is_not_prometheus(
        self, prom_api: PromApiServer, session: aiohttp.ClientSession
    ) -> None:
        config = PrometheusFeedConfig(url=prom_api.url + "/elsewhere", query=LOAD)
        feed = PrometheusFeed(config, session, scope=LoadScope.SITE, clock=lambda: NOW)
        fault = await fault_of(feed)
        assert fault.kind is FeedErrorKind.HTTP_STATUS
        assert "HTTP 404" in str(fault)
