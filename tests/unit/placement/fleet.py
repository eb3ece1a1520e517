"""Short constructors for hand-written test fleets: only what a test is about is spelled out.

Defaults: a Ready site in north-america with 100 kW and 20 ms to north-america, an 8-GPU
H100 node drawing 700 W per GPU, a 1-GPU job for north-america users.
"""

from __future__ import annotations

from typing import Any

from cango_operator.placement import (
    ExistingPlacement,
    JobRequest,
    NodeState,
    Plan,
    SiteState,
    Snapshot,
    plan,
)

NA = "north-america"
SA = "south-america"


def site(name: str, **kw: Any) -> SiteState:
    args: dict[str, Any] = {
        "region": NA,
        "capacity_kw": 100.0,
        "energy_price_usd_per_mwh": 40.0,
        "latency_ms": {NA: 20.0, SA: 150.0},
    }
    args.update(kw)
    return SiteState(name=name, **args)


def node(name: str, site_name: str, **kw: Any) -> NodeState:
    args: dict[str, Any] = {
        "gpu_model": "H100-80GB",
        "gpu_count": 8,
        "gpu_memory_mib": 81559,
        "gpu_max_power_w": 700.0,
    }
    args.update(kw)
    return NodeState(name=name, site=site_name, **args)


def job(name: str, **kw: Any) -> JobRequest:
    args: dict[str, Any] = {"namespace": "t", "replicas": 1, "client_region": NA}
    args.update(kw)
    return JobRequest(name=name, **args)


def running(job_name: str, node_name: str, replicas: int, **kw: Any) -> ExistingPlacement:
    return ExistingPlacement(job=f"t/{job_name}", node=node_name, replicas=replicas, **kw)


def plan_of(
    sites: list[SiteState],
    nodes: list[NodeState],
    jobs: list[JobRequest],
    placements: list[ExistingPlacement] | None = None,
) -> Plan:
    return plan(
        Snapshot(
            sites=tuple(sites),
            nodes=tuple(nodes),
            jobs=tuple(jobs),
            placements=tuple(placements or ()),
        )
    )


def where(result: Plan, job_name: str) -> dict[str, int]:
    """node -> replicas of ``t/<job_name>`` in the plan."""
    return {p.node: p.replicas for p in result.placements_of(f"t/{job_name}")}


def sites_of(result: Plan, job_name: str) -> set[str]:
    return {p.site for p in result.placements_of(f"t/{job_name}")}


def why(result: Plan, job_name: str) -> dict[str, int]:
    """Reasons counted for ``t/<job_name>`` (empty when it was not reported)."""
    for u in result.unschedulable:
        if u.job == f"t/{job_name}":
            return dict(u.reasons)
    return {}


def evicted(result: Plan, job_name: str) -> dict[tuple[str, str], int]:
    """(node, reason) -> replicas evicted of ``t/<job_name>``."""
    return {(e.node, e.reason): e.replicas for e in result.evictions if e.job == f"t/{job_name}"}
