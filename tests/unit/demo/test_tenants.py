"""Tenants submit their jobs (and the baseline's Deployments) at the scenario's times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cango_operator.demo.scenario import parse_scenario
from cango_operator.demo.tenants import TenantCalls, TenantPlayer, job_timeline

SCENARIO = parse_scenario(
    {
        "name": "t",
        "gpuModels": {"L40S-48GB": {"memoryMiB": 46068, "maxPowerW": 350}},
        "sites": [
            {
                "name": "a",
                "region": "north-america",
                "capacityKw": 1200,
                "energyPriceUsdPerMwh": 31,
                "mining": {"loadKw": 1100},
                "latencyMs": {"north-america": 20},
            }
        ],
        "tenants": [
            {
                "name": "acme",
                "jobs": [
                    {
                        "name": "late",
                        "submitAt": "02:00",
                        "replicas": 1,
                        "clientRegion": "north-america",
                        "maxLatencyMs": 50,
                    },
                    {
                        "name": "early",
                        "submitAt": "00:30",
                        "endAt": "02:00",
                        "replicas": 2,
                        "clientRegion": "north-america",
                        "maxLatencyMs": 50,
                    },
                ],
            }
        ],
    }
)


def recording() -> tuple[TenantCalls, list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def named(kind: str) -> Callable[..., None]:
        def call(*args: Any) -> None:
            target = (
                args[0]["metadata"]
                if isinstance(args[0], dict)
                else {"namespace": args[0], "name": args[1]}
            )
            calls.append((kind, f"{target['namespace']}/{target['name']}"))

        return call

    return (
        TenantCalls(
            named("create job"),
            named("delete job"),
            named("create deployment"),
            named("delete deployment"),
        ),
        calls,
    )


async def run_now(fn: Callable[[], None]) -> None:
    fn()


class TestTimeline:
    def test_submissions_and_deletions_in_time_order_deletions_first_at_a_tie(self) -> None:
        timeline = [(a.sim_t, a.submit, a.job.name) for a in job_timeline(SCENARIO)]
        assert timeline == [(1800, True, "early"), (7200, False, "early"), (7200, True, "late")]


class TestTenantPlayer:
    async def test_a_submission_creates_the_job_and_its_baseline_deployment(self) -> None:
        calls, seen = recording()
        player = TenantPlayer(SCENARIO, calls, run_now, baseline=True)
        assert await player.play_due(1799) == []
        done = await player.play_due(1800)
        assert [a.job.name for a in done] == ["early"]
        assert seen == [
            ("create job", "tenant-acme/early"),
            ("create deployment", "baseline-acme/early"),
        ]

    async def test_an_ending_job_is_deleted_in_both_worlds(self) -> None:
        calls, seen = recording()
        player = TenantPlayer(SCENARIO, calls, run_now, baseline=True)
        await player.play_due(7200)
        assert seen[2:] == [
            ("delete job", "tenant-acme/early"),
            ("delete deployment", "baseline-acme/early"),
            ("create job", "tenant-acme/late"),
            ("create deployment", "baseline-acme/late"),
        ]
        assert player.pending() == 0

    async def test_without_the_baseline_only_jobs_are_made(self) -> None:
        calls, seen = recording()
        await TenantPlayer(SCENARIO, calls, run_now, baseline=False).play_due(86400)
        assert {kind for kind, _ in seen} == {"create job", "delete job"}
