"""A site's own guard keeps it inside its power budget while its link to the hub is cut:
it sheds in the engine's order within two feed intervals, never starts anything, does
nothing while the hub is there (the hub's operator sheds then), and reports what it did
when the link heals. Open Cluster Management's work agent leaves the shed replicas alone
until the hub writes the Deployment again, and then the hub's count wins.

The site's feed is a test meter (a mining-load feed with a capacity the test lowers); the
link is the test bed's real WAN link between the site's agents and the hub."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cango_operator.api import (
    SITE_GUARD_REPORT_ANNOTATION,
    SiteGuardReport,
    parse_site_guard_report,
)
from cango_operator.devcluster.federation import Federation, cut_link, heal_link
from tests.e2e.harness import GROUP, VERSION, Meter, wait_for
from tests.federation.conftest import StartOperator
from tests.federation.guard import GuardProcess
from tests.federation.harness import JOB_LABEL, FedFleet

pytestmark = [pytest.mark.cluster, pytest.mark.federation]

FEED_S = 2
#: The acceptance bound: shed within two feed intervals of the budget falling short.
REACTION_S = 2 * FEED_S
#: name -> (priority, preemptible): the engine stops cheap, spare, batch, vip in turn.
JOBS = {"vip": (100, False), "batch": (10, False), "spare": (50, True), "cheap": (0, True)}
#: kW one replica takes from the budget: 1 GPU of 700 W, PUE 1.1 (the harness's Site).
REPLICA_KW = 0.77
MINING_KW = 10
#: The harness's Site's contracted capacity: the meter says so until the test cuts it.
FULL_KW = 2000
RESERVE_KW = 10


def mining_feed(meter: Meter) -> dict[str, object]:
    return {
        "type": "http",
        "url": meter.url,
        "jsonPath": "loadKw",
        "capacityPath": "capacityKw",
        "loadScope": "mining",
        "intervalSeconds": FEED_S,
        "staleAfterSeconds": 3 * FEED_S,
    }


def capacity_short_by(replicas: int, kw: float) -> float:
    """The feed's capacity that leaves ``replicas`` replicas' GPU work ``kw`` short."""
    return RESERVE_KW + MINING_KW + replicas * REPLICA_KW - kw


def site_replicas(fleet: FedFleet, cluster: str) -> dict[str, int]:
    """job -> spec.replicas of its Deployment at the site."""
    return {d.metadata.labels[JOB_LABEL]: d.spec.replicas for d in fleet.deployments(cluster)}


def touched_by_guard(fleet: FedFleet, cluster: str) -> list[str]:
    return [
        d.metadata.name
        for d in fleet.deployments(cluster)
        if any(f.manager == "cango-site-guard" for f in d.metadata.managed_fields or [])
    ]


def report_of(fleet: FedFleet, node: str) -> SiteGuardReport | None:
    """The guard's report on ``node``, read as the hub reads it."""
    got = fleet.custom.get_cluster_custom_object(GROUP, VERSION, "gpunodes", node)
    annotations = got["metadata"].get("annotations") or {}
    return parse_site_guard_report(annotations.get(SITE_GUARD_REPORT_ANNOTATION))


def shed_within(what: str, check: Any, state: Any) -> float:
    """Seconds until ``check`` holds, at most :data:`REACTION_S` (the bound under test)."""
    start = time.monotonic()
    wait_for(what, check, timeout=REACTION_S, every=0.1, state=state)
    took = time.monotonic() - start
    print(f"{what}: {took:.1f} s")
    return took


class TestSiteGuard:
    def test_sheds_in_order_only_while_cut_off_and_reports_when_the_link_heals(
        self,
        federation: Federation,
        fleet: FedFleet,
        start_operator: StartOperator,
        cut_site: str,
        tmp_path: Path,
    ) -> None:
        meter = Meter(load_kw=MINING_KW, capacity_kw=FULL_KW)
        guard: GuardProcess | None = None
        try:
            site = fleet.site("guarded", cut_site, feed=mining_feed(meter))
            (node,) = fleet.nodes(site, 1)
            for name, (priority, preemptible) in JOBS.items():
                fleet.job(name, priority=priority, preemptible=preemptible)
            operator = start_operator()
            fleet.wait_running(list(JOBS))
            member = federation.site(cut_site)
            guard = GuardProcess(member, [site], fleet.namespace, tmp_path / "guard.log").start()
            api = fleet.site_apis[cut_site]
            wait_for(
                "the guard to keep the Site's spec at the site",
                lambda: site in guard.memory(api).get("sites.json", {}),
                timeout=30,
                state=guard.log_tail,
            )
            replicas = lambda: site_replicas(fleet, cut_site)  # noqa: E731

            # The hub is there: its operator stops the cheapest replica, the guard watches.
            meter.capacity_kw = capacity_short_by(4, 0.5)
            wait_for(
                "the hub's operator to stop cheap",
                lambda: replicas() == {"vip": 1, "batch": 1, "spare": 1},
                timeout=30,
                state=replicas,
            )
            time.sleep(REACTION_S)  # two more samples: the guard still only watches
            assert touched_by_guard(fleet, cut_site) == []
            assert guard.memory(api)["pending.json"] == []
            operator.stop()  # from here on only the guard may act at the site
            meter.capacity_kw = FULL_KW

            cut_link(federation, cut_site)
            wait_for(
                "the guard to take the hub for away",
                lambda: guard.memory(api)["hub.json"]["reachable"] is False,
                timeout=20,
                state=guard.log_tail,
            )
            meter.capacity_kw = capacity_short_by(3, 0.5)
            first = shed_within(
                "the guard to stop spare (preemptible)",
                lambda: replicas() == {"vip": 1, "batch": 1, "spare": 0},
                replicas,
            )
            meter.capacity_kw = capacity_short_by(2, 0.5)
            second = shed_within(
                "the guard to stop batch (lower priority than vip)",
                lambda: replicas() == {"vip": 1, "batch": 0, "spare": 0},
                replicas,
            )
            print(f"shed reaction: {first:.1f} s and {second:.1f} s (bound {REACTION_S} s)")
            meter.capacity_kw = FULL_KW  # the budget is back: nothing starts again
            time.sleep(REACTION_S)
            assert replicas() == {"vip": 1, "batch": 0, "spare": 0}

            heal_link(federation, cut_site)
            report = wait_for(
                "the guard's report on the GpuNode",
                lambda: report_of(fleet, node),
                timeout=20,
                state=guard.log_tail,
            )
            assert report.cluster == cut_site
            assert [(s.job, s.from_replicas, s.to_replicas) for s in report.shed] == [
                ("spare", 1, 0),
                ("batch", 1, 0),
            ]
            assert guard.memory(api)["pending.json"] == []
            self._the_agent_keeps_the_shed_count_until_the_hub_writes_again(fleet, cut_site)
            # The hub's operator is back: its plan (the budget is whole again) wins, and
            # it writes the shed Deployments again by itself.
            start_operator("b")
            wait_for(
                "the hub to take over: batch and spare back at the site",
                lambda: (
                    {k: replicas()[k] for k in ("vip", "batch", "spare")}
                    == {"vip": 1, "batch": 1, "spare": 1}
                ),
                timeout=30,
                state=replicas,
            )
        finally:
            if guard is not None:
                guard.stop()
                print(f"----- site guard log (tail) -----\n{guard.log_tail()}")
            meter.close()

    def _the_agent_keeps_the_shed_count_until_the_hub_writes_again(
        self, fleet: FedFleet, cluster: str
    ) -> None:
        (work,) = [w for w in fleet.works() if w["metadata"]["labels"].get(JOB_LABEL) == "spare"]

        def site_count_on_the_hub() -> object:
            (work_now,) = [
                w for w in fleet.works() if w["metadata"]["name"] == work["metadata"]["name"]
            ]
            for manifest in (
                (work_now.get("status") or {}).get("resourceStatus", {}).get("manifests", [])
            ):
                if manifest["resourceMeta"].get("kind") != "Deployment":
                    continue
                for value in (manifest.get("statusFeedback") or {}).get("values", []):
                    if value["name"] == "replicas":
                        return value["fieldValue"]["integer"]
            return None

        # The agent is back in touch (it reports the site's count) and leaves it.
        wait_for("the agent to report spare's 0 replicas", lambda: site_count_on_the_hub() == 0,
                 timeout=30, state=site_count_on_the_hub)  # fmt: skip
        time.sleep(5)
        assert site_replicas(fleet, cluster)["spare"] == 0
