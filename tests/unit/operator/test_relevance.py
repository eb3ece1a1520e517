"""Which watch events ask for a planning round: changes a round reads do, heartbeats and
the operator's own output coming back through the watch do not."""

from __future__ import annotations

import copy
from typing import Any

from cango_operator.operator.relevance import ChangeFilter

GPU = {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700}


def gpunode(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "n1", "resourceVersion": "1"},
        "spec": {"site": "s1", "nodeName": "n1", "gpu": dict(GPU)},
        "status": {
            "phase": "Ready",
            "powerW": 2000.0,
            "lastHeartbeatTime": "2026-01-01T00:00:00Z",
            "gpus": [{"index": i, "healthy": True, "temperatureC": 40.0} for i in range(8)],
            **status,
        },
    }


def site(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "s1", "resourceVersion": "1"},
        "spec": {"region": "eu", "power": {"capacityKw": 1000}, "latencyMs": {"eu": 10}},
        "status": {"phase": "Ready", "power": {"gpuDrawKw": 100.0}, **status},
    }


def node(ready: str = "True", heartbeat: str = "t0", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "n1", "labels": {"compute.cango.io/site": "s1"}, **meta},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat}]
        },
    }


def deployment(ready: int = 0, updated: int = 0, observed: int = 1) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "job-n1",
            "namespace": "ns",
            "uid": "u1",
            "labels": {"compute.cango.io/job": "job", "compute.cango.io/node": "n1"},
            "annotations": {"compute.cango.io/applied-hash": "abc"},
        },
        "spec": {"replicas": 2},
        "status": {
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "observedGeneration": observed,
        },
    }


def job(placements: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "job", "namespace": "ns", "generation": 1},
        "spec": {"replicas": 2, "gpu": {"count": 1}},
        "status": {"placements": placements or [], **status},
    }


def seen(filt: ChangeFilter, plural: str, body: dict[str, Any]) -> bool:
    """The filter after it has seen ``body`` once (as at startup)."""
    assert filt.wants_round(plural, body, None)
    return True


class TestFirstSightAndDeletion:
    def test_an_object_seen_for_the_first_time_asks_for_a_round(self) -> None:
        assert ChangeFilter().wants_round("gpunodes", gpunode(), None)

    def test_the_same_object_listed_again_after_a_reconnect_does_not(self) -> None:
        filt = ChangeFilter()
        seen(filt, "gpunodes", gpunode())
        assert not filt.wants_round("gpunodes", gpunode(), None)

    def test_a_deletion_always_asks_and_the_object_is_forgotten(self) -> None:
        filt = ChangeFilter()
        seen(filt, "nodes", node())
        assert filt.wants_round("nodes", node(), "DELETED")
        assert len(filt) == 0

    def test_a_kind_it_does_not_know_always_asks(self) -> None:
        filt = ChangeFilter()
        body = {"metadata": {"name": "x"}}
        assert filt.wants_round("kopfpeerings", body, "MODIFIED")
        assert filt.wants_round("kopfpeerings", body, "MODIFIED")


class TestGpuNodeHeartbeats:
    def test_a_heartbeat_with_new_time_temperatures_and_small_power_drift_is_skipped(
        self,
    ) -> None:
        filt = ChangeFilter()
        seen(filt, "gpunodes", gpunode())
        beat = gpunode(lastHeartbeatTime="2026-01-01T00:00:30Z", powerW=2100.0)
        for g in beat["status"]["gpus"]:
            g["temperatureC"] = 71.0
        assert not filt.wants_round("gpunodes", beat, "MODIFIED")
        assert filt.skipped == 1

    def test_power_drift_adds_up_until_it_passes_the_step(self) -> None:
        # 8 x 700 W nominal: the step is 5%, 280 W. Each beat is 100 W more than the last.
        filt = ChangeFilter()
        seen(filt, "gpunodes", gpunode(powerW=2000.0))
        asked = [
            filt.wants_round("gpunodes", gpunode(powerW=2000.0 + 100 * i), "MODIFIED")
            for i in range(1, 7)
        ]
        assert asked == [False, False, True, False, False, True]

    def test_phase_change_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "gpunodes", gpunode())
        assert filt.wants_round("gpunodes", gpunode(phase="Unhealthy"), "MODIFIED")

    def test_a_gpu_turning_unhealthy_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "gpunodes", gpunode())
        sick = gpunode()
        sick["status"]["gpus"][3]["healthy"] = False
        assert filt.wants_round("gpunodes", sick, "MODIFIED")

    def test_a_first_heartbeat_asks(self) -> None:
        filt = ChangeFilter()
        declared = gpunode()
        del declared["status"]
        seen(filt, "gpunodes", declared)
        assert filt.wants_round("gpunodes", gpunode(), "MODIFIED")

    def test_a_spec_change_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "gpunodes", gpunode())
        cordoned = gpunode()
        cordoned["spec"]["unschedulable"] = True
        assert filt.wants_round("gpunodes", cordoned, "MODIFIED")


class TestSites:
    def test_the_rounds_own_aggregates_coming_back_are_skipped(self) -> None:
        filt = ChangeFilter()
        seen(filt, "sites", site())
        assert not filt.wants_round(
            "sites", site(gpus={"total": 8, "free": 6}, nodes={"total": 1}), "MODIFIED"
        )

    def test_phase_price_and_latency_ask(self) -> None:
        for change in (
            {"phase": "Offline"},
            {"energyPriceUsdPerMwh": 41.0},
            {"latencyMs": {"eu": 30}},
        ):
            filt = ChangeFilter()
            seen(filt, "sites", site())
            assert filt.wants_round("sites", site(**change), "MODIFIED"), change

    def test_power_asks_only_past_its_step(self) -> None:
        # capacity 1000 kW: the step is 50 kW.
        filt = ChangeFilter()
        seen(filt, "sites", site())
        assert not filt.wants_round("sites", site(power={"gpuDrawKw": 130.0}), "MODIFIED")
        assert filt.wants_round("sites", site(power={"gpuDrawKw": 160.0}), "MODIFIED")


class TestNodes:
    def test_a_kubelet_status_heartbeat_is_skipped(self) -> None:
        filt = ChangeFilter()
        seen(filt, "nodes", node(heartbeat="t0"))
        assert not filt.wants_round("nodes", node(heartbeat="t1"), "MODIFIED")

    def test_not_ready_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "nodes", node())
        assert filt.wants_round("nodes", node(ready="Unknown"), "MODIFIED")

    def test_a_taint_asks_and_foreign_labels_do_not(self) -> None:
        filt = ChangeFilter()
        seen(filt, "nodes", node())
        other = node()
        other["metadata"]["labels"]["kubernetes.io/hostname"] = "n1"
        assert not filt.wants_round("nodes", other, "MODIFIED")
        tainted = copy.deepcopy(other)
        tainted["spec"]["taints"] = [{"key": "compute.cango.io/unhealthy", "effect": "NoSchedule"}]
        assert filt.wants_round("nodes", tainted, "MODIFIED")


class TestDeployments:
    def test_rollout_bookkeeping_is_skipped_and_a_ready_replica_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "deployments", deployment())
        assert not filt.wants_round("deployments", deployment(observed=2), "MODIFIED")
        # Ready, but of the old template: does not count yet.
        assert not filt.wants_round("deployments", deployment(ready=1, updated=0), "MODIFIED")
        assert filt.wants_round("deployments", deployment(ready=1, updated=2), "MODIFIED")

    def test_a_changed_template_hash_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "deployments", deployment())
        changed = deployment()
        changed["metadata"]["annotations"]["compute.cango.io/applied-hash"] = "def"
        assert filt.wants_round("deployments", changed, "MODIFIED")


class TestJobs:
    def test_the_rounds_own_status_coming_back_is_skipped(self) -> None:
        filt = ChangeFilter()
        seen(filt, "inferencejobs", job())
        assert not filt.wants_round(
            "inferencejobs", job(phase="Running", readyReplicas=2), "MODIFIED"
        )

    def test_recorded_placements_and_spec_changes_ask(self) -> None:
        filt = ChangeFilter()
        seen(filt, "inferencejobs", job())
        placed = job([{"site": "s1", "node": "n1", "replicas": 2}])
        assert filt.wants_round("inferencejobs", placed, "MODIFIED")
        scaled = copy.deepcopy(placed)
        scaled["spec"]["replicas"] = 3
        assert filt.wants_round("inferencejobs", scaled, "MODIFIED")


class TestNamespaces:
    def test_a_namespace_that_starts_terminating_asks_and_a_relabel_does_not(self) -> None:
        filt = ChangeFilter()
        seen(filt, "namespaces", {"metadata": {"name": "tenant-a"}})
        relabelled = {"metadata": {"name": "tenant-a", "labels": {"team": "x"}}}
        assert not filt.wants_round("namespaces", relabelled, "MODIFIED")
        going = {"metadata": {"name": "tenant-a", "deletionTimestamp": "2026-01-01T00:00:00Z"}}
        assert filt.wants_round("namespaces", going, "MODIFIED")

    def test_a_new_tenant_label_asks(self) -> None:
        filt = ChangeFilter()
        seen(filt, "namespaces", {"metadata": {"name": "tenant-a"}})
        moved = {"metadata": {"name": "tenant-a", "labels": {"compute.cango.io/tenant": "acme"}}}
        assert filt.wants_round("namespaces", moved, "MODIFIED")
