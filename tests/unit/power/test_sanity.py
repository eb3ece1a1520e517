"""Sanity checks: what a plausible reading of a site looks like, and what is rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cango_operator.power import (
    FeedErrorKind,
    FeedReadError,
    FeedSample,
    SanityLimits,
    check_sample,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LIMITS = SanityLimits(capacity_kw=20000, stale_after_seconds=90)
SOURCE = "http feed http://meter/power"


def checked(**values: object) -> FeedSample:
    fields: dict[str, object] = {"timestamp": NOW, "total_load_kw": 15000.0}
    fields.update(values)
    return check_sample(FeedSample(**fields), LIMITS, NOW, SOURCE)  # type: ignore[arg-type]


def rejection(**values: object) -> FeedReadError:
    with pytest.raises(FeedReadError) as caught:
        checked(**values)
    return caught.value


class TestPlausibleSamplesPass:
    def test_an_ordinary_sample_is_unchanged(self) -> None:
        assert checked(capacity_kw=20000.0, price_usd_per_mwh=40.0).total_load_kw == 15000.0

    def test_load_a_little_over_capacity_is_a_real_overshoot(self) -> None:
        assert checked(total_load_kw=29999.0).total_load_kw == 29999.0

    def test_negative_prices_happen_in_power_markets(self) -> None:
        assert checked(price_usd_per_mwh=-50.0).price_usd_per_mwh == -50.0

    def test_small_clock_skew_into_the_future_is_tolerated(self) -> None:
        checked(timestamp=NOW + timedelta(seconds=30))


class TestNonsenseIsRejected:
    @pytest.mark.parametrize(
        ("values", "kind", "words"),
        [
            ({"total_load_kw": float("nan")}, FeedErrorKind.NAN, "site load is nan"),
            ({"mining_load_kw": float("inf")}, FeedErrorKind.NAN, "mining load is inf"),
            ({"total_load_kw": -1.0}, FeedErrorKind.NEGATIVE, "site load is negative (-1 kW)"),
            ({"capacity_kw": -5.0}, FeedErrorKind.NEGATIVE, "capacity is negative"),
            (
                {"total_load_kw": 30001.0},
                FeedErrorKind.ABSURD,
                "site load 30001 kW is above 1.5 x the site's capacity (20000 kW)",
            ),
            ({"capacity_kw": 1e9}, FeedErrorKind.ABSURD, "capacity 1e+09 kW is above"),
            (
                {"timestamp": NOW - timedelta(seconds=600)},
                FeedErrorKind.STALE,
                "is 600 s old (staleAfterSeconds 90)",
            ),
            (
                {"timestamp": NOW + timedelta(hours=1)},
                FeedErrorKind.ABSURD,
                "is 3600 s in the future",
            ),
        ],
    )
    def test_rejection_names_source_value_and_cause(
        self, values: dict[str, object], kind: FeedErrorKind, words: str
    ) -> None:
        fault = rejection(**values)
        assert fault.kind is kind
        assert str(fault).startswith(SOURCE + ": ")
        assert words in str(fault)


class TestBadPricesOnlyDropThePrice:
    @pytest.mark.parametrize(
        ("price", "kind", "words"),
        [
            (float("nan"), FeedErrorKind.NAN, "energy price is nan"),
            (25000.0, FeedErrorKind.ABSURD, "energy price 25000 USD/MWh is outside -1000..20000"),
            (-5000.0, FeedErrorKind.ABSURD, "outside"),
        ],
    )
    def test_price_problem_is_recorded(self, price: float, kind: FeedErrorKind, words: str) -> None:
        result = checked(price_usd_per_mwh=price)
        assert result.total_load_kw == 15000.0
        assert result.price_usd_per_mwh is None
        assert result.price_problem is not None
        assert result.price_problem.kind is kind
        assert words in result.price_problem.message
