"""When sites and nodes fail, replicas move elsewhere within their SLO; jobs that cannot
move, or cannot run at all, say why, and run as soon as something fits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for
from tests.e2e.scenarios import site_outage

pytestmark = pytest.mark.cluster


class TestSiteOutage:
    def test_an_offline_sites_replicas_run_elsewhere_within_the_slo(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site_outage(fleet, start_operator)

    def test_an_unhealthy_nodes_replicas_move_and_the_node_is_tainted(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=20)
        first, second = fleet.nodes(site, 2, gpus=4)
        fleet.job("chat", replicas=3)
        start_operator()
        fleet.wait_running()
        on_first = [p for p in fleet.running_pods("chat") if p.spec.node_name == first]
        sick, healthy = (first, second) if on_first else (second, first)

        fleet.patch_status("gpunodes", sick, {"phase": "Unhealthy"})

        wait_for(
            "all replicas on the healthy node",
            lambda: (
                {p.spec.node_name for p in fleet.running_pods("chat")} == {healthy}
                and len(fleet.running_pods("chat")) == 3
            ),
            state=fleet.explain,
        )
        taints = fleet.core.read_node(sick).spec.taints or []
        assert [(t.key, t.effect) for t in taints] == [("compute.cango.io/unhealthy", "NoSchedule")]
        fleet.wait_running(["chat"])

        fleet.patch_status("gpunodes", sick, {"phase": "Ready"})
        wait_for(
            "the taint to be removed from the recovered node",
            lambda: not (fleet.core.read_node(sick).spec.taints or []),
        )


class TestUnschedulable:
    def test_a_gpu_model_no_node_has_waits_with_a_reason_and_runs_once_one_is_added(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=20)
        fleet.nodes(site, 1, gpus=8, model="H100-80GB")
        fleet.job("b200", replicas=2, gpu={"models": ["B200-192GB"]})
        start_operator()

        status = wait_for(
            "the job to be Unschedulable",
            lambda: (
                (s := fleet.get_job("b200").get("status") or {}).get("phase") == "Unschedulable"
                and s
            ),
        )
        assert "no B200-192GB" in status["message"]
        placed = next(c for c in status["conditions"] if c["type"] == "Placed")
        assert (placed["status"], placed["reason"]) == ("False", "Unschedulable")

        fleet.nodes(site, 1, gpus=8, model="B200-192GB")
        fleet.wait_running(["b200"], timeout=60)
        assert {p.spec.node_name for p in fleet.running_pods("b200")} == {f"{site}-n002"}

    def test_a_latency_nobody_meets_waits_and_runs_when_a_near_site_appears(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        far = fleet.site("far", latency_ms=90)
        fleet.nodes(far, 1)
        fleet.job("fast", replicas=1, placement={"maxLatencyMs": 10})
        start_operator()
        status = wait_for(
            "the job to be Unschedulable",
            lambda: (
                (s := fleet.get_job("fast").get("status") or {}).get("phase") == "Unschedulable"
                and s
            ),
        )
        assert "latency > 10ms" in status["message"]

        near = fleet.site("near", latency_ms=5)
        fleet.nodes(near, 1)
        fleet.wait_running(["fast"], timeout=60)
        assert fleet.get_job("fast")["status"]["sites"] == [near]


class TestNodeLoss:
    def test_replicas_of_a_node_that_disappears_run_elsewhere(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=20)
        first, second = fleet.nodes(site, 2, gpus=4)
        fleet.job("chat", replicas=2)
        start_operator()
        fleet.wait_running()
        used = {p.spec.node_name for p in fleet.running_pods("chat")}
        gone, other = (first, second) if first in used else (second, first)

        fleet.core.delete_node(gone)

        wait_for(
            "both replicas on the remaining node",
            lambda: [p.spec.node_name for p in fleet.running_pods("chat")] == [other, other],
            state=fleet.explain,
        )
        fleet.wait_running(["chat"])
        assert {p["node"] for p in fleet.get_job("chat")["status"]["placements"]} == {other}

    def test_a_node_whose_heartbeat_stops_is_unknown_tainted_and_emptied(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=20)
        nodes = fleet.nodes(site, 2, gpus=4)
        with Heartbeats(fleet, nodes) as beats:
            fleet.job("chat", replicas=1)
            start_operator("--standalone", "--node-stale-seconds", "5")
            fleet.wait_running()
            (pod,) = fleet.running_pods("chat")
            silent = pod.spec.node_name
            (talking,) = [n for n in nodes if n != silent]
            beats.nodes = [talking]

            wait_for(
                "the silent node to be marked Unknown",
                lambda: (
                    (fleet.get_cluster("gpunodes", silent).get("status") or {}).get("phase")
                    == "Unknown"
                ),
                timeout=60,
            )
            wait_for(
                "the silent node to be tainted",
                lambda: (
                    [(t.key, t.value) for t in fleet.core.read_node(silent).spec.taints or []]
                    == [("compute.cango.io/unhealthy", "HeartbeatStale")]
                ),
            )
            wait_for(
                "the replica to run on the node that still reports",
                lambda: [p.spec.node_name for p in fleet.running_pods("chat")] == [talking],
                state=fleet.explain,
            )
            assert fleet.get_cluster("gpunodes", talking)["status"]["phase"] == "Ready"


class Heartbeats:
    """What a node agent does for these tests: a fresh heartbeat every second."""

    def __init__(self, fleet: Fleet, nodes: list[str]) -> None:
        self.fleet = fleet
        self.nodes = list(nodes)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for node in list(self.nodes):
                status = {"phase": "Ready", "lastHeartbeatTime": iso(datetime.now(UTC))}
                self.fleet.patch_status("gpunodes", node, status)
            self.stop.wait(1.0)

    def __enter__(self) -> Heartbeats:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
