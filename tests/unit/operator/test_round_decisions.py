"""What a round decides, from the fleet as the indexes show it (no API server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cango_operator.builders.labels import TENANT_LABEL, UNHEALTHY_TAINT_KEY
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.round_metrics import usage_rates
from cango_operator.operator.view import job_status_key
from cango_operator.operator.writes import Write
from tests.unit.operator.fleet import Fleet, decide


def small_fleet() -> Fleet:
    fleet = Fleet()
    fleet.site("tx-1")
    fleet.site("tx-2")
    fleet.gpu_node("tx-1-n1", "tx-1")
    fleet.gpu_node("tx-2-n1", "tx-2")
    return fleet


class TestPlacingAJob:
    async def test_a_new_job_is_recorded_as_placing_with_its_placements(self) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=3)
        rnd = await decide(fleet)
        decision = rnd.jobs["t/chat"]
        assert sum(r.replicas for r in decision.rows) == 3
        assert decision.write is not None
        assert decision.status["phase"] == "Placing"
        assert decision.status["replicas"] == 3
        assert decision.status["placements"] == [
            r.model_dump(by_alias=True, exclude_none=True, mode="json") for r in decision.rows
        ]

    async def test_once_written_and_ready_the_fleet_settles_with_no_more_writes(self) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=3)
        fleet.job("embed", replicas=1)
        fleet.apply((await decide(fleet)).writes())
        fleet.apply((await decide(fleet, ready=99)).writes())
        settled = await decide(fleet, ready=99)
        assert settled.writes() == []
        assert fleet.get("InferenceJob", "chat", "t")["status"]["phase"] == "Running"
        allocated = sum(
            fleet.get("GpuNode", n)["status"]["allocatedGpus"] for n in ("tx-1-n1", "tx-2-n1")
        )
        assert allocated == 4

    async def test_placements_written_but_not_yet_watched_are_kept(self) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=2)
        memory = WriteMemory()
        first = await decide(fleet, memory)
        write = first.jobs["t/chat"].write
        assert write is not None
        # The write succeeded, but the watch has not delivered it: the index is unchanged.
        memory.remember(write.key, write.version, "fp", write.body)
        second = await decide(fleet, memory)
        assert second.jobs["t/chat"].rows == first.jobs["t/chat"].rows
        assert second.jobs["t/chat"].write is None
        assert all(p.new_replicas == 0 for p in second.plan.placements)

    async def test_the_job_status_key_names_the_object(self) -> None:
        fleet = small_fleet()
        fleet.job("chat")
        rnd = await decide(fleet)
        entry = rnd.view.entries["t/chat"]
        assert job_status_key(entry) == ("InferenceJob", "t", "chat")


class TestJobsThatCannotRun:
    async def test_a_model_no_node_has_is_unschedulable_with_a_counted_reason(self) -> None:
        fleet = small_fleet()
        fleet.job("b200", gpu={"models": ["B200-192GB"]})
        status = (await decide(fleet)).jobs["t/b200"].status
        assert status["phase"] == "Unschedulable"
        assert "2 no B200-192GB" in status["message"]

    async def test_an_invalid_spec_is_failed_with_the_field_named(self) -> None:
        fleet = small_fleet()
        fleet.job("bad", replicas=0)
        writes = (await decide(fleet)).writes()
        failed = [w for w in writes if w.kind == "InferenceJob" and w.name == "bad"]
        assert len(failed) == 1
        assert failed[0].body["phase"] == "Failed"
        assert "spec.replicas" in failed[0].body["message"]


class TestNodeTrouble:
    async def test_a_stale_heartbeat_makes_the_node_unknown_tainted_and_emptied(self) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=2, placement={"maxReplicasPerSite": 1})
        fleet.apply((await decide(fleet)).writes())
        now = datetime.now(UTC)
        old = (now - timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fleet.get("GpuNode", "tx-1-n1")["status"].update(
            {"phase": "Ready", "lastHeartbeatTime": old}
        )
        fleet.gpu_node("tx-1-n2", "tx-1")
        rnd = await decide(fleet, stale_after=60, now=now)
        assert "tx-1-n1" in rnd.view.stale
        nodes = {r.node for r in rnd.jobs["t/chat"].rows}
        assert "tx-1-n1" not in nodes
        assert nodes == {"tx-1-n2", "tx-2-n1"}
        by_target = {(w.kind, w.name): w for w in rnd.writes()}
        assert by_target[("GpuNode", "tx-1-n1")].body == {"allocatedGpus": 0, "phase": "Unknown"}
        taints = by_target[("Node", "tx-1-n1")].body["spec"]["taints"]
        assert taints[0]["key"] == UNHEALTHY_TAINT_KEY

    async def test_a_gpunode_whose_node_is_gone_loses_its_replicas(self) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=1)
        fleet.apply((await decide(fleet)).writes())
        placed = fleet.get("InferenceJob", "chat", "t")["status"]["placements"][0]["node"]
        del fleet.bodies[("Node", "", placed)]
        rnd = await decide(fleet)
        assert placed in rnd.view.nodeless
        assert [r.node for r in rnd.jobs["t/chat"].rows] != [placed]
        assert rnd.jobs["t/chat"].status["phase"] == "Placing"


class TestSites:
    async def test_an_offline_site_sends_its_replicas_elsewhere_and_reports_its_nodes(
        self,
    ) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=2)
        fleet.apply((await decide(fleet)).writes())
        fleet.get("Site", "tx-1").setdefault("status", {})["phase"] = "Offline"
        rnd = await decide(fleet)
        assert {r.site for r in rnd.jobs["t/chat"].rows} == {"tx-2"}
        site_write: Write = next(w for w in rnd.writes() if w.kind == "Site" and w.name == "tx-2")
        assert site_write.body["gpus"]["allocated"] == 2
        assert site_write.body["nodes"] == {"total": 1, "ready": 1}


class TestLiveFeeds:
    async def test_a_site_whose_feed_never_reported_takes_no_new_work(self) -> None:
        fleet = Fleet()
        feed = {"type": "http", "url": "http://127.0.0.1:1/power", "jsonPath": "kw"}
        fleet.site("metered", power={"feed": feed})
        fleet.gpu_node("metered-n1", "metered")
        fleet.job("chat", replicas=1)
        status = (await decide(fleet)).jobs["t/chat"].status
        assert status["phase"] == "Unschedulable"
        assert status["message"] == "0/1 nodes fit: 1 site Unknown"

    async def test_the_feed_runner_not_the_round_writes_a_metered_sites_power(self) -> None:
        fleet = Fleet()
        feed = {"type": "http", "url": "http://127.0.0.1:1/power", "jsonPath": "kw"}
        fleet.site("metered", power={"feed": feed})
        fleet.site("static")
        fleet.gpu_node("metered-n1", "metered")
        fleet.get("Site", "metered")["status"] = {
            "phase": "Ready",
            "power": {"capacityKw": 1000, "otherLoadKw": 100, "feed": {"healthy": True}},
        }
        fleet.job("chat", replicas=1)
        rnd = await decide(fleet)
        assert [r.site for r in rnd.jobs["t/chat"].rows] == ["metered"]
        sites = {w.name: w.body for w in rnd.writes() if w.kind == "Site"}
        assert "power" not in sites["metered"]
        assert sites["metered"]["gpus"]["allocated"] == 1
        assert sites["static"]["power"]["committedKw"] == 0


class TestNodeReadiness:
    async def test_a_node_that_is_not_ready_takes_no_work_and_loses_its_replicas(
        self,
    ) -> None:
        fleet = small_fleet()
        fleet.job("chat", replicas=1, placement={"maxReplicasPerSite": 1})
        fleet.apply((await decide(fleet)).writes())
        placed = fleet.get("InferenceJob", "chat", "t")["status"]["placements"][0]["node"]
        fleet.get("Node", placed)["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        rnd = await decide(fleet)
        assert placed in rnd.view.not_ready
        assert [r.node for r in rnd.jobs["t/chat"].rows] != [placed]
        gpunode_writes = [w for w in rnd.writes() if w.kind == "GpuNode" and w.name == placed]
        assert all("phase" not in w.body for w in gpunode_writes)


class TestNamespacesThatGo:
    """An operator limited to some namespaces: kopf stops watching a namespace once it
    terminates, so the DELETED events of the jobs in it never come."""

    def one_node_fleet(self) -> Fleet:
        fleet = Fleet(namespaced=True)
        fleet.site("tx-1")
        fleet.gpu_node("tx-1-n1", "tx-1", count=8)
        fleet.namespace("a")
        fleet.namespace("b")
        fleet.job("hog", replicas=8, namespace="a")
        return fleet

    async def test_a_deleted_namespaces_jobs_release_their_gpus(self) -> None:
        fleet = self.one_node_fleet()
        fleet.apply((await decide(fleet)).writes())
        assert fleet.get("GpuNode", "tx-1-n1")["status"]["allocatedGpus"] == 8
        fleet.delete("Namespace", "a")  # the job's record stays: no event said it went
        fleet.job("chat", replicas=2, namespace="b")
        rnd = await decide(fleet)
        assert "a/hog" not in rnd.jobs
        fleet.apply(rnd.writes())
        assert fleet.get("GpuNode", "tx-1-n1")["status"]["allocatedGpus"] == 0
        fleet.apply((await decide(fleet)).writes())
        assert fleet.get("InferenceJob", "chat", "b")["status"]["replicas"] == 2

    async def test_a_terminating_namespaces_jobs_are_no_longer_planned(self) -> None:
        fleet = self.one_node_fleet()
        fleet.apply((await decide(fleet)).writes())
        fleet.namespace("a", terminating=True)
        rnd = await decide(fleet)
        assert "a/hog" not in rnd.jobs
        assert not rnd.plan.placements

    async def test_a_clusterwide_operator_needs_no_namespace_records(self) -> None:
        fleet = small_fleet()
        fleet.namespace("elsewhere")  # it watches Namespaces too, for their tenants
        fleet.job("chat", replicas=1, namespace="anywhere")
        assert (await decide(fleet)).jobs["anywhere/chat"].status["replicas"] == 1


class TestUsagePerTenant:
    """A round meters usage per namespace under its tenant: the admin's
    ``compute.cango.io/tenant`` label on the Namespace, else the namespace itself."""

    async def test_each_namespace_is_metered_under_its_tenant(self) -> None:
        fleet = small_fleet()
        fleet.namespace("acme-prod", labels={TENANT_LABEL: "acme"})
        fleet.namespace("acme-dev", labels={TENANT_LABEL: "acme"})
        fleet.namespace("beta")
        for namespace in ("acme-prod", "acme-dev", "beta", "unseen"):
            fleet.job("chat", replicas=1, namespace=namespace)
        rnd = await decide(fleet)
        rates = usage_rates(rnd.plan, rnd.view.world.tenant_of)
        assert sorted(rates) == [
            ("acme-dev", "acme"),
            ("acme-prod", "acme"),
            ("beta", "beta"),
            ("unseen", "unseen"),  # no Namespace record (yet): its own tenant
        ]
        assert all(rate.gpus == 1 for rate in rates.values())
