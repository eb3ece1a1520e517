"""The partition benchmark's arithmetic and its report (the run itself needs a federation)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bench.partition import parse_args, table

COMMON: dict[str, Any] = {
    "replicas_at_cut_site": 50,
    "jobs": 25,
    "waiting_jobs": 5,
    "cut_s": 600.0,
    "grace_s": 60,
    "reachable_again_s": 1.5,
    "surplus_removed_s": 2.5,
    "duplicates_or_mismatches_at_end": 0,
    "jobs_short_at_end": 0,
}


class TestArguments:
    def test_a_long_cut_must_leave_room_for_the_grace_and_the_replacements(self) -> None:
        with pytest.raises(SystemExit):
            parse_args(["--cut-seconds", "90", "--grace", "60"])
        assert parse_args(["--cut-seconds", "120", "--grace", "60"]).cut_seconds == 120

    def test_a_flapping_link_needs_no_such_room(self) -> None:
        assert parse_args(["--flap-period", "20", "--cut-seconds", "300"]).flap_period == 20

    def test_a_hub_outage_is_a_run_of_its_own(self) -> None:
        assert parse_args(["--hub-outage", "--cut-seconds", "1800"]).hub_outage
        with pytest.raises(SystemExit):
            parse_args(["--hub-outage", "--flap-period", "20"])

    def test_replicas_come_in_jobs_of_two(self) -> None:
        with pytest.raises(SystemExit):
            parse_args(["--replicas", "51"])


class TestTable:
    def test_a_long_cut_reports_detection_replacement_and_losses(self) -> None:
        text = table(
            {
                **COMMON,
                "detection_s": 23.1,
                "replaced_jobs": "20/20",
                "replacement_after_mark_s": {"p50": 60.4, "p99": 61.0, "max": 61.2},
                "pods_lost_at_cut_site": 0,
                "waiting_jobs_replaced": 0,
            }
        )
        assert "| detection: cut -> Site ClusterReachable False | 23.1 s |" in text
        assert "60.4 / 61.0 / 61.2 s (20/20 jobs)" in text

    def test_a_flapping_link_reports_restarts_and_replacements(self) -> None:
        text = table(
            {
                **COMMON,
                "flap_period_s": 20.0,
                "cuts": 8,
                "pods_lost_at_cut_site": 0,
                "replacement_pods_created": 0,
                "operator_alive": True,
            }
        )
        assert "20 s / 600 s (8 cuts)" in text and "| operator alive at the end | True |" in text

    def test_a_hub_outage_reports_losses_and_rewrites(self) -> None:
        text = table(
            {
                **COMMON,
                "hub_outage_s": 1800.0,
                "pods_lost_anywhere": 0,
                "works_rewritten": 0,
                "sites_available_again_s": 4.2,
            }
        )
        assert "| hub stopped for | 1800 s |" in text
        assert "| ManifestWorks rewritten after it is back | 0 |" in text
