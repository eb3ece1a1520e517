"""The round holds each metered Site's meter against the miners' own report and writes
MeterReconciled; the gap is exported for the alert."""

from __future__ import annotations

from typing import Any

from cango_operator.operator.round_metrics import fleet_figures
from tests.unit.operator.fleet import Fleet, decide
from tests.unit.operator.test_meter_first import metered_fleet


def report_miners(fleet: Fleet, miners_kw: float) -> None:
    fleet.get("Site", "tx")["status"]["mining"] = {"minersKw": miners_kw}


def conditions(fleet: Fleet, rnd: Any) -> dict[str, dict[str, Any]]:
    fleet.apply(rnd.writes())
    return {c["type"]: c for c in fleet.get("Site", "tx")["status"]["conditions"]}


class TestTheRoundReconcilesTheMeter:
    async def test_a_meter_that_agrees_with_the_miners_is_reconciled(self) -> None:
        fleet = metered_fleet(900)
        report_miners(fleet, 880)
        rnd = await decide(fleet)
        by_type = conditions(fleet, rnd)
        assert by_type["MeterReconciled"]["status"] == "True"
        site = next(s for s in fleet_figures(rnd.view, rnd.plan, rnd.decisions).sites)
        assert site.meter_gap_kw == 20
        assert site.meter_gap_ratio is not None and abs(site.meter_gap_ratio - 20 / 900) < 1e-9

    async def test_a_gap_is_observed_and_the_other_conditions_stay(self) -> None:
        fleet = metered_fleet(900)
        report_miners(fleet, 500)
        by_type = conditions(fleet, await decide(fleet))
        assert by_type["MeterReconciled"]["status"] == "Unknown"
        assert by_type["MeterReconciled"]["reason"] == "GapObserved"
        assert "NodesReporting" in by_type

    async def test_without_a_miners_report_there_is_no_such_condition(self) -> None:
        fleet = metered_fleet(900)
        by_type = conditions(fleet, await decide(fleet))
        assert "MeterReconciled" not in by_type
