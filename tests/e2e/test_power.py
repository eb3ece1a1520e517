"""Live power: a site's meter drives its status, and when the load leaves too little room,
preemptible replicas leave first, lowest priority first, while the rest keep running; only
when that is not enough do non-preemptible replicas give way too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, Meter, wait_for

pytestmark = pytest.mark.cluster

KW = 1000  # W per kW: every replica here draws 10 kW


@pytest.fixture
def meter() -> Iterator[Meter]:
    made = Meter(load_kw=50)
    try:
        yield made
    finally:
        made.close()


class TestCurtailment:
    def test_a_shrinking_budget_sheds_preemptible_work_lowest_priority_first(
        self, fleet: Fleet, start_operator: StartOperator, meter: Meter
    ) -> None:
        feed = {"type": "http", "url": meter.url, "jsonPath": "loadKw", "intervalSeconds": 1}
        metered = fleet.site("metered", latency_ms=10, capacity_kw=100, feed=feed)
        spare = fleet.site("spare", latency_ms=60)
        fleet.nodes(metered, 1, gpus=8)
        fleet.nodes(spare, 1, gpus=8)
        start_operator()
        wait_for(
            "the meter's first reading (until then the site takes no work)",
            lambda: (
                (fleet.get_cluster("sites", metered).get("status") or {}).get("phase") == "Ready"
            ),
        )
        power = {"estimatedPowerW": 10 * KW}
        near = {"maxLatencyMs": 30}
        fleet.job("vip", replicas=2, priority=100, preemptible=False, placement=near, **power)
        fleet.job("mid", replicas=1, priority=50, preemptible=True, placement=near, **power)
        fleet.job("low", replicas=2, priority=1, preemptible=True, **power)
        fleet.wait_running()
        assert fleet.get_job("low")["status"]["sites"] == [metered]  # nearest wins first
        status = fleet.get_cluster("sites", metered)["status"]
        assert status["phase"] == "Ready"
        assert status["power"]["otherLoadKw"] == 50
        assert status["power"]["committedKw"] == 50

        meter.load_kw = 75  # 25 kW left for GPUs: 50 kW of replicas must shrink to <= 25

        wait_for(
            "the lowest-priority job to move to the spare site",
            lambda: (
                fleet.all_running(["low"]) and fleet.get_job("low")["status"]["sites"] == [spare]
            ),
            state=fleet.explain,
        )
        mid = wait_for(
            "the next-lowest job (bound to the metered site by latency) to stop",
            lambda: (s := fleet.get_job("mid")["status"])["phase"] == "Unschedulable" and s,
            state=fleet.explain,
        )
        assert mid["message"]
        vip = fleet.get_job("vip")["status"]
        assert (vip["phase"], vip["sites"]) == ("Running", [metered])
        wait_for("mid's pods to stop", lambda: not fleet.running_pods("mid"))
        assert len(fleet.running_pods("vip")) == 2

        meter.load_kw = 88  # 12 kW left: nothing preemptible is left, so vip gives one back

        vip = wait_for(
            "the non-preemptible job to shrink to what the site can power",
            lambda: (s := fleet.get_job("vip")["status"]).get("readyReplicas") == 1 and s,
            state=fleet.explain,
        )
        assert vip["sites"] == [metered]  # its SLO rules out the spare site
        wait_for("vip's second pod to stop", lambda: len(fleet.running_pods("vip")) == 1)
        # The site's aggregates are written at the end of the round that recorded the job's
        # new plan, so they may land a moment after the job's status and the pod's end.
        wait_for(
            "the site's committed power to be vip's one replica",
            lambda: fleet.get_cluster("sites", metered)["status"]["power"]["committedKw"] == 10,
            timeout=10,
            state=lambda: fleet.get_cluster("sites", metered)["status"]["power"],
        )

    def test_an_unreachable_meter_keeps_running_work_but_takes_no_new_work(
        self, fleet: Fleet, start_operator: StartOperator, meter: Meter
    ) -> None:
        feed = {
            "type": "http",
            "url": meter.url,
            "jsonPath": "loadKw",
            "intervalSeconds": 1,
            "staleAfterSeconds": 3,
        }
        metered = fleet.site("metered", latency_ms=10, capacity_kw=100, feed=feed)
        fleet.nodes(metered, 1, gpus=8)
        fleet.job("running", replicas=1, estimatedPowerW=1000)
        start_operator()
        fleet.wait_running()

        meter.close()
        wait_for(
            "the site to be Unknown",
            lambda: (
                (fleet.get_cluster("sites", metered).get("status") or {}).get("phase") == "Unknown"
            ),
            timeout=60,
        )
        fleet.job("new", replicas=1, estimatedPowerW=1000)
        wait_for(
            "the new job to be Unschedulable",
            lambda: fleet.phases().get("new") == "Unschedulable",
            state=fleet.explain,
        )
        assert fleet.phases()["running"] == "Running"
        assert len(fleet.running_pods("running")) == 1
