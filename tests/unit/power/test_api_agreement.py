"""The power code and the API models agree: every feed field the power code reads is one
the API declares (so the API server keeps it), with the same defaults, and every status
field the power model writes is one the Site status schema has (so it is not pruned)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from cango_operator.api import LoadScope, PowerFeed, Site, WordOrder, crd_manifest
from cango_operator.api.site import FEED_PATH_PATTERN
from cango_operator.errors import ConfigError
from cango_operator.power import (
    FeedSample,
    FeedState,
    GpuLoad,
    SitePowerSpec,
    compute_site_power,
    feed_config_of,
    parse_feed_config,
)
from cango_operator.power.feeds import HttpFeedConfig, ModbusFeedConfig, PrometheusFeedConfig
from cango_operator.power.feeds.values import split_path

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SITE_SCHEMA: dict[str, Any] = crd_manifest(Site)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
FEED_SCHEMA: dict[str, Any] = SITE_SCHEMA["properties"]["spec"]["properties"]["power"][
    "properties"
]["feed"]

MINIMAL_FEEDS = [
    {"type": "static"},
    {"type": "http", "url": "http://meter/power"},
    {"type": "prometheus", "url": "http://prom:9090", "query": "sum(site_kw)"},
    {"type": "modbus", "host": "10.0.0.5", "register": 3059},
]


def _undeclared(doc: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Paths in ``doc`` that ``schema`` does not declare (the API server would prune them)."""
    if isinstance(doc, dict):
        properties = schema.get("properties")
        if properties is None:
            return []  # a map: any key is kept
        found = []
        for key, value in doc.items():
            if key not in properties:
                found.append(f"{path}.{key}")
            else:
                found += _undeclared(value, properties[key], f"{path}.{key}")
        return found
    if isinstance(doc, list):
        return [p for item in doc for p in _undeclared(item, schema["items"], f"{path}[]")]
    return []


class TestFeedFields:
    def test_a_site_without_a_feed_gets_the_apis_default_timing(self) -> None:
        declared = feed_config_of(PowerFeed.model_validate({"type": "static"}))
        assert feed_config_of(None) == declared

    @pytest.mark.parametrize("block", MINIMAL_FEEDS, ids=lambda b: str(b["type"]))
    def test_a_mapping_is_read_through_the_api_model(self, block: dict[str, Any]) -> None:
        assert parse_feed_config(block) == feed_config_of(PowerFeed.model_validate(block))

    def test_the_enums_are_the_apis(self) -> None:
        assert FEED_SCHEMA["properties"]["loadScope"]["enum"] == [s.value for s in LoadScope]
        assert FEED_SCHEMA["properties"]["wordOrder"]["enum"] == [w.value for w in WordOrder]
        assert FEED_SCHEMA["properties"]["loadScope"]["default"] == "site"
        assert FEED_SCHEMA["properties"]["wordOrder"]["default"] == "big"


class TestFeedConfigOfReadsTheNewFields:
    def test_http_paths_timing_and_scope(self) -> None:
        feed = PowerFeed.model_validate(
            {
                "type": "http",
                "url": "https://meter/power",
                "jsonPath": "site.loadKw",
                "capacityPath": "grid.limitKw",
                "curtailedPath": "grid.curtailed",
                "pricePath": "market.usdPerMwh",
                "timestampPath": "site.time",
                "intervalSeconds": 20,
                "timeoutSeconds": 2.5,
                "retries": 4,
                "loadScope": "mining",
            }
        )
        config = feed_config_of(feed)
        assert config.source == HttpFeedConfig(
            url="https://meter/power",
            load_path="site.loadKw",
            capacity_path="grid.limitKw",
            curtailed_path="grid.curtailed",
            price_path="market.usdPerMwh",
            timestamp_path="site.time",
        )
        assert (config.timing.timeout_seconds, config.timing.retries) == (2.5, 4)
        assert config.load_scope is LoadScope.MINING
        assert config.provides_price

    def test_prometheus_queries(self) -> None:
        feed = PowerFeed.model_validate(
            {
                "type": "prometheus",
                "url": "http://prom:9090",
                "query": "sum(site_kw)",
                "capacityQuery": "min(limit_kw)",
                "curtailedQuery": "max(curtailed)",
                "priceQuery": "avg(price)",
            }
        )
        assert feed_config_of(feed).source == PrometheusFeedConfig(
            url="http://prom:9090",
            query="sum(site_kw)",
            capacity_query="min(limit_kw)",
            curtailed_query="max(curtailed)",
            price_query="avg(price)",
        )

    def test_modbus_word_order_and_registers(self) -> None:
        feed = PowerFeed.model_validate(
            {
                "type": "modbus",
                "host": "10.0.0.5",
                "register": 3059,
                "dataType": "int32",
                "wordOrder": "little",
                "capacityRegister": 3061,
                "curtailedRegister": 3063,
            }
        )
        source = feed_config_of(feed).source
        assert isinstance(source, ModbusFeedConfig)
        assert source.word_order is WordOrder.LITTLE
        assert (source.capacity_register, source.curtailed_register) == (3061, 3063)


class TestWhatTheApiRejectsThePowerCodeWouldToo:
    @pytest.mark.parametrize(
        "block",
        [
            {"type": "modbus", "host": "h", "register": 1, "url": "http://h/"},
            {"type": "modbus", "host": "h", "register": 1, "secretRef": {"name": "s"}},
            {"type": "http", "url": "http://h/", "jsonPath": "   "},
            {"type": "prometheus", "url": "http://p", "query": "sum(x)", "priceQuery": "\t"},
        ],
    )
    def test_blocks_the_power_code_refuses_are_refused_by_the_api(
        self, block: dict[str, Any]
    ) -> None:
        with pytest.raises(ValidationError):
            PowerFeed.model_validate(block)
        with pytest.raises(ConfigError, match=r"spec\.power\.feed\."):
            parse_feed_config(block)

    @pytest.mark.parametrize(
        "path",
        [
            "site.loadKw",
            "$.site.loadKw",
            "$site",
            "meters.0.kw",
            "meters[0].kw",
            "meters.[0]",
            "[2]",
            "grid[1][0].limit kw",
            "a.$b",
        ],
    )
    def test_every_path_the_api_accepts_the_feeds_can_follow(self, path: str) -> None:
        assert re.match(FEED_PATH_PATTERN, path)
        assert split_path(path)

    @pytest.mark.parametrize("path", ["", "$", "$.", "a..b", "a[x]", "a]", "meters[0.kw", "a[]"])
    def test_paths_the_feeds_cannot_follow_are_refused_by_the_api(self, path: str) -> None:
        assert re.match(FEED_PATH_PATTERN, path) is None
        with pytest.raises(ValueError):
            split_path(path)


class TestStatusFields:
    def test_every_status_field_the_power_model_writes_is_in_the_site_schema(self) -> None:
        spec = SitePowerSpec(
            capacity_kw=1000,
            reserve_kw=50,
            mining_load_kw=600,
            curtailable_kw=100,
            energy_price_usd_per_mwh=40,
            feed=parse_feed_config(
                {"type": "http", "url": "http://m/", "capacityPath": "c", "pricePath": "p"}
            ),
        )
        sample = FeedSample(
            timestamp=NOW - timedelta(seconds=1),
            total_load_kw=900,
            capacity_kw=800,
            price_usd_per_mwh=55,
        )
        feed = FeedState("http feed http://m/", sample, provides_price=True)
        state = compute_site_power(spec, feed, GpuLoad(node_power_kw=300), NOW)
        assert state.gpu_excess_kw > 0  # the curtailed site cannot carry its GPUs
        status = state.status()
        assert _undeclared(status, SITE_SCHEMA["properties"]["status"], "status") == []
        gpu_excess = SITE_SCHEMA["properties"]["status"]["properties"]["power"]["properties"][
            "gpuExcessKw"
        ]
        assert gpu_excess["minimum"] == 0
        assert "preemptible" in gpu_excess["description"]

    def test_the_status_reads_back_through_the_api_model(self) -> None:
        spec = SitePowerSpec(capacity_kw=1000, feed=parse_feed_config({"type": "static"}))
        feed = FeedState("static feed", FeedSample(timestamp=NOW))
        status = compute_site_power(spec, feed, GpuLoad(node_power_kw=10), NOW).status()
        site = Site.model_validate(
            {
                "apiVersion": "compute.cango.io/v1alpha1",
                "kind": "Site",
                "metadata": {"name": "s"},
                "spec": {"region": "r", "power": {"capacityKw": 1000}},
                "status": status,
            }
        )
        assert site.status is not None and site.status.power is not None
        assert site.status.power.gpu_excess_kw == 0
