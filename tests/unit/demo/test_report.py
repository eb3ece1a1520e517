"""The report's arithmetic on small hand-made samples, each number worked out by hand.

Two sites: ``a`` (PUE 1.1, GPU budget 10 kW, $40/MWh, 20 ms to north-america) and ``b``
(PUE 1.0, budget 0.5 kW, $100/MWh, 90 ms). One job wants 2 replicas within 50 ms. Four
samples half an hour apart (the last has no weight):

    t=0     r1@a serving, r2@b serving
    t=0.5h  r1@a serving, r2@b not serving (b lost power)
    t=1h    r1@a, r3@a serving (r2 gone: moved)
    t=1.5h  same
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cango_operator.demo.report import (
    EventRecord,
    build_report,
    energy,
    event_impact,
    gpu_utilisation,
    overruns,
    percentile,
    service,
    stats,
    times_to_running,
    weights,
)
from cango_operator.demo.report_text import render_report
from cango_operator.demo.samples import (
    JobRecord,
    JobSample,
    PodRecord,
    ReplicaSample,
    SiteSample,
    Snapshot,
)

JOB = "tenant-t/chat"


def site(
    name: str, pue: float, budget: float, price: float, latency: float, *, powered: bool = True
) -> SiteSample:
    return SiteSample(
        name,
        "north-america",
        "Ready" if powered else "Offline",
        powered,
        budget,
        None,
        price,
        pue,
        {"north-america": latency},
    )


def replica(pod: str, at: str, serving: bool = True, world: str = "cango") -> ReplicaSample:
    return ReplicaSample(world, JOB, pod, f"{at}-n001", at, 1, 1000.0, serving)


def snapshot(
    real_s: float, sim_s: float, replicas: list[ReplicaSample], b_powered: bool = True
) -> Snapshot:
    return Snapshot(
        real_s,
        sim_s,
        {"a": site("a", 1.1, 10, 40, 20), "b": site("b", 1.0, 0.5, 100, 90, powered=b_powered)},
        (JobSample("cango", JOB, 2, "Running", "north-america", 50),),
        tuple(replicas),
        {"cango": 8},
    )


SNAPSHOTS = [
    snapshot(0, 0, [replica("r1", "a"), replica("r2", "b")]),
    snapshot(10, 1800, [replica("r1", "a"), replica("r2", "b", serving=False)], b_powered=False),
    snapshot(20, 3600, [replica("r1", "a"), replica("r3", "a")]),
    snapshot(30, 5400, [replica("r1", "a"), replica("r3", "a")]),
]
STORM = EventRecord("storm", "storm", 1000, 5, sim_end=7000, real_end=25, sites=("b",))


def cut_at_a(replicas: list[list[ReplicaSample]]) -> list[Snapshot]:
    """Samples half an hour apart; site a's budget is 10 kW in the first, 0.5 kW after."""
    return [
        Snapshot(
            i * 10,
            i * 1800,
            {"a": site("a", 1.1, 10 if i == 0 else 0.5, 40, 20)},
            (JobSample("cango", JOB, 1, "Running", "north-america", 50),),
            tuple(at),
            {"cango": 8},
        )
        for i, at in enumerate(replicas)
    ]


class TestWeights:
    def test_each_sample_holds_until_the_next(self) -> None:
        assert weights(SNAPSHOTS) == [1800, 1800, 1800, 0]
        assert weights([]) == []


class TestService:
    def test_availability_and_slo_attainment_are_shares_of_requested_replica_time(self) -> None:
        availability, attainment = service(SNAPSHOTS, "cango")
        # served (2 + 1 + 2) x 1800 of 2 x 5400; within 50 ms: (1 + 1 + 2) x 1800
        assert availability == pytest.approx(100 * 9000 / 10800)
        assert attainment == pytest.approx(100 * 7200 / 10800)

    def test_no_jobs_means_no_figure(self) -> None:
        assert service(SNAPSHOTS, "baseline") == (None, None)


class TestPower:
    def test_committed_power_over_a_sites_budget_is_an_overrun(self) -> None:
        summary = overruns(SNAPSHOTS, "cango")
        # only t=0 at b: 1 kW x PUE 1.0 against 0.5 kW, for half an hour
        assert summary.site_samples == 1
        assert summary.site_hours == pytest.approx(0.5)
        assert summary.max_kw == pytest.approx(0.5)
        assert summary.sites == ("b",)

    def test_a_cut_met_by_the_next_sample_is_a_reaction_not_an_overrun(self) -> None:
        # a's budget falls from 10 to 0.5 kW under r1 (1.1 kW); r1 is gone one sample later
        summary = overruns(cut_at_a([[replica("r1", "a")], [replica("r1", "a")], []]), "cango")
        assert (summary.site_samples, summary.reaction_samples) == (0, 1)

    def test_a_cut_still_unmet_one_sample_later_is_an_overrun(self) -> None:
        samples = cut_at_a([[replica("r1", "a")], [replica("r1", "a")], [replica("r1", "a")]])
        summary = overruns(samples, "cango")
        assert (summary.site_samples, summary.reaction_samples) == (1, 1)
        assert summary.first[0].sim_s == 3600

    def test_work_added_at_the_moment_of_a_cut_is_an_overrun(self) -> None:
        samples = cut_at_a([[], [replica("r1", "a")], []])
        summary = overruns(samples, "cango")
        assert (summary.site_samples, summary.reaction_samples) == (1, 0)

    def test_energy_is_committed_power_over_time_priced_per_site(self) -> None:
        kwh, usd = energy(SNAPSHOTS, "cango")
        # (1.1 + 1.0) x 0.5 h + 1.1 x 0.5 h + 2.2 x 0.5 h
        assert kwh == pytest.approx(2.7)
        # 1.1 x 0.5 x 0.040 + 1.0 x 0.5 x 0.100 + 1.1 x 0.5 x 0.040 + 2.2 x 0.5 x 0.040
        assert usd == pytest.approx(0.138)

    def test_gpu_utilisation_is_gpus_serving_over_gpus_there(self) -> None:
        assert gpu_utilisation(SNAPSHOTS, "cango") == pytest.approx(100 * 9000 / 43200)


class TestEvents:
    def test_replicas_on_the_sites_are_counted_moved_and_the_recovery_timed(self) -> None:
        impact = event_impact(SNAPSHOTS, "cango", STORM)
        assert impact.affected_replicas == 1
        assert impact.moved_replicas == 1
        assert impact.disrupted_jobs == 1
        assert impact.recovered_after_s == 15  # dropped at 10 s, full again at 20 s; began at 5
        assert impact.median_recovery_s == 15

    def test_a_job_never_back_to_full_service_has_no_recovery_time(self) -> None:
        never = [*SNAPSHOTS[:2], snapshot(20, 3600, [replica("r1", "a")])]
        assert event_impact(never, "cango", STORM).recovered_after_s is None

    def test_a_job_deleted_before_it_was_back_is_no_outage_left_open(self) -> None:
        deleted = [
            *SNAPSHOTS[:2],
            Snapshot(**{**SNAPSHOTS[2].__dict__, "jobs": (), "replicas": ()}),
        ]
        impact = event_impact(deleted, "cango", STORM)
        assert (impact.disrupted_jobs, impact.recovered_after_s) == (0, None)

    def test_a_job_back_and_deleted_later_still_counts_as_recovered(self) -> None:
        later = [*SNAPSHOTS[:3], Snapshot(**{**SNAPSHOTS[3].__dict__, "jobs": (), "replicas": ()})]
        impact = event_impact(later, "cango", STORM)
        assert (impact.disrupted_jobs, impact.recovered_after_s) == (1, 15)

    def test_an_event_where_nothing_ran_touches_nothing(self) -> None:
        quiet = EventRecord("spike", "priceSpike", 0, 5, sites=("c",))
        impact = event_impact(SNAPSHOTS, "cango", quiet)
        assert (impact.affected_replicas, impact.moved_replicas, impact.disrupted_jobs) == (0, 0, 0)


class TestTimeToRunning:
    def test_it_is_the_time_until_the_last_wanted_replica_was_ready(self) -> None:
        created = datetime(2025, 1, 20, 12, tzinfo=UTC)
        record = JobRecord("cango", JOB, created, 2)
        for uid, seconds in (("p1", 3), ("p2", 5), ("p3", 9)):
            record.pods[uid] = PodRecord(
                uid, "cango", JOB, "n", created + timedelta(seconds=seconds)
            )
        record.pods["p4"] = PodRecord("p4", "cango", JOB, "n")  # never ready
        assert times_to_running([record]) == [5]

    def test_a_job_short_of_ready_replicas_has_no_time(self) -> None:
        record = JobRecord("cango", JOB, datetime(2025, 1, 20, tzinfo=UTC), 3)
        assert times_to_running([record]) == []


class TestStatistics:
    def test_nearest_rank_percentiles(self) -> None:
        assert percentile([3, 1, 2, 10], 50) == 2
        assert percentile([3, 1, 2, 10], 95) == 10
        assert percentile([], 50) is None
        assert stats([4.0]).median == 4.0


class TestTheWholeReport:
    def test_it_renders_both_worlds_side_by_side_with_the_events(self) -> None:
        report = build_report(
            scenario="tiny",
            speed=300,
            snapshots=SNAPSHOTS,
            records={},
            events=[STORM],
            operator_metrics={"cango_plans_total": 12.0},
            worlds=["cango", "baseline"],
        )
        text = render_report(report)
        assert "cango-operator" in text and "baseline (kube-scheduler)" in text
        overrun_line = next(line for line in text.splitlines() if "power-budget" in line)
        assert overrun_line.split()[-2:] == ["1", "0"]
        assert "cango-operator: 00:00 b (Ready) 1.0 kW committed, budget 0.5 kW" in text
        assert "storm storm" in text and "1 of 1 moved, back in 15 s" in text
        assert "cango_plans_total" in text
        assert '"slo_attainment_pct"' in report.to_json()
        assert report.sim_hours == 1.5 and report.samples == 4
        assert report.worlds["cango"].replicas_at_end == (2, 2)
        assert "on one cluster: 4 samples, every 10.0 s (longest gap 10.0 s)" in text
        assert "site cluster" not in text

    def test_federated_it_names_the_clusters_and_counts_the_replicas_in_each(self) -> None:
        def at(cluster: str, snap: Snapshot) -> Snapshot:
            sites = {n: replace(s, cluster=cluster) for n, s in snap.sites.items()}
            sites["b"] = replace(sites["b"], cluster="europe")
            return replace(snap, sites=sites)

        report = build_report(
            scenario="tiny",
            speed=300,
            snapshots=[at("north-america", s) for s in SNAPSHOTS],
            records={},
            events=[],
            operator_metrics={},
            worlds=["cango", "baseline"],
        )
        text = render_report(report)
        assert report.clusters == ("europe", "north-america")
        assert "on a hub and 2 site clusters (europe, north-america): 4 samples" in text
        assert "baseline (OCM Placement)" in text
        # At the end both cango replicas serve at site a, in north-america.
        assert report.worlds["cango"].serving_by_cluster == {"europe": 0, "north-america": 2}
        row = next(line for line in text.splitlines() if "in site cluster north-america" in line)
        assert row.split()[-2:] == ["2", "0"]
