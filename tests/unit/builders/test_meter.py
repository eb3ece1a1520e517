"""The site meter against its parts: the gap, and the MeterReconciled condition."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cango_operator.api import Condition, Site, parse_resource
from cango_operator.builders.meter import (
    GAP_SHARE,
    MIN_GAP_KW,
    PERSIST,
    MeterGap,
    meter_gap,
    reconciled_observation,
)
from cango_operator.observability.rules import load_alerts

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]


def site(scope: str, meter_kw: float | None, miners_kw: float | None, gpu_kw: float = 0) -> Site:
    status: dict[str, Any] = {
        "power": {"gpuDrawKw": gpu_kw, "feed": {"healthy": True, "lastValueKw": meter_kw}}
    }
    if miners_kw is not None:
        status["mining"] = {"minersKw": miners_kw}
    doc = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "Site",
        "metadata": {"name": "tx"},
        "spec": {
            "region": "north-america",
            "power": {
                "capacityKw": 200,
                "feed": {"type": "http", "url": "http://127.0.0.1:9/", "loadScope": scope},
            },
        },
        "status": status,
    }
    parsed = parse_resource(doc, source="test")
    assert isinstance(parsed, Site)
    return parsed


def stored(status: str, reason: str, since: datetime) -> list[Condition]:
    return [
        Condition.model_validate(
            {
                "type": "MeterReconciled",
                "status": status,
                "reason": reason,
                "message": "",
                "lastTransitionTime": since,
            }
        )
    ]


class TestTheGap:
    def test_a_mining_meter_is_held_against_the_miners_alone(self) -> None:
        gap = meter_gap(site("mining", 100, 90, gpu_kw=40))
        assert gap == MeterGap(100, 90)

    def test_a_site_meter_is_held_against_miners_and_gpu_nodes(self) -> None:
        gap = meter_gap(site("site", 140, 90, gpu_kw=40))
        assert gap is not None and gap.gap_kw == pytest.approx(10)

    def test_without_the_miners_report_there_is_nothing_to_hold_it_against(self) -> None:
        assert meter_gap(site("mining", 100, None)) is None
        assert meter_gap(site("mining", None, 90)) is None

    @pytest.mark.parametrize(
        ("meter", "parts", "beyond"),
        [(100, 75, True), (100, 85, False), (20, 10, True), (8, 2, True), (6, 2, False)],
    )
    def test_counts_beyond_both_the_share_and_the_floor(
        self, meter: float, parts: float, beyond: bool
    ) -> None:
        assert MeterGap(meter, parts).beyond is beyond


class TestMeterReconciled:
    def test_within_the_tolerance_it_is_true(self) -> None:
        obs = reconciled_observation(MeterGap(100, 90), [], T0)
        assert (obs.status, obs.reason) == (True, "WithinTolerance")
        assert "gap +10.0 kW (10%)" in obs.message

    def test_a_new_gap_is_observed_first(self) -> None:
        obs = reconciled_observation(MeterGap(100, 60), stored("True", "WithinTolerance", T0), T0)
        assert (obs.status, obs.reason) == (None, "GapObserved")

    def test_a_gap_that_lasts_the_persistence_window_is_false(self) -> None:
        before = stored("Unknown", "GapObserved", T0)
        early = reconciled_observation(MeterGap(100, 60), before, T0 + PERSIST / 2)
        assert early.status is None
        late = reconciled_observation(MeterGap(100, 60), before, T0 + PERSIST)
        assert (late.status, late.reason) == (False, "GapPersists")
        after = stored("False", "GapPersists", T0 + PERSIST)
        again = reconciled_observation(MeterGap(100, 60), after, T0 + 2 * PERSIST)
        assert again.status is False

    def test_back_within_it_is_true_again(self) -> None:
        before = stored("False", "GapPersists", T0)
        obs = reconciled_observation(MeterGap(100, 95), before, T0 + timedelta(hours=1))
        assert obs.status is True


class TestTheAlertUsesTheSameFigures:
    def test_its_thresholds_and_window_are_the_conditions(self) -> None:
        alerts = load_alerts(REPO / "charts/cango-operator/rules/cango-alerts.yaml")
        alert = next(a for a in alerts if a.name == "CangoSiteMeterDisagrees")
        numbers = [float(n) for n in re.findall(r"> ([0-9.]+)", alert.expr)]
        assert numbers == [GAP_SHARE, MIN_GAP_KW]
        assert alert.for_ == f"{int(PERSIST.total_seconds() // 60)}m"
