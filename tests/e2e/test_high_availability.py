"""Two operator instances: only the active one works; when it dies, the other takes over."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for

pytestmark = pytest.mark.cluster

LIFETIME = 5


class TestFailover:
    def test_the_standby_does_nothing_until_the_active_one_is_killed_then_finishes_the_work(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=20)
        fleet.nodes(site, 2, gpus=8)
        peering = ["--peering", "e2e", "--peering-lifetime", str(LIFETIME)]
        active = start_operator(*peering, "--priority", "200", name="active")
        standby = start_operator(*peering, "--priority", "100", name="standby")

        for i in range(3):
            fleet.job(f"before-{i}", replicas=2)
        fleet.wait_running()
        assert active.metric("cango_placement_rounds_total") > 0
        assert standby.metric("cango_placement_rounds_total") == 0

        active.kill()
        killed = time.monotonic()
        for i in range(3):
            fleet.job(f"after-{i}", replicas=2)
        fleet.wait_running(timeout=LIFETIME + 60)
        took = time.monotonic() - killed
        print(f"failover: new jobs Running {took:.1f}s after the active operator was killed")

        assert standby.metric("cango_placement_rounds_total") > 0
        wait_for(
            "every job to run exactly as planned",
            lambda: not fleet.exactly_as_planned(),
            state=fleet.exactly_as_planned,
        )

    def test_a_new_instance_never_displaces_a_working_one(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=20)
        fleet.nodes(site, 1, gpus=8)
        peering = ["--peering", "e2e", "--peering-lifetime", str(LIFETIME)]
        first = start_operator(*peering, name="first")
        fleet.job("chat", replicas=1)
        fleet.wait_running()
        second = start_operator(*peering, name="second")
        fleet.job("embed", replicas=1)
        fleet.wait_running()
        assert second.metric("cango_placement_rounds_total") == 0
        assert first.alive()

        first.stop()  # a clean exit removes its heartbeat: the other takes over at once
        stopped = time.monotonic()
        fleet.job("late", replicas=1)
        fleet.wait_running(timeout=30)
        assert time.monotonic() - stopped < LIFETIME + 20
        assert second.metric("cango_placement_rounds_total") > 0
        wait_for("second to stay up", second.alive)
