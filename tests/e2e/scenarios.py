"""Scenarios of the e2e tests, as functions, so that other suites can run the same ones
(the chart's tests run them with the chart ServiceAccount's token instead of the admin's).

Each takes the test's Fleet and a ``start`` callable that starts the operator; each
asserts as it goes and fails naming the step that went wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.harness import Fleet, wait_for

Start = Callable[[], object]


def placed_counts(job: dict[str, Any]) -> Counter[str]:
    return Counter(
        {p["node"]: p["replicas"] for p in job["status"]["placements"] if p["replicas"] > 0}
    )


def sites_of(fleet: Fleet, job: str) -> set[str]:
    """Sites the job's running pods are on, from the pods themselves."""
    return {p.spec.node_name.rsplit("-n", 1)[0] for p in fleet.running_pods(job)}


def assert_every_replica_runs_where_planned(fleet: Fleet, max_latency_ms: int = 100) -> None:
    """Each job's status is complete (all replicas ready, within its latency) and its
    running pods are exactly on the nodes its placements name."""
    for name, job in fleet.jobs().items():
        status = job["status"]
        assert status["readyReplicas"] == job["spec"]["replicas"], name
        plan = placed_counts(job)
        assert sum(plan.values()) == job["spec"]["replicas"], name
        pods = Counter(p.spec.node_name for p in fleet.running_pods(name))
        assert pods == plan, f"{name}: pods {dict(pods)} differ from the plan {dict(plan)}"
        assert status["latencyMs"] <= max_latency_ms, name


def delete_job_and_wait_until_its_objects_are_gone(fleet: Fleet, name: str) -> None:
    """Delete the InferenceJob; its Deployments, pods and Service must follow."""
    fleet.delete_job(name)

    def gone() -> bool:
        deps = [d for d in fleet.deployments() if d.metadata.labels["compute.cango.io/job"] == name]
        pods = [
            p for p in fleet.pods() if (p.metadata.labels or {}).get("compute.cango.io/job") == name
        ]
        services = [
            s.metadata.name for s in fleet.core.list_namespaced_service(fleet.namespace).items
        ]
        return not deps and not pods and name not in services

    wait_for(f"{name}'s Deployments, pods and Service to be deleted", gone, timeout=60)


@dataclass(frozen=True)
class OutageSites:
    a: str
    b: str
    c: str


def site_outage(fleet: Fleet, start: Start) -> OutageSites:
    """Three sites; "strict" (SLO 25 ms) can only run at a, "chat" (SLO 50 ms) at a or b.
    Once everything runs as planned, site a goes Offline: chat moves to b within its SLO,
    strict reports that it cannot move, and a's pods are gone."""
    a = fleet.site("a", latency_ms=20)
    b = fleet.site("b", latency_ms=30)
    c = fleet.site("c", latency_ms=80)
    for site in (a, b, c):
        fleet.nodes(site, 1, gpus=8)
    fleet.job("chat", replicas=4, placement={"maxLatencyMs": 50, "objective": "latency"})
    fleet.job("strict", replicas=2, placement={"maxLatencyMs": 25})
    start()
    fleet.wait_running()
    assert_every_replica_runs_where_planned(fleet)
    assert sites_of(fleet, "strict") == {a}

    fleet.patch_status("sites", a, {"phase": "Offline"})

    wait_for(
        "chat to run at b only, all replicas ready",
        lambda: (
            sites_of(fleet, "chat") == {b}
            and len(fleet.running_pods("chat")) == 4
            and fleet.phases()["chat"] == "Running"
        ),
        timeout=60,
        state=fleet.explain,
    )
    assert fleet.get_job("chat")["status"]["latencyMs"] <= 50
    strict = wait_for(
        "strict to report that it cannot move",
        lambda: (s := fleet.get_job("strict")["status"])["phase"] == "Unschedulable" and s,
        state=fleet.explain,
    )
    assert "latency" in strict["message"]
    wait_for("the offline site's pods to be gone", lambda: not fleet.running_pods("strict"))
    return OutageSites(a, b, c)
