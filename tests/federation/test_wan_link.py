"""Faults between a site and the hub, one at a time: a site's WAN link cut (the hub marks
the site Unknown within its lease grace; the site runs on; heal brings it back), delayed
(every request pays the delay), and a site's power feed stopped while every link stays up.

Each site reaches the hub only through its own link (the session's federation has them),
so what cuts one site leaves the others alone."""

from __future__ import annotations

import time

import pytest
from kubernetes import client, config

from cango_operator.devcluster.federation import (
    LEASE_DURATION_S,
    LEASE_GRACE_S,
    Federation,
    availability,
    cut_link,
    delay_link,
    heal_link,
)
from tests.e2e.harness import Meter, wait_for
from tests.federation.conftest import SITES, StartOperator
from tests.federation.harness import FedFleet, running_pods

pytestmark = [pytest.mark.cluster, pytest.mark.federation]

#: OCM's hub marks a site Unknown once its lease is this old (5 lease durations); the
#: agent renews every lease duration, so a cut shows after 20-25 s, plus a poll.
GRACE_S = LEASE_GRACE_S


def meter_feed(meter: Meter) -> dict[str, object]:
    return {
        "type": "http",
        "url": meter.url,
        "jsonPath": "loadKw",
        "intervalSeconds": 1,
        "staleAfterSeconds": 3,
    }


def conditions_of(fleet: FedFleet, site: str) -> dict[str, dict[str, str]]:
    status = fleet.site_object(site).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


def signals(fleet: FedFleet, site: str) -> dict[str, str]:
    """The three things the hub knows of a site apart: its cluster, its feed, its nodes."""
    wanted = ("ClusterReachable", "PowerFeedHealthy", "NodesReporting")
    found = conditions_of(fleet, site)
    return {kind: found[kind]["status"] for kind in wanted if kind in found}


class TestCutLink:
    def test_a_cut_site_turns_unknown_on_the_hub_runs_on_and_comes_back_when_healed(
        self,
        federation: Federation,
        fleet: FedFleet,
        start_operator: StartOperator,
        cut_site: str,
    ) -> None:
        meter = Meter(load_kw=10)
        try:
            site = fleet.site("a", cut_site, feed=meter_feed(meter))
            self._cut_and_heal(federation, fleet, start_operator, cut_site, site)
        finally:
            meter.close()

    def _cut_and_heal(
        self,
        federation: Federation,
        fleet: FedFleet,
        start_operator: StartOperator,
        cut_site: str,
        site: str,
    ) -> None:
        fleet.nodes(site, 1)
        fleet.job("held", replicas=2)
        start_operator()
        fleet.wait_running(["held"])
        pods = running_pods(fleet, cut_site)
        assert len(pods) == 2
        wait_for(
            "the site reachable, its feed and nodes healthy",
            lambda: (
                signals(fleet, site)
                == {
                    "ClusterReachable": "True",
                    "PowerFeedHealthy": "True",
                    "NodesReporting": "True",
                }
            ),
            state=lambda: signals(fleet, site),
        )

        cut_at = time.monotonic()
        assert cut_link(federation, cut_site).state == "cut"

        def unknown_while_the_pods_run() -> bool:
            assert running_pods(fleet, cut_site) == pods  # the whole time, the same pods
            return availability(federation.hub, cut_site) == "Unknown"

        wait_for(
            f"the hub to mark {cut_site} Unknown",
            unknown_while_the_pods_run,
            timeout=GRACE_S + 10,
            every=1,
        )
        print(f"{cut_site} Unknown on the hub {time.monotonic() - cut_at:.1f} s after the cut")
        others = {s: availability(federation.hub, s) for s in SITES if s != cut_site}
        assert others == dict.fromkeys(others, "True")
        # The operator tells the cases apart: the cluster is out of reach, while the
        # hub still reads the site's power feed (and its nodes' last word stands).
        wait_for(
            "the Site to say its cluster is unreachable",
            lambda: signals(fleet, site)["ClusterReachable"] == "False",
            timeout=15,
            every=0.5,
            state=lambda: signals(fleet, site),
        )
        print(f"the Site says so {time.monotonic() - cut_at:.1f} s after the cut")
        reach = conditions_of(fleet, site)["ClusterReachable"]
        assert reach["reason"] == "LeaseExpired" and cut_site in reach["message"]
        assert signals(fleet, site)["PowerFeedHealthy"] == "True"

        healed_at = time.monotonic()
        heal_link(federation, cut_site)
        wait_for(
            f"{cut_site} to be Available again",
            lambda: availability(federation.hub, cut_site) == "True",
            timeout=60,
        )
        print(f"{cut_site} Available {time.monotonic() - healed_at:.1f} s after the heal")
        wait_for(
            "the Site to say its cluster is reachable again",
            lambda: signals(fleet, site)["ClusterReachable"] == "True",
            timeout=15,
            state=lambda: signals(fleet, site),
        )
        assert running_pods(fleet, cut_site) == pods
        assert fleet.phases() == {"held": "Running"}

    def test_the_sites_own_hub_credentials_reach_the_hub_only_through_its_link(
        self, federation: Federation, cut_site: str
    ) -> None:
        member = federation.site(cut_site)
        hub = federation.hub

        def whoami() -> int:
            return hub.kubectl(
                "--kubeconfig",
                str(member.hub_kubeconfig),
                "--request-timeout=3s",
                "auth",
                "whoami",
                check=False,
            ).returncode

        assert whoami() == 0
        cut_link(federation, cut_site)
        assert whoami() != 0
        heal_link(federation, cut_site)
        assert whoami() == 0


class TestDelayedLink:
    def test_a_request_through_a_delayed_link_takes_at_least_the_delay_each_way(
        self, federation: Federation, cut_site: str
    ) -> None:
        ms = 400
        member = federation.site(cut_site)
        api = config.new_client_from_config(config_file=str(member.hub_kubeconfig))
        try:
            version = client.VersionApi(api)
            version.get_code()  # the connection is made before the delay
            assert delay_link(federation, cut_site, ms).delay_ms == ms
            started = time.monotonic()
            version.get_code()
            assert time.monotonic() - started >= 2 * ms / 1000
        finally:
            api.close()
        time.sleep(2 * LEASE_DURATION_S)  # lease renewals pay the delay too, and still land
        assert availability(federation.hub, cut_site) == "True"


class TestFeedStopped:
    def test_a_stopped_feed_takes_its_site_out_while_every_link_stays_up(
        self, federation: Federation, fleet: FedFleet, start_operator: StartOperator
    ) -> None:
        meters = {cluster: Meter(load_kw=10) for cluster in ("site-a", "site-b")}
        try:
            sites = {
                cluster: fleet.site(
                    cluster.removeprefix("site-"),
                    cluster,
                    feed=meter_feed(meter),
                )
                for cluster, meter in meters.items()
            }

            def phases() -> dict[str, str | None]:
                return {
                    cluster: (fleet.site_object(site).get("status") or {}).get("phase")
                    for cluster, site in sites.items()
                }

            start_operator()
            wait_for(
                "both sites Ready from their feeds",
                lambda: set(phases().values()) == {"Ready"},
                state=phases,
            )

            meters["site-a"].stop()
            wait_for(
                "site-a's site to be Unknown",
                lambda: phases() == {"site-a": "Unknown", "site-b": "Ready"},
                timeout=30,
                state=phases,
            )
            assert {s: availability(federation.hub, s) for s in SITES} == dict.fromkeys(
                SITES, "True"
            )
            # A dark feed is not a lost link: the Site says which one is missing.
            wait_for(
                "site-a's Site to say its feed, not its cluster, is missing",
                lambda: signals(fleet, sites["site-a"]).get("PowerFeedHealthy") == "False",
                timeout=15,
                state=lambda: signals(fleet, sites["site-a"]),
            )
            assert signals(fleet, sites["site-a"])["ClusterReachable"] == "True"

            meters["site-a"].start()
            wait_for(
                "site-a's site to be Ready again",
                lambda: set(phases().values()) == {"Ready"},
                timeout=30,
                state=phases,
            )
        finally:
            for meter in meters.values():
                meter.close()
