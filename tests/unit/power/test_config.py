"""Feed and site spec blocks: API field names in, frozen config out, and errors that name
the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cango_operator.api import (
    FeedType,
    ModbusDataType,
    ModbusRegisterType,
    PowerFeed,
    SecretRef,
    load_manifests,
)
from cango_operator.errors import ConfigError
from cango_operator.power import (
    SitePowerSpec,
    feed_config_of,
    parse_feed_config,
    parse_site_power_spec,
    site_power_spec_of,
)
from cango_operator.power.feeds import (
    STATIC_FEED,
    HttpFeedConfig,
    LoadScope,
    ModbusFeedConfig,
    PrometheusFeedConfig,
    WordOrder,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


class TestFeedBlocks:
    def test_no_feed_block_is_static(self) -> None:
        assert parse_feed_config(None) == STATIC_FEED
        assert parse_feed_config({"type": "static"}).type is FeedType.STATIC

    def test_http_block_with_the_api_example_fields(self) -> None:
        config = parse_feed_config(
            {
                "type": "http",
                "url": "http://meter.site.local/power",
                "intervalSeconds": 15,
                "staleAfterSeconds": 90,
                "secretRef": {"name": "tx-rockdale-1-feed"},
                "jsonPath": "site.load_kw",
                "pricePath": "price",
            }
        )
        assert config.type is FeedType.HTTP
        assert config.timing.interval_seconds == 15
        assert config.timing.stale_after_seconds == 90
        assert config.timing.timeout_seconds == 10  # min(10 s, the interval)
        assert config.secret == SecretRef(name="tx-rockdale-1-feed")
        assert config.source == HttpFeedConfig(
            url="http://meter.site.local/power", load_path="site.load_kw", price_path="price"
        )
        assert config.provides_price

    def test_secret_ref_may_name_a_namespace(self) -> None:
        config = parse_feed_config(
            {
                "type": "prometheus",
                "url": "https://prom.site.local",
                "query": "sum(site_load_kw)",
                "secretRef": {"name": "prom-token", "namespace": "site-meters"},
            }
        )
        assert config.secret == SecretRef(name="prom-token", namespace="site-meters")
        assert str(config.secret) == "site-meters/prom-token"

    def test_fields_of_other_feed_types_are_ignored(self) -> None:
        # what the API model dumps for an http feed: modbus defaults included
        config = parse_feed_config(
            {"type": "http", "url": "http://m/p", "port": 502, "unitId": 1, "scale": 1.0}
        )
        assert config.source == HttpFeedConfig(url="http://m/p")

    def test_defaults_are_the_apis_and_the_timeout_fits_the_interval(self) -> None:
        config = parse_feed_config(
            {"type": "prometheus", "url": "http://p:9090", "query": "x", "intervalSeconds": 2}
        )
        assert (config.timing.stale_after_seconds, config.timing.timeout_seconds) == (90, 2)
        assert config.source == PrometheusFeedConfig(url="http://p:9090", query="x")
        assert config.load_scope is LoadScope.SITE

    def test_modbus_block(self) -> None:
        config = parse_feed_config(
            {
                "type": "modbus",
                "host": "10.0.0.5",
                "port": 1502,
                "unitId": 3,
                "register": 40001 - 40001,
                "registerType": "input",
                "dataType": "float32",
                "wordOrder": "little",
                "scale": 0.001,
                "loadScope": "mining",
            }
        )
        assert config.source == ModbusFeedConfig(
            host="10.0.0.5",
            register=0,
            port=1502,
            unit_id=3,
            register_type=ModbusRegisterType.INPUT,
            data_type=ModbusDataType.FLOAT32,
            word_order=WordOrder.LITTLE,
            scale=0.001,
        )
        assert config.load_scope is LoadScope.MINING

    @pytest.mark.parametrize(
        ("block", "message"),
        [
            ({"type": "smoke"}, "spec.power.feed.type: Input should be 'http', 'prometheus'"),
            ({"type": "http", "jsonPath": "x"}, "spec.power.feed.url: url is required"),
            ({"type": "http", "url": "ftp://x/y", "jsonPath": "x"}, "spec.power.feed.url: String"),
            (
                {"type": "http", "url": "http://u:p@x/", "jsonPath": "x"},
                "spec.power.feed.url: url must not carry credentials; use secretRef",
            ),
            (
                {"type": "http", "url": "http://x/", "jsonPaht": "a"},
                "spec.power.feed.jsonPaht: unknown field",
            ),
            (
                {"type": "static", "intervalSeconds": 0},
                "spec.power.feed.intervalSeconds: Input should be greater than or equal to 1",
            ),
            (
                {"type": "static", "intervalSeconds": "15s"},
                "spec.power.feed.intervalSeconds: Input should be a valid integer",
            ),
            (
                {"type": "static", "intervalSeconds": 30, "staleAfterSeconds": 10},
                "spec.power.feed.staleAfterSeconds: staleAfterSeconds must be greater than",
            ),
            (
                {"type": "static", "retries": 99},
                "spec.power.feed.retries: Input should be less than or equal to 10",
            ),
            (
                {"type": "modbus", "host": "h", "register": 0, "secretRef": {"name": "s"}},
                "spec.power.feed.secretRef: secretRef applies only to http and prometheus feeds",
            ),
            (
                {"type": "http", "url": "http://x/", "jsonPath": "a", "secretRef": {}},
                "spec.power.feed.secretRef.name: Field required",
            ),
            (
                {"type": "http", "url": "http://x/", "secretRef": {"name": "s", "key": "k"}},
                "spec.power.feed.secretRef.key: unknown field",
            ),
            ({"type": "modbus", "host": "h"}, "spec.power.feed.register: register is required"),
            (
                {"type": "modbus", "host": "h", "register": 70000},
                "spec.power.feed.register: Input should be less than or equal to 65535",
            ),
            (
                {"type": "modbus", "host": "h", "register": 1, "dataType": "float64"},
                "spec.power.feed.dataType: Input should be 'uint16', 'int16'",
            ),
            (
                {"type": "modbus", "host": "h", "register": 1, "scale": 0},
                "spec.power.feed.scale: Input should be greater than 0",
            ),
        ],
    )
    def test_bad_blocks_name_the_field(self, block: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_feed_config(block)
        assert message in str(caught.value)


class TestFromTheApiModels:
    def test_every_example_site_reads_into_a_power_spec(self) -> None:
        sites = load_manifests([EXAMPLES / "fleet.yaml", EXAMPLES / "site-feeds.yaml"]).sites
        assert sites
        for site in sites:
            spec = site_power_spec_of(site.spec)
            assert spec.capacity_kw == site.spec.power.capacity_kw
            assert spec.feed.type.value == (site.spec.power.feed or PowerFeed(type="static")).type
            assert spec.feed == feed_config_of(site.spec.power.feed)

    def test_api_feed_fields_map_onto_the_adapter_config(self) -> None:
        feed = PowerFeed.model_validate(
            {
                "type": "modbus",
                "host": "10.0.0.5",
                "register": 3059,
                "dataType": "float32",
                "registerType": "input",
                "scale": 0.001,
                "intervalSeconds": 5,
                "staleAfterSeconds": 30,
            }
        )
        config = feed_config_of(feed)
        assert config.source == ModbusFeedConfig(
            host="10.0.0.5",
            register=3059,
            register_type=ModbusRegisterType.INPUT,
            data_type=ModbusDataType.FLOAT32,
            scale=0.001,
        )
        assert (config.timing.interval_seconds, config.timing.stale_after_seconds) == (5, 30)

    def test_a_secret_ref_keeps_its_namespace(self) -> None:
        feed = PowerFeed.model_validate(
            {
                "type": "http",
                "url": "https://meter/power",
                "secretRef": {"name": "creds", "namespace": "meters"},
            }
        )
        assert feed_config_of(feed).secret == SecretRef(name="creds", namespace="meters")
        assert feed_config_of(None) == STATIC_FEED


class TestSitePowerSpec:
    def test_reads_power_mining_and_price(self) -> None:
        spec = parse_site_power_spec(
            {
                "region": "north-america",
                "power": {"capacityKw": 20000, "reserveKw": 500, "pue": 1.15},
                "energyPriceUsdPerMwh": 38,
                "mining": {"loadKw": 16000, "curtailableKw": 8000},
            }
        )
        assert spec == SitePowerSpec(
            capacity_kw=20000,
            reserve_kw=500,
            pue=1.15,
            mining_load_kw=16000,
            curtailable_kw=8000,
            energy_price_usd_per_mwh=38,
        )

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ({}, "spec.power: Input should be a valid dictionary"),
            ({"power": {}}, "spec.power.capacityKw: Field required"),
            ({"power": {"capacityKw": 0}}, "spec.power.capacityKw: Input should be greater than 0"),
            (
                {"power": {"capacityKw": 100, "reserveKw": 100}},
                "spec.power.reserveKw: reserveKw must be less than capacityKw",
            ),
            (
                {"power": {"capacityKw": 100, "pue": 0.9}},
                "spec.power.pue: Input should be greater than or equal to 1",
            ),
            (
                {"power": {"capacityKw": 100}, "mining": {"loadKw": float("nan")}},
                "spec.mining.loadKw: Input should be a finite number",
            ),
            (
                {"power": {"capacityKw": 100, "feed": {"type": "http"}}},
                "spec.power.feed.url: url is required",
            ),
        ],
    )
    def test_bad_specs_name_the_field(self, spec: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_site_power_spec(spec)
        assert message in str(caught.value)
