"""The site-mining controller's Events: what a ramp did, what went wrong, and only changes."""

from __future__ import annotations

from datetime import UTC, datetime

from cango_operator.builders.events import event_manifest
from cango_operator.mining.controller import ActionResult, BatchResult, FleetState, RampReport
from cango_operator.mining.driver import MinerError, MinerErrorKind
from cango_operator.mining.ramp import Action, ActionKind
from cango_operator.sitemining.events import Interval, interval_events

QUIET = Interval(None, "", 0.0)


def fleet(mining: int = 10, asleep: int = 0, unreachable: int = 0, kw: float = 30.0) -> FleetState:
    return FleetState(mining, asleep, unreachable, kw * 1000)


def report(
    actions: int, failed: int = 0, shortfall_kw: float = 0.0, shed: bool = True
) -> RampReport:
    results = tuple(
        ActionResult(
            Action(f"127.0.0.{i + 1}", ActionKind.SLEEP if shed else ActionKind.WAKE, None, -3000),
            MinerError(f"127.0.0.{i + 1}", MinerErrorKind.TIMEOUT, "no answer")
            if i < failed
            else None,
        )
        for i in range(actions)
    )
    return RampReport(
        target_w=20_000,
        before_w=32_000 if shed else 10_000,
        expected_w=20_000,
        shortfall_w=shortfall_kw * 1000,
        batches=(BatchResult(0.0, results),),
        seconds=4.2,
        fleet=fleet(kw=20.0),
    )


def reasons(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.reason for e in events]


class TestARamp:
    def test_that_shed_says_what_it_did_from_and_to(self) -> None:
        (event,) = interval_events("tx-1", report(4), fleet(), "", QUIET)
        assert (event.reason, event.type, event.regarding.name) == ("MinersShed", "Normal", "tx-1")
        assert event.note == "4 Sleep in 1 batches over 4.2 s: 32.0 kW -> 20.0 kW (target 20.0 kW)"

    def test_that_raised_says_so(self) -> None:
        assert reasons(interval_events("tx-1", report(2, shed=False), fleet(), "", QUIET)) == [
            "MinersRaised"
        ]

    def test_with_failed_actions_names_the_first_miners_and_counts_the_rest(self) -> None:
        events = interval_events("tx-1", report(6, failed=5), fleet(), "", QUIET)
        assert reasons(events) == ["MinersShed", "MinerActionsFailed"]
        warning = events[1]
        assert warning.type == "Warning"
        assert warning.note == (
            "5 of 6 actions failed: 127.0.0.1: timeout; 127.0.0.2: timeout; 127.0.0.3: timeout"
            " and 2 more"
        )

    def test_short_of_the_target_warns_once_not_every_interval(self) -> None:
        first = interval_events("tx-1", report(0, shortfall_kw=4.0), fleet(), "", QUIET)
        again = interval_events(
            "tx-1", report(0, shortfall_kw=4.3), fleet(), "", Interval(fleet(), "", 4000.0)
        )
        assert reasons(first) == ["MiningShortfall"] and again == []


class TestTheFleet:
    def test_miners_that_stop_answering_warn_once_and_their_return_is_told(self) -> None:
        lost = interval_events("tx-1", None, fleet(unreachable=3), "", QUIET)
        still = interval_events(
            "tx-1", None, fleet(unreachable=3), "", Interval(fleet(unreachable=3), "", 0)
        )
        back = interval_events("tx-1", None, fleet(), "", Interval(fleet(unreachable=3), "", 0))
        assert reasons(lost) == ["MinersUnreachable"] and lost[0].type == "Warning"
        assert "3 of 13 miners do not answer" in lost[0].note
        assert still == []
        assert reasons(back) == ["MinersReachable"]

    def test_a_problem_with_the_site_is_told_when_it_first_appears(self) -> None:
        first = interval_events("tx-1", None, None, "Site tx-1 does not exist", QUIET)
        again = interval_events(
            "tx-1",
            None,
            None,
            "Site tx-1 does not exist",
            Interval(None, "Site tx-1 does not exist", 0),
        )
        assert reasons(first) == ["MiningNotDriven"] and again == []


class TestTheEventObject:
    def test_is_an_events_k8s_io_event_about_the_site(self) -> None:
        (record,) = interval_events("tx-1", report(4), fleet(), "", QUIET)
        now = datetime(2026, 12, 4, 22, 0, 1, 500, tzinfo=UTC)
        body = event_manifest(
            record,
            controller="compute.cango.io/site-mining",
            instance="pod-1",
            now=now,
        )
        assert body["apiVersion"] == "events.k8s.io/v1"
        assert body["metadata"]["namespace"] == "default"  # a Site is cluster-scoped
        assert body["metadata"]["name"].startswith("tx-1.")
        assert body["regarding"] == {
            "apiVersion": "compute.cango.io/v1alpha1",
            "kind": "Site",
            "name": "tx-1",
        }
        assert body["eventTime"] == "2026-12-04T22:00:01.000500Z"
        assert (body["reason"], body["action"], body["type"]) == ("MinersShed", "Ramp", "Normal")

    def test_a_long_note_is_cut_to_what_the_api_server_takes(self) -> None:
        (record,) = interval_events("tx-1", None, None, "x" * 5000, QUIET)
        body = event_manifest(record, controller="c", instance="i", now=datetime.now(UTC))
        assert len(body["note"]) == 1024 and body["note"].endswith("...")
