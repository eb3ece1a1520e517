"""Latency probes: TCP connect time per region over real sockets on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cango_operator.agent.latency import (
    ProbeTarget,
    measure,
    measure_all,
    parse_probe,
    parse_probes,
    robust_ms,
)
from cango_operator.errors import ConfigError
from tests.loopback import accepting_endpoint, free_port


@pytest.fixture
async def listening_port() -> AsyncIterator[int]:
    """A real TCP server on 127.0.0.1 that accepts and closes connections."""
    async with accepting_endpoint() as port:
        yield port


class TestProbeFlags:
    def test_region_host_port(self) -> None:
        assert parse_probe("north-america=lb.na.example:443") == ProbeTarget(
            "north-america", "lb.na.example", 443
        )

    def test_ipv6_in_brackets(self) -> None:
        target = parse_probe("europe=[2001:db8::1]:8443")
        assert target == ProbeTarget("europe", "2001:db8::1", 8443)
        assert str(target) == "europe=[2001:db8::1]:8443"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("lb.example:443", "expected REGION=HOST:PORT"),
            ("eu=lb.example", "missing :PORT"),
            ("eu=lb.example:https", "port 'https' is not a number"),
            ("eu=lb.example:70000", "not in 1..65535"),
            ("Europe=lb.example:443", "lowercase"),
            ("eu=[::1:443", "expected [IPV6]:PORT"),
        ],
    )
    def test_bad_flags_are_refused_naming_the_flag(self, text: str, message: str) -> None:
        with pytest.raises(ConfigError) as exc:
            parse_probe(text)
        assert str(exc.value).startswith(f"--probe {text!r}")
        assert message in str(exc.value)

    def test_a_region_given_twice_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="more than once: eu"):
            parse_probes(["eu=a:1", "na=b:2", "eu=c:3"])


class TestRobustStatistic:
    def test_the_median_ignores_one_slow_handshake(self) -> None:
        assert robust_ms([10.0, 11.0, 12.0, 10.5, 900.0], attempts=5) == 11.0

    def test_mostly_failed_rounds_report_nothing(self) -> None:
        assert robust_ms([10.0, 11.0], attempts=5) is None
        assert robust_ms([], attempts=3) is None

    def test_half_failed_still_reports(self) -> None:
        assert robust_ms([10.0, 12.0], attempts=4) == 11.0


class TestProbesOverRealSockets:
    async def test_a_listening_endpoint_gives_every_sample_and_a_median(
        self, listening_port: int
    ) -> None:
        result = await measure(ProbeTarget("local", "127.0.0.1", listening_port), count=5)
        assert result.failures == 0
        assert len(result.samples_ms) == 5
        assert all(s > 0 for s in result.samples_ms)
        assert result.median_ms is not None
        assert min(result.samples_ms) <= result.median_ms <= max(result.samples_ms)

    async def test_a_refused_endpoint_counts_failures_and_reports_no_latency(self) -> None:
        result = await measure(ProbeTarget("gone", "127.0.0.1", free_port()), count=3)
        assert result.failures == 3
        assert result.samples_ms == ()
        assert result.median_ms is None
        assert result.error

    async def test_regions_are_measured_together_and_keyed_by_region(
        self, listening_port: int
    ) -> None:
        targets = [
            ProbeTarget("up", "127.0.0.1", listening_port),
            ProbeTarget("down", "127.0.0.1", free_port()),
        ]
        results = await measure_all(targets, count=2, spacing=0)
        assert set(results) == {"up", "down"}
        assert results["up"].median_ms is not None
        assert results["down"].median_ms is None
