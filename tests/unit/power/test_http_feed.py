"""The http feed reads a real JSON meter on 127.0.0.1 and names what is wrong with it."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

import aiohttp
import pytest

from cango_operator.api import SecretRef
from cango_operator.power.feeds import FeedErrorKind, FeedReadError, LoadScope
from cango_operator.power.feeds.config import HttpFeedConfig
from cango_operator.power.feeds.credentials import secret_auth
from cango_operator.power.feeds.http import HttpFeed
from tests.unit.power.servers import MeterServer

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def http_feed(
    meter: MeterServer,
    session: aiohttp.ClientSession,
    *,
    scope: LoadScope = LoadScope.SITE,
    **paths: str,
) -> HttpFeed:
    config = HttpFeedConfig(
        url=meter.power_url, load_path=paths.pop("load", "site.load_kw"), **paths
    )
    return HttpFeed(config, session, scope=scope, clock=lambda: NOW)


async def fault_of(feed: HttpFeed) -> FeedReadError:
    with pytest.raises(FeedReadError) as caught:
        await feed.read()
    return caught.value


class TestReadingTheMeter:
    async def test_site_load_lands_in_total_load(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        sample = await http_feed(meter, session).read()
        assert sample.total_load_kw == 12000.0
        assert sample.mining_load_kw is None
        assert sample.timestamp == NOW

    async def test_mining_scope_lands_in_mining_load(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        sample = await http_feed(meter, session, scope=LoadScope.MINING).read()
        assert (sample.mining_load_kw, sample.total_load_kw) == (12000.0, None)

    async def test_optional_paths_read_capacity_flag_price_and_time(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.document = {
            "site": {"load_kw": 9000, "capacity_kw": 15000, "curtailed": True},
            "market": {"prices": [{"usd_per_mwh": 41.5}]},
            "time": "2024-05-01T11:59:30Z",
        }
        feed = http_feed(
            meter,
            session,
            capacity_path="site.capacity_kw",
            curtailed_path="site.curtailed",
            price_path="$.market.prices[0].usd_per_mwh",
            timestamp_path="time",
        )
        sample = await feed.read()
        assert sample.total_load_kw == 9000.0
        assert sample.capacity_kw == 15000.0
        assert sample.curtailed is True
        assert sample.price_usd_per_mwh == 41.5
        assert sample.timestamp == datetime(2024, 5, 1, 11, 59, 30, tzinfo=UTC)

    async def test_without_a_json_path_the_body_is_the_number(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.body = b"15250.5\n"
        config = HttpFeedConfig(url=meter.power_url)
        feed = HttpFeed(config, session, scope=LoadScope.SITE, clock=lambda: NOW)
        assert (await feed.read()).total_load_kw == 15250.5

    async def test_digits_in_a_path_index_lists(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.document = {"meters": [{"kw": 1}, {"kw": 2}], "by_id": {"7": {"kw": 3}}}
        assert (await http_feed(meter, session, load="meters.1.kw").read()).total_load_kw == 2
        assert (await http_feed(meter, session, load="by_id.7.kw").read()).total_load_kw == 3

    async def test_unix_seconds_are_a_timestamp_too(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.document = {"site": {"load_kw": 1}, "t": NOW.timestamp()}
        sample = await http_feed(meter, session, timestamp_path="t").read()
        assert sample.timestamp == NOW

    async def test_a_broken_price_drops_only_the_price(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.document = {"site": {"load_kw": 9000}, "price": "cheap"}
        sample = await http_feed(meter, session, price_path="price").read()
        assert sample.total_load_kw == 9000.0
        assert sample.price_usd_per_mwh is None
        assert sample.price_problem is not None
        assert sample.price_problem.kind is FeedErrorKind.WRONG_TYPE
        assert "price must be a number" in sample.price_problem.message


class TestFaultsNameTheirCause:
    async def test_server_error_is_http_status(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.status = 503
        fault = await fault_of(http_feed(meter, session))
        assert fault.kind is FeedErrorKind.HTTP_STATUS
        assert f"http feed {meter.power_url}: HTTP 503" in str(fault)

    async def test_refused_connection(self, session: aiohttp.ClientSession) -> None:
        config = HttpFeedConfig(url="http://127.0.0.1:9/power", load_path="x")
        fault = await fault_of(HttpFeed(config, session, scope=LoadScope.SITE, clock=lambda: NOW))
        assert fault.kind is FeedErrorKind.CONNECTION
        assert "connection failed" in str(fault)

    async def test_body_that_is_not_json(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.body = b"<html>maintenance</html>"
        fault = await fault_of(http_feed(meter, session))
        assert fault.kind is FeedErrorKind.MALFORMED
        assert "body is not JSON" in str(fault)

    @pytest.mark.parametrize(
        ("document", "where"),
        [
            ({"site": {}}, "nothing at 'load_kw' under site"),
            ({"other": 1}, "nothing at 'site' under the document root"),
            ([1, 2], "nothing at 'site' under the document root"),
            ({"site": "text"}, "nothing at 'load_kw' under site"),
        ],
    )
    async def test_missing_path_names_where_it_stopped(
        self, meter: MeterServer, session: aiohttp.ClientSession, document: object, where: str
    ) -> None:
        meter.state.document = document
        fault = await fault_of(http_feed(meter, session))
        assert fault.kind is FeedErrorKind.MISSING_VALUE
        assert "path 'site.load_kw' not found" in str(fault)
        assert where in str(fault)

    @pytest.mark.parametrize("value", ["12000", None, True, [12000], {"kw": 1}])
    async def test_a_load_that_is_not_a_number_is_wrong_type(
        self, meter: MeterServer, session: aiohttp.ClientSession, value: object
    ) -> None:
        meter.state.document = {"site": {"load_kw": value}}
        fault = await fault_of(http_feed(meter, session))
        assert fault.kind is FeedErrorKind.WRONG_TYPE
        assert "site.load_kw must be a number" in str(fault)

    async def test_a_curtailment_flag_must_be_boolean_or_0_1(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.document = {"site": {"load_kw": 1, "curtailed": "yes"}}
        fault = await fault_of(http_feed(meter, session, curtailed_path="site.curtailed"))
        assert fault.kind is FeedErrorKind.WRONG_TYPE
        assert "true/false or 0/1" in str(fault)

    async def test_unreadable_timestamp_is_malformed(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.document = {"site": {"load_kw": 1}, "t": "yesterday"}
        fault = await fault_of(http_feed(meter, session, timestamp_path="t"))
        assert fault.kind is FeedErrorKind.MALFORMED
        assert "'yesterday' is not an RFC 3339 time" in str(fault)

    async def test_oversized_document_is_malformed(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.body = b'{"pad": "' + b"x" * (2 << 20) + b'"}'
        fault = await fault_of(http_feed(meter, session))
        assert fault.kind is FeedErrorKind.MALFORMED
        assert "larger than" in str(fault)


class TestCredentials:
    async def test_token_from_the_secret_is_sent_as_bearer(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.required_authorization = "Bearer s3cret-token"

        async def secrets(name: str, namespace: str | None) -> Mapping[str, str]:
            assert (name, namespace) == ("meter-creds", "power-meters")
            return {"token": "s3cret-token"}

        config = HttpFeedConfig(url=meter.power_url, load_path="site.load_kw")
        feed = HttpFeed(
            config,
            session,
            scope=LoadScope.SITE,
            clock=lambda: NOW,
            auth=secret_auth(SecretRef(name="meter-creds", namespace="power-meters"), secrets),
        )
        assert (await feed.read()).total_load_kw == 12000.0

    async def test_basic_auth_from_username_and_password(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        async def secrets(_name: str, _namespace: str | None) -> Mapping[str, str]:
            return {"username": "meter", "password": "pw"}

        config = HttpFeedConfig(url=meter.power_url, load_path="site.load_kw")
        feed = HttpFeed(
            config,
            session,
            scope=LoadScope.SITE,
            clock=lambda: NOW,
            auth=secret_auth(SecretRef(name="c"), secrets),
        )
        await feed.read()
        assert meter.state.last_authorization == "Basic " + b64encode(b"meter:pw").decode()

    async def test_wrong_credentials_are_an_http_status_without_the_secret(
        self, meter: MeterServer, session: aiohttp.ClientSession
    ) -> None:
        meter.state.required_authorization = "Bearer right"

        async def secrets(_name: str, _namespace: str | None) -> Mapping[str, str]:
            return {"token": "wrong-token-value"}

        config = HttpFeedConfig(url=meter.power_url, load_path="site.load_kw")
        feed = HttpFeed(
            config,
            session,
            scope=LoadScope.SITE,
            clock=lambda: NOW,
            auth=secret_auth(SecretRef(name="c"), secrets),
        )
        fault = await fault_of(feed)
        assert fault.kind is FeedErrorKind.HTTP_STATUS
        assert "HTTP 401" in str(fault)
        assert "wrong-token-value" not in str(fault)

    @pytest.mark.parametrize(
        ("data", "raises", "expected"),
        [
            ({"user": "x"}, False, "has neither 'token' nor 'username' and 'password'"),
            ({}, True, "secret 'c' could not be read (KeyError)"),
        ],
    )
    async def test_unusable_secret_is_a_credentials_fault(
        self,
        meter: MeterServer,
        session: aiohttp.ClientSession,
        data: Mapping[str, str],
        raises: bool,
        expected: str,
    ) -> None:
        async def secrets(_name: str, _namespace: str | None) -> Mapping[str, str]:
            if raises:
                raise KeyError("password=hunter2")
            return data

        config = HttpFeedConfig(url=meter.power_url, load_path="site.load_kw")
        feed = HttpFeed(
            config,
            session,
            scope=LoadScope.SITE,
            clock=lambda: NOW,
            auth=secret_auth(SecretRef(name="c"), secrets),
        )
        fault = await fault_of(feed)
        assert fault.kind is FeedErrorKind.CREDENTIALS
        assert expected in str(fault)
        assert "hunter2" not in str(fault)
