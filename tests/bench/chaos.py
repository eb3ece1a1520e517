"""The rollout under chaos: the operator SIGKILLed every few seconds while it places.

Each life of the operator: wait until it answers ``/readyz``, let it work ``every`` seconds
(jittered by half either way), SIGKILL it, start it again; until every replica runs or
``max_kills`` is reached, then it finishes in peace. Counted on every poll of the pods
and once more when the fleet has settled:

* duplicates: live (not terminating) pods of a job beyond its replicas, and Deployments
  beyond its placement lines (the crash-safety promise: both zero);
* lost jobs: jobs with fewer replicas Running than asked when the time is up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.harness import Fleet, OperatorProcess

JOB_LABEL = "compute.cango.io/job"
SETTLE_S = 120.0


def _live_pods_by_job(pods: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Live pods and Running pods, per job."""
    live: dict[str, int] = {}
    running: dict[str, int] = {}
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        job = (pod.metadata.labels or {}).get(JOB_LABEL, "?")
        live[job] = live.get(job, 0) + 1
        if pod.status.phase == "Running":
            running[job] = running.get(job, 0) + 1
    return live, running


def surplus_pods(live: dict[str, int], wanted: dict[str, int]) -> int:
    return sum(max(0, n - wanted.get(job, 0)) for job, n in live.items())


def surplus_deployments(fleet: Fleet) -> int:
    """Deployments of a job beyond the lines of its plan (one per node)."""
    planned = {
        name: len((job.get("status") or {}).get("placements") or [])
        for name, job in fleet.jobs().items()
    }
    count: dict[str, int] = {}
    for dep in fleet.deployments():
        if dep.metadata.deletion_timestamp is None:
            job = dep.metadata.labels.get(JOB_LABEL, "?")
            count[job] = count.get(job, 0) + 1
    return sum(max(0, n - planned.get(job, 0)) for job, n in count.items())


def chaos_rollout(
    fleet: Fleet,
    op: OperatorProcess,
    wanted: dict[str, int],
    apply: Callable[[], None],
    *,
    every: float,
    max_kills: int,
    timeout: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Apply the jobs and kill the operator while it places them; what came of it."""
    replicas = sum(wanted.values())
    started = time.monotonic()
    apply()
    kills = 0
    max_surplus = 0
    ready_s: list[float] = []
    kill_at = _next_kill(op, every, rng, ready_s)
    running_total = 0
    deadline = started + timeout
    while time.monotonic() < deadline:
        live, running = _live_pods_by_job(fleet.pods())
        max_surplus = max(max_surplus, surplus_pods(live, wanted))
        running_total = sum(min(n, wanted.get(j, 0)) for j, n in running.items())
        if running_total >= replicas:
            break
        if kills < max_kills and time.monotonic() >= kill_at:
            op.kill()
            kills += 1
            print(f"  SIGKILL {kills}: {running_total}/{replicas} Running", flush=True)
            op.start()
            kill_at = _next_kill(op, every, rng, ready_s)
        time.sleep(0.5)
    took = time.monotonic() - started
    op.wait_ready(timeout=120)
    settled = _settle(fleet)
    live, running = _live_pods_by_job(fleet.pods())
    lost = sorted(j for j, n in wanted.items() if running.get(j, 0) < n)
    return {
        "replicas": replicas,
        "kills": kills,
        "kill_every_s": every,
        "restart_to_ready_s_median": round(sorted(ready_s)[len(ready_s) // 2], 2)
        if ready_s
        else None,
        "to_running_s": round(took, 2),
        "all_running": running_total >= replicas,
        "max_surplus_pods_seen": max_surplus,
        "duplicate_pods": surplus_pods(live, wanted),
        "duplicate_deployments": surplus_deployments(fleet),
        "lost_jobs": len(lost),
        "lost_examples": lost[:5],
        "not_as_planned_after_settling": settled,
    }


def _next_kill(
    op: OperatorProcess, every: float, rng: random.Random, ready_s: list[float]
) -> float:
    """Wait for the (re)started operator to be ready; when to kill it next."""
    began = time.monotonic()
    op.wait_ready(timeout=300)
    ready_s.append(time.monotonic() - began)
    return time.monotonic() + rng.uniform(every / 2, every * 1.5)


def _settle(fleet: Fleet) -> int:
    """Wait (up to SETTLE_S) for every job to run exactly its plan; what still differs."""
    deadline = time.monotonic() + SETTLE_S
    problems = fleet.exactly_as_planned()
    while problems and time.monotonic() < deadline:
        time.sleep(2.0)
        problems = fleet.exactly_as_planned()
    for line in problems[:5]:
        print(f"  not as planned: {line}", flush=True)
    return len(problems)
