"""Statuses the operator writes: phases, counted messages, stable conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cango_operator.api import JobPhase, JobPlacement
from cango_operator.builders import (
    NodeView,
    Shortfall,
    failed_status,
    job_phase,
    job_status,
    site_aggregates,
)
from tests.unit.builders.factories import gpunode, job

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def rows(*spec: tuple[str, str, int]) -> list[JobPlacement]:
    return [JobPlacement(site=s, node=n, replicas=r, gpus=r, power_w=650.0 * r) for s, n, r in spec]


class TestJobPhase:
    @pytest.mark.parametrize(
        ("placed", "ready", "phase"),
        [
            (0, 0, JobPhase.UNSCHEDULABLE),
            (2, 0, JobPhase.DEGRADED),
            (4, 2, JobPhase.PLACING),
            (4, 4, JobPhase.RUNNING),
        ],
    )
    def test_phase_follows_placed_and_ready_replicas(
        self, placed: int, ready: int, phase: JobPhase
    ) -> None:
        assert job_phase(4, placed, ready) is phase


class TestJobStatus:
    def test_a_running_job_reports_placements_sites_and_worst_latency(self) -> None:
        status = job_status(
            job(replicas=3),
            rows(("tx-2", "b", 1), ("tx-1", "a", 2)),
            ready=3,
            shortfall=None,
            latency_by_site={"tx-1": 25, "tx-2": 31},
            now=NOW,
        )
        assert status["phase"] == "Running"
        assert status["replicas"] == 3
        assert status["readyReplicas"] == 3
        assert [p["node"] for p in status["placements"]] == ["a", "b"]
        assert status["placements"][0] == {
            "site": "tx-1",
            "node": "a",
            "replicas": 2,
            "gpus": 2,
            "powerW": 1300.0,
        }
        assert status["sites"] == ["tx-1", "tx-2"]
        assert status["latencyMs"] == 31
        assert status["observedGeneration"] == 3
        assert status["selector"] == "compute.cango.io/job=llama-chat"
        assert status["message"] == ""

    def test_an_unschedulable_job_carries_the_engines_counted_message(self) -> None:
        msg = "0/20 nodes fit: 12 latency > 50ms, 8 no H100-80GB"
        status = job_status(
            job(replicas=2),
            [],
            ready=0,
            shortfall=Shortfall(missing=2, message=msg),
            latency_by_site={},
            now=NOW,
        )
        assert status["phase"] == "Unschedulable"
        assert status["message"] == msg
        placed = next(c for c in status["conditions"] if c["type"] == "Placed")
        assert placed["status"] == "False"
        assert placed["reason"] == "Unschedulable"
        assert placed["message"] == msg

    def test_ready_replicas_never_exceed_placed_ones(self) -> None:
        status = job_status(
            job(replicas=2),
            rows(("s", "n", 1)),
            ready=5,
            shortfall=None,
            latency_by_site={},
            now=NOW,
        )
        assert status["readyReplicas"] == 1

    def test_conditions_keep_their_transition_time_while_unchanged(self) -> None:
        first = job_status(
            job(replicas=1),
            rows(("s", "n", 1)),
            ready=1,
            shortfall=None,
            latency_by_site={},
            now=NOW,
        )
        later = job(replicas=1, status={"conditions": first["conditions"]})
        again = job_status(
            later,
            rows(("s", "n", 1)),
            ready=1,
            shortfall=None,
            latency_by_site={},
            now=NOW + timedelta(hours=1),
        )
        assert again["conditions"] == first["conditions"]
        lost = job_status(
            later,
            rows(("s", "n", 1)),
            ready=0,
            shortfall=None,
            latency_by_site={},
            now=NOW + timedelta(hours=1),
        )
        ready = next(c for c in lost["conditions"] if c["type"] == "Ready")
        assert ready["lastTransitionTime"] == "2026-11-22T13:00:00Z"


class TestFailedStatus:
    def test_an_invalid_spec_fails_with_the_validation_message(self) -> None:
        status = failed_status(
            generation=2, message="spec.replicas: must be >= 1", existing=[], now=NOW
        )
        assert status["phase"] == "Failed"
        assert status["message"] == "spec.replicas: must be >= 1"
        assert status["conditions"][0]["type"] == "SpecValid"
        assert status["conditions"][0]["status"] == "False"


class TestSiteAggregates:
    def test_counts_nodes_gpus_and_power_times_pue(self) -> None:
        views = [
            NodeView(gpunode("a", status={"powerW": 2000}), True, 3, 8),
            NodeView(gpunode("b", status={"powerW": 1000}), False, 0, 8),
        ]
        status = site_aggregates(
            views, pue=1.2, committed_w=1950, available_kw=812.5, mining_target_kw=300
        )
        assert status["nodes"] == {"total": 2, "ready": 1}
        assert status["gpus"] == {"total": 16, "allocated": 3, "free": 5}
        assert status["power"] == {
            "gpuDrawKw": 3.6,
            "committedKw": 2.34,
            "availableKw": 812.5,
            "miningTargetKw": 300,
        }
