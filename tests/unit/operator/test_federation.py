"""Sites in managed clusters: which of their GpuNodes take work, and how the federated
applier turns placements into ManifestWorks (and nothing else)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cango_operator.api import InferenceJob, JobPlacement
from cango_operator.builders import stamped_hash
from cango_operator.builders.labels import CLUSTER_LABEL
from cango_operator.operator.applier import ApplyReport, JobIntent
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.workapplier import ManifestWorkApplier
from cango_operator.operator.world import World
from tests.unit.operator.fleet import Fleet, decide


def federated_fleet(label: str | None = "latam-1", *, joined: bool = True) -> Fleet:
    """Site py-1 in managed cluster latam-1 (``joined``: reachable on the hub), one GpuNode
    reported as ``label``'s, and a job of two replicas."""
    fleet = Fleet()
    fleet.site("py-1", cluster="latam-1")
    if joined:
        fleet.managed_cluster("latam-1", "True", "2026-12-04T08:00:00Z")
    labels = {CLUSTER_LABEL: label} if label else {}
    fleet.gpu_node("py-1-n001", "py-1", node=False, labels=labels)
    fleet.job("chat", replicas=2)
    return fleet


class TestGpuNodesOfManagedClusters:
    async def test_take_work_without_a_node_on_the_hub_when_reported_by_their_cluster(
        self,
    ) -> None:
        round_ = await decide(federated_fleet(), federated=True)
        assert [(p.site, p.node, p.replicas) for p in round_.plan.placements] == [
            ("py-1", "py-1-n001", 2)
        ]

    async def test_take_none_when_the_operator_is_not_federated(self) -> None:
        round_ = await decide(federated_fleet(), federated=False)
        assert not round_.plan.placements
        assert "not federated" in round_.view.foreign["py-1-n001"]

    async def test_take_none_when_labelled_with_another_cluster_or_none(self) -> None:
        for label in ("eu-1", None):
            round_ = await decide(federated_fleet(label), federated=True)
            assert not round_.plan.placements
            assert "latam-1" in round_.view.foreign["py-1-n001"]

    async def test_get_no_node_patches(self) -> None:
        round_ = await decide(federated_fleet(), federated=True)
        assert not [w for w in round_.writes() if w.kind == "Node"]

    async def test_get_no_allocation_from_the_hub_their_agents_report_it(self) -> None:
        federated = await decide(federated_fleet(), federated=True)
        assert federated.plan.placements
        assert not [w for w in federated.writes() if w.kind == "GpuNode"]
        local = Fleet()
        local.site("py-1")
        local.gpu_node("py-1-n001", "py-1")
        local.job("chat", replicas=2)
        one_cluster = await decide(local)
        assert [w.body for w in one_cluster.writes() if w.kind == "GpuNode"] == [
            {"allocatedGpus": 2}
        ]

    async def test_that_go_stale_are_still_marked_unknown_by_the_hub(self) -> None:
        fleet = federated_fleet()
        beat = {"phase": "Ready", "lastHeartbeatTime": "2026-12-04T08:00:00Z"}
        fleet.get("GpuNode", "py-1-n001")["status"] = beat
        now = datetime(2026, 12, 4, 8, 5, tzinfo=UTC)
        round_ = await decide(fleet, federated=True, now=now, stale_after=60)
        assert [w.body for w in round_.writes() if w.kind == "GpuNode"] == [{"phase": "Unknown"}]

    async def test_count_what_their_agents_report_as_taken(self) -> None:
        fleet = federated_fleet()
        fleet.get("GpuNode", "py-1-n001")["status"] = {"allocatedGpus": 7}
        round_ = await decide(fleet, federated=True)
        assert sum(p.replicas for p in round_.plan.placements) == 1


class Writer:
    """What the applier asks of the API server, recorded; nothing is sent."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.deleted: list[tuple[str, str]] = []

    async def call(self, kind: str, verb: str, fn: Callable[[], Any]) -> Any:
        return fn()

    def apply_work(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(manifest)
        return manifest

    def delete_work(self, namespace: str, name: str, uid: str | None) -> None:
        self.deleted.append((namespace, name))


class Local:
    """The local applier: which rows reach it."""

    def __init__(self) -> None:
        self.intents: list[JobIntent] = []

    def ready_replicas(self, job: InferenceJob, rows: Sequence[JobPlacement], world: World) -> int:
        return sum(r.replicas for r in rows)

    async def realize(self, intents: Sequence[JobIntent], world: World) -> ApplyReport:
        self.intents += intents
        return ApplyReport()


def row(site: str, node: str, replicas: int) -> JobPlacement:
    return JobPlacement.model_validate(
        {"site": site, "node": node, "replicas": replicas, "gpus": 1, "powerW": 700}
    )


async def two_cluster_world(
    works: Sequence[dict[str, Any]] = (), *, unreachable: Sequence[str] = ()
) -> tuple[Fleet, World]:
    """Sites in managed clusters latam-1 and africa-1 (reachable unless named in
    ``unreachable``) and one of the hub's own cluster; a job; ``works`` on the hub."""
    fleet = Fleet()
    fleet.site("py-1", cluster="latam-1")
    fleet.site("et-1", cluster="africa-1")
    fleet.site("tx-1")
    for cluster in ("latam-1", "africa-1"):
        available = "Unknown" if cluster in unreachable else "True"
        fleet.managed_cluster(cluster, available, "2026-12-04T08:00:00Z")
    fleet.job("chat")
    for work in works:
        fleet.add("ManifestWork", work)
    return fleet, await fleet.world()


def job_of(world: World) -> InferenceJob:
    job = world.jobs["t/chat"].job
    assert job is not None
    return job


class TestManifestWorkApplier:
    async def test_rows_of_a_managed_cluster_become_one_work_there_the_rest_stays_local(
        self,
    ) -> None:
        _, world = await two_cluster_world()
        writer, local = Writer(), Local()
        applier = ManifestWorkApplier(writer, WriteMemory(), local)  # type: ignore[arg-type]
        rows = [row("py-1", "py-1-n001", 1), row("py-1", "py-1-n002", 2), row("tx-1", "tx-1-n1", 1)]

        await applier.realize([JobIntent(job_of(world), rows)], world)

        assert [(w["metadata"]["namespace"], len(w["spec"]["workload"]["manifests"]))
                for w in writer.applied] == [("latam-1", 5)]  # fmt: skip
        assert [list(i.rows) for i in local.intents] == [[rows[2]]]

    async def test_an_unchanged_work_is_not_written_again(self) -> None:
        _, world = await two_cluster_world()
        rows = [row("py-1", "py-1-n001", 2)]
        first = Writer()
        await ManifestWorkApplier(first, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), rows)], world
        )
        _, world = await two_cluster_world(first.applied)
        again = Writer()
        await ManifestWorkApplier(again, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), rows)], world
        )
        assert stamped_hash(first.applied[0]) and again.applied == [] and again.deleted == []

    async def test_a_write_the_index_has_not_shown_yet_is_not_sent_again(self) -> None:
        _, world = await two_cluster_world()
        writer = Writer()
        applier = ManifestWorkApplier(writer, WriteMemory(), Local())  # type: ignore[arg-type]
        intents = [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2)])]
        await applier.realize(intents, world)
        await applier.realize(intents, world)  # before the watch shows the work
        assert len(writer.applied) == 1

    async def test_a_deletion_is_sent_once_while_the_index_still_shows_the_work(self) -> None:
        _, world = await two_cluster_world()
        first = Writer()
        await ManifestWorkApplier(first, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2)])], world
        )
        _, world = await two_cluster_world(first.applied)
        writer = Writer()
        applier = ManifestWorkApplier(writer, WriteMemory(), Local())  # type: ignore[arg-type]
        moved = [JobIntent(job_of(world), [row("et-1", "et-1-n001", 2)])]
        await applier.realize(moved, world)
        await applier.realize(moved, world)
        assert [ns for ns, _ in writer.deleted] == ["latam-1"]
        assert [w["metadata"]["namespace"] for w in writer.applied] == ["africa-1"]

    async def test_moving_to_another_cluster_writes_the_new_work_and_deletes_the_old(
        self,
    ) -> None:
        _, world = await two_cluster_world()
        before = Writer()
        await ManifestWorkApplier(before, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2)])], world
        )
        _, world = await two_cluster_world(before.applied)
        after = Writer()
        await ManifestWorkApplier(after, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("et-1", "et-1-n001", 2)])], world
        )
        assert [w["metadata"]["namespace"] for w in after.applied] == ["africa-1"]
        assert [ns for ns, _ in after.deleted] == ["latam-1"]

    async def test_the_works_of_a_job_that_is_gone_are_deleted(self) -> None:
        _, world = await two_cluster_world()
        writer = Writer()
        await ManifestWorkApplier(writer, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2)])], world
        )
        fleet, _ = await two_cluster_world(writer.applied)
        del fleet.bodies[("InferenceJob", "t", "chat")]
        gone = Writer()
        await ManifestWorkApplier(gone, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [], await fleet.world()
        )
        assert [ns for ns, _ in gone.deleted] == ["latam-1"]

    async def test_ready_replicas_come_from_the_clusters_feedback_never_above_the_plan(
        self,
    ) -> None:
        _, world = await two_cluster_world()
        writer = Writer()
        rows = [row("py-1", "py-1-n001", 2), row("py-1", "py-1-n002", 1)]
        await ManifestWorkApplier(writer, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), rows)], world
        )
        work = writer.applied[0]
        deps = [m for m in work["spec"]["workload"]["manifests"] if m["kind"] == "Deployment"]
        work["status"] = {
            "resourceStatus": {
                "manifests": [
                    feedback(deps[0]["metadata"]["name"], ready=5, updated=5),
                    feedback(deps[1]["metadata"]["name"], ready=1, updated=0),
                ]
            }
        }
        _, world = await two_cluster_world([work])
        applier = ManifestWorkApplier(Writer(), WriteMemory(), Local())  # type: ignore[arg-type]
        # n001 plans 2 (5 reported: counts 2); n002's one ready pod is an old template.
        assert applier.ready_replicas(job_of(world), rows, world) == 2


class TestAnUnreachableClustersWork:
    """Left exactly as it is while the cluster is out of reach: the hub can neither see
    nor stop what runs there."""

    async def _placed_at_latam(self) -> list[dict[str, Any]]:
        _, world = await two_cluster_world()
        writer = Writer()
        await ManifestWorkApplier(writer, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2)])], world
        )
        return writer.applied

    async def test_is_neither_rewritten_nor_deleted_when_the_plan_moves_away(self) -> None:
        _, world = await two_cluster_world(await self._placed_at_latam(), unreachable=["latam-1"])
        writer = Writer()
        await ManifestWorkApplier(writer, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("et-1", "et-1-n001", 2)])], world
        )
        assert [w["metadata"]["namespace"] for w in writer.applied] == ["africa-1"]
        assert writer.deleted == []
        # Nor does a changed row there reach it.
        again = Writer()
        await ManifestWorkApplier(again, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 3)])], world
        )
        assert again.applied == [] and again.deleted == []

    async def test_its_ready_counts_are_not_believed(self) -> None:
        work = (await self._placed_at_latam())[0]
        (dep,) = [m for m in work["spec"]["workload"]["manifests"] if m["kind"] == "Deployment"]
        work["status"] = {
            "resourceStatus": {"manifests": [feedback(dep["metadata"]["name"], 2, 2)]}
        }
        rows = [row("py-1", "py-1-n001", 2)]
        for unreachable, ready in (((), 2), (("latam-1",), 0)):
            _, world = await two_cluster_world([work], unreachable=unreachable)
            applier = ManifestWorkApplier(Writer(), WriteMemory(), Local())  # type: ignore[arg-type]
            assert applier.ready_replicas(job_of(world), rows, world) == ready

    async def test_of_a_job_that_is_gone_is_deleted_all_the_same(self) -> None:
        fleet, _ = await two_cluster_world(await self._placed_at_latam(), unreachable=["latam-1"])
        del fleet.bodies[("InferenceJob", "t", "chat")]
        gone = Writer()
        await ManifestWorkApplier(gone, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [], await fleet.world()
        )
        assert [ns for ns, _ in gone.deleted] == ["latam-1"]


class TestTakingOverFromTheSitesGuard:
    """Back in reach, the hub's plan wins over what the site's guard stopped meanwhile."""

    async def _work_reporting(self, site_replicas: int) -> tuple[dict[str, Any], str]:
        _, world = await two_cluster_world()
        writer = Writer()
        await ManifestWorkApplier(writer, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2), row("py-1", "py-1-n002", 1)])],
            world,
        )
        work = writer.applied[0]
        deps = [m for m in work["spec"]["workload"]["manifests"] if m["kind"] == "Deployment"]
        shed = deps[0]["metadata"]["name"]
        values = [
            {"name": "replicas", "fieldValue": {"type": "Integer", "integer": n}}
            for n in (site_replicas, 1)
        ]
        work["status"] = {
            "resourceStatus": {
                "manifests": [
                    {
                        "resourceMeta": {"kind": "Deployment", "name": d["metadata"]["name"]},
                        "statusFeedback": {"values": [value]},
                    }
                    for d, value in zip(deps, values, strict=True)
                ]
            }
        }
        return work, shed

    async def _realize(self, work: dict[str, Any]) -> Writer:
        _, world = await two_cluster_world([work])
        writer = Writer()
        await ManifestWorkApplier(writer, WriteMemory(), Local()).realize(  # type: ignore[arg-type]
            [JobIntent(job_of(world), [row("py-1", "py-1-n001", 2), row("py-1", "py-1-n002", 1)])],
            world,
        )
        return writer

    async def test_a_deployment_scaled_down_at_the_site_is_written_again(self) -> None:
        work, shed = await self._work_reporting(site_replicas=0)
        writer = await self._realize(work)
        (again,) = writer.applied
        stamped = {
            m["metadata"]["name"]
            for m in again["spec"]["workload"]["manifests"]
            if "compute.cango.io/reasserted-at" in (m["metadata"].get("annotations") or {})
        }
        assert stamped == {shed}

    async def test_nothing_is_written_while_the_site_runs_what_the_work_says(self) -> None:
        work, _ = await self._work_reporting(site_replicas=2)
        assert (await self._realize(work)).applied == []


def feedback(name: str, ready: int, updated: int) -> dict[str, Any]:
    return {
        "resourceMeta": {"kind": "Deployment", "name": name, "namespace": "t"},
        "statusFeedback": {
            "values": [
                {"name": "readyReplicas", "fieldValue": {"type": "Integer", "integer": ready}},
                {"name": "updatedReplicas", "fieldValue": {"type": "Integer", "integer": updated}},
            ]
        },
    }


def site_conditions(round_: Any, site: str) -> dict[str, dict[str, Any]]:
    """The conditions the round's Site write sets, by type."""
    (write,) = [w for w in round_.writes() if w.kind == "Site" and w.name == site]
    return {c["type"]: c for c in write.body["conditions"]}


class TestSiteReachability:
    """The hub tells a site it cannot reach from a dark site or silent nodes: each is its
    own condition, saying since when."""

    async def test_a_reachable_cluster_and_reporting_nodes(self) -> None:
        conditions = site_conditions(await decide(federated_fleet(), federated=True), "py-1")
        assert conditions["ClusterReachable"]["status"] == "True"
        assert conditions["ClusterReachable"]["lastTransitionTime"] == "2026-12-04T08:00:00Z"
        assert conditions["NodesReporting"]["status"] == "True"

    async def test_a_lapsed_lease_is_unreachable_since_ocm_says_so(self) -> None:
        fleet = federated_fleet(joined=False)
        fleet.managed_cluster("latam-1", "Unknown", "2026-12-04T11:30:00Z")
        reach = site_conditions(await decide(fleet, federated=True), "py-1")["ClusterReachable"]
        assert (reach["status"], reach["reason"]) == ("False", "LeaseExpired")
        assert reach["lastTransitionTime"] == "2026-12-04T11:30:00Z"
        assert "latam-1" in reach["message"]

    async def test_a_cluster_the_hub_has_never_seen_has_not_joined(self) -> None:
        fleet = federated_fleet(joined=False)
        reach = site_conditions(await decide(fleet, federated=True), "py-1")
        assert (reach["ClusterReachable"]["status"], reach["ClusterReachable"]["reason"]) == (
            "False",
            "NotJoined",
        )

    async def test_stale_heartbeats_are_a_condition_of_their_own(self) -> None:
        fleet = federated_fleet()
        heard = datetime.now(UTC)
        fleet.get("GpuNode", "py-1-n001")["status"] = {
            "phase": "Ready",
            "lastHeartbeatTime": heard.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        fresh = site_conditions(await decide(fleet, federated=True, now=heard), "py-1")
        assert fresh["NodesReporting"]["status"] == "True"
        later = heard + timedelta(seconds=600)
        conditions = site_conditions(await decide(fleet, federated=True, now=later), "py-1")
        assert conditions["ClusterReachable"]["status"] == "True"
        nodes = conditions["NodesReporting"]
        assert (nodes["status"], nodes["reason"]) == ("False", "HeartbeatsStale")
        assert nodes["message"].startswith("1 of 1 GpuNodes")

    async def test_the_power_feeds_conditions_stay_and_an_unchanged_site_is_not_written(
        self,
    ) -> None:
        fleet = federated_fleet()
        feed = {
            "type": "PowerFeedHealthy",
            "status": "True",
            "reason": "SampleFresh",
            "message": "1 s old",
            "lastTransitionTime": "2026-12-04T09:00:00Z",
        }
        fleet.get("Site", "py-1").setdefault("status", {})["conditions"] = [feed]
        first = await decide(fleet, federated=True)
        conditions = site_conditions(first, "py-1")
        assert list(conditions) == ["PowerFeedHealthy", "ClusterReachable", "NodesReporting"]
        assert conditions["PowerFeedHealthy"] == feed
        fleet.apply(first.writes())
        again = await decide(fleet, federated=True)
        assert not [w for w in again.writes() if w.kind == "Site"]

    async def test_a_site_of_the_hubs_own_cluster_has_no_reachability(self) -> None:
        fleet = Fleet()
        fleet.site("tx-1")
        fleet.gpu_node("tx-1-n001", "tx-1")
        conditions = site_conditions(await decide(fleet, federated=True), "tx-1")
        assert list(conditions) == ["NodesReporting"]
