"""Replicas at a site the hub cannot reach: kept while the job waits, replaced after
``spec.failover.replaceAfterSeconds`` (never with ``replace: false``), counted as
unknown meanwhile, and counted again, the surplus removed, when the site is back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.operator.partitions import (
    Unreachable,
    next_replacement,
    replace_due,
    split_rows,
)
from tests.unit.operator.fleet import Fleet, Round, decide

CUT = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
CUT_TEXT = "2026-12-04T12:00:00Z"


def job(failover: dict[str, Any] | None = None, **status: Any) -> InferenceJob:
    body: dict[str, Any] = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "InferenceJob",
        "metadata": {"name": "chat", "namespace": "t"},
        "spec": {"replicas": 2, "container": {"image": "img:1"}},
    }
    if failover is not None:
        body["spec"]["failover"] = failover
    if status:
        body["status"] = status
    return InferenceJob.model_validate(body)


def rows(*lines: tuple[str, str, int]) -> list[dict[str, Any]]:
    return [{"site": s, "node": n, "replicas": r} for s, n, r in lines]


AWAY = {"py-1": Unreachable("latam-1", CUT)}
SITES = ("py-1", "et-1")


class TestWhenReplacementIsDue:
    def test_after_the_jobs_grace_counted_from_when_the_site_went_away(self) -> None:
        chat = job()  # the default: replace after 60 s
        assert not replace_due(chat, AWAY["py-1"], CUT + timedelta(seconds=59))
        assert replace_due(chat, AWAY["py-1"], CUT + timedelta(seconds=60))

    def test_at_once_with_zero_never_without_replace(self) -> None:
        assert replace_due(job({"replaceAfterSeconds": 0}), AWAY["py-1"], CUT)
        never = job({"replace": False})
        assert not replace_due(never, AWAY["py-1"], CUT + timedelta(days=30))

    def test_a_cluster_never_reached_has_no_grace(self) -> None:
        assert replace_due(job(), Unreachable("latam-1", None), CUT)

    def test_the_clock_is_told_the_earliest_moment_one_falls_due(self) -> None:
        away = {**AWAY, "et-1": Unreachable("africa-1", CUT - timedelta(seconds=20))}
        due = next_replacement(job({"replaceAfterSeconds": 30}), ["py-1", "et-1"], away)
        assert due == CUT + timedelta(seconds=10)
        assert next_replacement(job({"replace": False}), ["py-1"], away) is None


class TestSplitRows:
    def test_within_the_grace_the_rows_stay_and_count_as_unknown(self) -> None:
        chat = job(placements=rows(("py-1", "py-1-n001", 2)))
        split = split_rows(chat, AWAY, SITES, CUT + timedelta(seconds=30))
        assert [(r.site, r.replicas) for r in split.placements] == [("py-1", 2)]
        assert (split.unknown, split.unreachable, split.waiting) == (2, (), ("py-1",))

    def test_after_the_grace_they_leave_the_plan_and_are_kept_apart(self) -> None:
        chat = job(placements=rows(("py-1", "py-1-n001", 2), ("et-1", "et-1-n001", 1)))
        split = split_rows(chat, AWAY, SITES, CUT + timedelta(seconds=61))
        assert [r.site for r in split.placements] == ["et-1"]
        assert [(r.site, r.replicas) for r in split.unreachable] == [("py-1", 2)]
        assert split.unknown == 2 and split.waiting == ()

    def test_replaced_rows_stay_apart_while_their_site_is_away(self) -> None:
        chat = job(
            placements=rows(("et-1", "et-1-n001", 2)),
            unreachablePlacements=rows(("py-1", "py-1-n001", 2)),
        )
        split = split_rows(chat, AWAY, SITES, CUT + timedelta(hours=5))
        assert [r.site for r in split.placements] == ["et-1"]
        assert [r.site for r in split.unreachable] == ["py-1"] and split.unknown == 2

    def test_back_they_count_again_and_the_best_placed_replicas_stay(self) -> None:
        chat = job(
            placements=rows(("et-1", "et-1-n001", 2)),
            unreachablePlacements=rows(("py-1", "py-1-n001", 2)),
        )
        for better, worse in (("py-1", "et-1"), ("et-1", "py-1")):
            ranks = {better: (10.0,), worse: (40.0,)}
            split = split_rows(chat, {}, SITES, CUT + timedelta(hours=5), ranks.__getitem__)
            assert [(r.site, r.replicas) for r in split.placements] == [(better, 2)]
            assert (split.unreachable, split.unknown, split.surplus) == ((), 0, 2)

    def test_a_row_cut_short_keeps_its_gpus_and_power_in_proportion(self) -> None:
        chat = job(
            placements=[{"site": "et-1", "node": "et-1-n001", "replicas": 1}],
            unreachablePlacements=[
                {"site": "py-1", "node": "py-1-n001", "replicas": 2, "gpus": 4, "powerW": 1400}
            ],
        )
        ranks = {"py-1": (40.0,), "et-1": (10.0,)}
        split = split_rows(chat, {}, SITES, CUT, ranks.__getitem__)
        trimmed = next(r for r in split.placements if r.site == "py-1")
        assert (trimmed.replicas, trimmed.gpus, trimmed.power_w) == (1, 2, 700.0)

    def test_rows_of_a_site_that_is_gone_are_forgotten(self) -> None:
        chat = job(unreachablePlacements=rows(("py-1", "py-1-n001", 2)))
        split = split_rows(chat, {}, ("et-1",), CUT)
        assert (split.placements, split.unreachable) == ((), ())


# -- whole rounds -------------------------------------------------------------------------


def two_clusters(**failover: Any) -> Fleet:
    """py-1 in latam-1 (near the job's clients) and et-1 in africa-1 (far), one GpuNode
    each, both clusters reachable; the job's two replicas recorded at py-1 (where an
    earlier round put them)."""
    fleet = Fleet()
    for site, cluster, region in (
        ("py-1", "latam-1", "north-america"),
        ("et-1", "africa-1", "europe"),
    ):
        fleet.site(site, region=region, cluster=cluster)
        fleet.gpu_node(
            f"{site}-n001", site, node=False, labels={"compute.cango.io/cluster": cluster}
        )
        fleet.managed_cluster(cluster, "True", "2026-12-04T08:00:00Z")
    placement = {"clientRegion": "north-america"}
    if failover:
        fleet.job("chat", failover=failover, placement=placement)
    else:
        fleet.job("chat", placement=placement)
    fleet.get("InferenceJob", "chat", "t")["status"] = {
        "phase": "Running",
        "placements": [
            {"site": "py-1", "node": "py-1-n001", "replicas": 2, "gpus": 2, "powerW": 1400}
        ],
    }
    return fleet


def placed(round_: Round) -> dict[str, int]:
    return {p.site: p.replicas for p in round_.plan.placements if p.replicas}


def status(round_: Round) -> dict[str, Any]:
    return round_.jobs["t/chat"].status


def reachable(round_: Round) -> dict[str, Any]:
    found: dict[str, Any] = {c["type"]: c for c in status(round_)["conditions"]}
    condition: dict[str, Any] = found["ReplicasReachable"]
    return condition


class TestARoundWithASiteAway:
    async def test_within_the_grace_nothing_moves_and_the_replicas_are_unknown(self) -> None:
        fleet = two_clusters()
        fleet.managed_cluster("latam-1", "Unknown", CUT_TEXT)
        round_ = await decide(fleet, federated=True, now=CUT + timedelta(seconds=30))
        assert placed(round_) == {"py-1": 2}
        assert status(round_)["unknownReplicas"] == 2
        assert status(round_)["unreachablePlacements"] is None
        condition = reachable(round_)
        assert (condition["status"], condition["reason"]) == ("False", "SiteUnreachable")
        assert "replaced once a site has been unreachable for 60 s" in condition["message"]

    async def test_after_it_replacements_run_elsewhere_and_the_originals_are_kept_apart(
        self,
    ) -> None:
        fleet = two_clusters()
        fleet.managed_cluster("latam-1", "Unknown", CUT_TEXT)
        round_ = await decide(fleet, federated=True, now=CUT + timedelta(seconds=61))
        assert placed(round_) == {"et-1": 2}
        assert status(round_)["unknownReplicas"] == 2
        assert [(r["site"], r["replicas"]) for r in status(round_)["unreachablePlacements"]] == [
            ("py-1", 2)
        ]
        assert "2 replaced elsewhere" in reachable(round_)["message"]

    async def test_never_replace_waits_for_the_site_however_long(self) -> None:
        fleet = two_clusters(replace=False)
        fleet.managed_cluster("latam-1", "Unknown", CUT_TEXT)
        round_ = await decide(fleet, federated=True, now=CUT + timedelta(days=3))
        assert placed(round_) == {"py-1": 2}
        assert "not replaced (failover.replace: false)" in reachable(round_)["message"]

    async def test_back_the_surplus_goes_and_the_job_is_whole(self) -> None:
        fleet = two_clusters()
        fleet.managed_cluster("latam-1", "Unknown", CUT_TEXT)
        away = await decide(fleet, federated=True, now=CUT + timedelta(seconds=61))
        fleet.apply(away.writes())
        fleet.managed_cluster("latam-1", "True", "2026-12-04T12:10:00Z")
        back = await decide(fleet, federated=True, now=CUT + timedelta(minutes=11))
        # Four replicas for a job of two: the originals, nearer its clients, stay.
        assert placed(back) == {"py-1": 2}
        assert [r["site"] for r in status(back)["placements"]] == ["py-1"]
        assert status(back)["unknownReplicas"] is None
        assert status(back)["unreachablePlacements"] is None
        assert reachable(back)["status"] == "True"
        fleet.apply(back.writes())
        again = await decide(fleet, federated=True, now=CUT + timedelta(minutes=12))
        assert placed(again) == placed(back)
        assert not [w for w in again.writes() if w.kind == "InferenceJob"]

    async def test_a_site_away_takes_no_new_work(self) -> None:
        fleet = two_clusters()
        fleet.managed_cluster("latam-1", "Unknown", CUT_TEXT)
        fleet.job("embed", replicas=1)
        round_ = await decide(fleet, federated=True, now=CUT + timedelta(seconds=5))
        embed = [p for p in round_.plan.placements if p.job == "t/embed"]
        assert [p.site for p in embed] == ["et-1"]
