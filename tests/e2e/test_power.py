"""Live power: a site's meter drives its status, and when the load leaves too little room,
preemptible replicas leave first, lowest priority first, while the rest keep running; only
when that is not enough do non-preemptible replicas give way too. Work that needs mining
power waits until the miners are down at the meter."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cango_operator.agent import (
    POWER_LIMIT_ANNOTATION,
    Agent,
    AgentConfig,
    KubeClient,
    SimulatedSource,
)
from cango_operator.api import GROUP, VERSION
from cango_operator.devcluster.fakeminers import FakeMinerFleet, mixed_fleet
from cango_operator.sitemining.kube import SiteClient
from cango_operator.sitemining.runner import SiteMiningConfig, SiteMiningRunner
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


class SiteMiners:
    """Fake LuxOS miners on loopback, the site-mining controller driving them and the site
    meter reading their true draw, on an event loop of their own (these tests are
    synchronous): the whole loop the operator closes through the Site's status."""

    def __init__(self, count: int, meter: Meter) -> None:
        self.meter = meter
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fleet = FakeMinerFleet(mixed_fleet(count, ramp_s=2.0))
        self._call(self.fleet.__aenter__())
        self.stop = asyncio.Event()
        self.tasks: list[concurrent.futures.Future[None]] = []
        self.tasks.append(asyncio.run_coroutine_threadsafe(self._read_meter(), self.loop))

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _read_meter(self) -> None:
        while not self.stop.is_set():
            self.meter.load_kw = round(self.fleet.draw_w() / 1000, 3)
            await asyncio.sleep(0.2)

    def drive(self, api_client: Any, site: str) -> None:
        """Start the site-mining controller for ``site``, a pass a second."""
        config = SiteMiningConfig(site, interval_s=1.0, timeout_s=2.0)
        runner = SiteMiningRunner(config, SiteClient(api_client))
        self.tasks.append(asyncio.run_coroutine_threadsafe(runner.run(self.stop), self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        for task in self.tasks:
            task.result(timeout=30)
        self._call(self.fleet.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class MiningSite:
    name: str
    miners: SiteMiners
    meter: Meter
    full_kw: float  # the miners' draw at full power


@pytest.fixture
def mining_site(fleet: Fleet, start_operator: StartOperator) -> Iterator[MiningSite]:
    """A 100 kW site whose meter reads its 27 fake miners (about 88 kW; 60 kW may be shed)
    and a node of 8 GPUs; the operator running, the site Ready."""
    meter = Meter(load_kw=0, capacity_kw=100)
    miners = SiteMiners(27, meter)
    try:
        full_kw = miners.fleet.draw_w() / 1000
        meter.load_kw = round(full_kw, 3)
        feed = {
            "type": "http",
            "url": meter.url,
            "jsonPath": "loadKw",
            "capacityPath": "capacityKw",
            "intervalSeconds": 1,
            "loadScope": "mining",
        }
        mining = {
            "loadKw": round(full_kw, 3),
            "curtailableKw": 60,
            "miners": [{"firmware": "luxos", "addresses": miners.fleet.addresses}],
            "ramp": {"batchSize": 5, "batchIntervalSeconds": 0.2},
        }
        site = fleet.site("mine", latency_ms=10, capacity_kw=100, feed=feed, mining=mining)
        fleet.nodes(site, 1, gpus=8)
        start_operator()
        wait_for(
            "the meter's first reading",
            lambda: (fleet.get_cluster("sites", site).get("status") or {}).get("phase") == "Ready",
        )
        yield MiningSite(site, miners, meter, full_kw)
    finally:
        miners.close()
        meter.close()


class TestMeterFirst:
    def test_work_that_needs_shed_mining_waits_for_the_meter_then_runs(
        self, fleet: Fleet, mining_site: MiningSite, api_client: Any
    ) -> None:
        site, meter = mining_site.name, mining_site.meter
        # 3 replicas of 10 kW; the meter leaves about 12 kW: one starts, two wait.
        fleet.job("chat", replicas=3, estimatedPowerW=10 * KW)
        rows = wait_for(
            "two replicas held for the meter",
            lambda: (
                (p := fleet.get_job("chat").get("status", {}).get("placements"))
                and p[0].get("heldReplicas") == 2
                and p
            ),
            state=fleet.explain,
        )
        assert rows[0]["replicas"] == 3
        wait_for("the one released to run", lambda: len(fleet.running_pods("chat")) == 1)
        target = fleet.get_cluster("sites", site)["status"]["power"]["miningTargetKw"]
        assert target <= mining_site.full_kw - 18
        assert meter.load_kw > target  # the miners have not been told yet

        mining_site.miners.drive(api_client, site)

        wait_for(
            "the miners to shed and the held replicas to start",
            lambda: fleet.all_running(["chat"]) and len(fleet.running_pods("chat")) == 3,
            timeout=90,
            state=fleet.explain,
        )
        assert meter.load_kw <= target + 1
        placements = fleet.get_job("chat")["status"]["placements"]
        assert [p.get("heldReplicas") for p in placements] == [None]
        mining_status = fleet.get_cluster("sites", site)["status"]["mining"]
        assert mining_status["failedActions"] == 0
        assert mining_status["minersKw"] <= target + 1


class TestACurtailmentSignal:
    def test_a_curtailment_sheds_mining_first_and_the_gpu_work_keeps_running(
        self, fleet: Fleet, mining_site: MiningSite, api_client: Any
    ) -> None:
        site, meter = mining_site.name, mining_site.meter
        mining_site.miners.drive(api_client, site)
        fleet.job("chat", replicas=3, estimatedPowerW=10 * KW)
        wait_for(
            "the job to run (30 kW of GPU work)",
            lambda: fleet.all_running(["chat"]) and len(fleet.running_pods("chat")) == 3,
            timeout=90,
            state=fleet.explain,
        )

        meter.capacity_kw = 80  # the grid asks the site down to 80 kW
        cut = time.monotonic()

        # One feed interval (1 s), a controller pass (1 s), the batches (6 x 0.2 s) and the
        # miners' own ramp (2 s): the site is inside 80 kW within about 5 s.
        wait_for(
            "mining and GPU work together inside the curtailed budget",
            lambda: meter.load_kw + 30 <= 80 + 0.8,  # the meter's 1 % tolerance
            timeout=30,
        )
        settled_s = time.monotonic() - cut
        over = []
        for _ in range(10):  # and it stays there
            if meter.load_kw + 30 > 80 + 0.8:
                over.append(meter.load_kw)
            time.sleep(0.5)
        assert over == []
        assert len(fleet.running_pods("chat")) == 3  # mining gave way, not the GPUs
        status = fleet.get_cluster("sites", site)["status"]
        assert status["power"]["gpuExcessKw"] == 0
        assert status["mining"]["miners"]["asleep"] > 0
        print(f"curtailment to 80 kW: inside the budget {settled_s:.1f} s after the signal")


class TestGpuPowerCaps:
    async def test_a_site_short_of_power_caps_its_gpus_and_runs_more_the_agents_enforce_it(
        self, fleet: Fleet, start_operator: StartOperator, api_client: Any
    ) -> None:
        # 20 kW, 10 reserved, PUE 1.1: 9.09 kW for GPUs. Sixteen one-GPU replicas: at 700 W
        # (770 at the meter) eleven fit; capped to 60 % (420 W, 462) all sixteen do.
        site = fleet.site("capped", latency_ms=10, capacity_kw=20, gpu_power_cap_share=0.6)
        nodes = fleet.nodes(site, 2, gpus=8)
        start_operator()
        fleet.job("chat", replicas=16)
        wait_for(
            "the GPUs capped and all sixteen replicas running",
            lambda: (
                len(fleet.running_pods("chat")) == 16
                and all(
                    (fleet.get_cluster("gpunodes", n)["metadata"].get("annotations") or {}).get(
                        POWER_LIMIT_ANNOTATION
                    )
                    == "420"
                    for n in nodes
                )
            ),
            timeout=90,
            state=fleet.explain,
        )
        # The node's agent enforces it (simulated NVML) and its GpuNode status says so.
        source = SimulatedSource("H100-80GB", 8, seed=nodes[0])
        config = AgentConfig(node_name=nodes[0], power_cap=True, register=False)
        await Agent(config, source, KubeClient(api_client)).tick()
        gpus = fleet.get_cluster("gpunodes", nodes[0])["status"]["gpus"]
        assert {g["powerLimitW"] for g in gpus} == {420}
        # Fewer replicas: the cap no longer makes them fit and is lifted.
        fleet.custom.patch_namespaced_custom_object(
            GROUP, VERSION, fleet.namespace, "inferencejobs", "chat", {"spec": {"replicas": 4}}
        )
        wait_for(
            "the cap lifted",
            lambda: all(
                POWER_LIMIT_ANNOTATION
                not in (fleet.get_cluster("gpunodes", n)["metadata"].get("annotations") or {})
                for n in nodes
            ),
            state=fleet.explain,
        )
