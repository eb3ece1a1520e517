"""SIGKILL the operator again and again while it places 200 jobs: in the end every job
runs exactly once: no duplicate Deployments, no orphan pods, no job left behind."""

from __future__ import annotations

import random
import time

import pytest

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for

pytestmark = pytest.mark.cluster

JOBS = 200
SITES = 4
NODES_PER_SITE = 6
KILLS = 6


class TestRestart:
    def test_a_restarted_operator_adopts_what_exists_and_writes_nothing_new(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("a", latency_ms=10)
        fleet.nodes(site, 2, gpus=8)
        for i in range(5):
            fleet.job(f"job-{i}", replicas=2)
        first = start_operator()
        fleet.wait_running()
        before = {d.metadata.name: d.metadata.uid for d in fleet.deployments()}
        first.kill()

        second = start_operator(name="b")
        wait_for(
            "a round of the new operator", lambda: second.metric("cango_placement_rounds_total")
        )
        assert second.metric("cango_api_writes_total") == 0
        assert {d.metadata.name: d.metadata.uid for d in fleet.deployments()} == before
        assert not fleet.exactly_as_planned()


@pytest.mark.chaos
class TestKilledWhilePlacing:
    def test_every_job_runs_exactly_once_after_repeated_sigkills(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        rng = random.Random(7)
        for s in range(SITES):
            fleet.nodes(fleet.site(f"s{s}", latency_ms=10 + 10 * s), NODES_PER_SITE, gpus=16)
        names = []
        for i in range(JOBS):
            names.append(
                fleet.job(
                    f"job-{i:03d}",
                    replicas=rng.choice([1, 1, 2]),
                    placement={"minSites": 1},
                )
            )
        started = time.monotonic()
        op = start_operator(wait=False)
        kills = 0
        # Kill at random moments once it has started: mid-round between the status
        # writes and the Deployments, while pods start. Then let it finish.
        while kills < KILLS and not fleet.all_running(names):
            op.wait_ready()
            time.sleep(rng.uniform(0.5, 5.0))
            op.kill()
            kills += 1
            phases = list(fleet.phases().values())
            print(
                f"SIGKILL {kills}: {phases.count('Running')} Running, "
                f"{phases.count('Placing')} Placing, {phases.count(None)} untouched"
            )
            op.start()
        fleet.wait_running(names, timeout=240)
        took = time.monotonic() - started
        print(f"{JOBS} jobs Running {took:.1f}s after the first start, {kills} SIGKILLs on the way")
        wait_for(
            "every job to run exactly as planned",
            lambda: not fleet.exactly_as_planned(),
            timeout=60,
            state=fleet.exactly_as_planned,
        )
        assert kills >= 3
