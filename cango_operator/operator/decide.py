"""A round's decisions as one pure function: the world the indexes hold, what the operator
remembers writing, the time, in; every decision and every write the round will make, out.

:func:`decide` reads no clock and makes no call: the planner, how many replicas of a
placement are ready (the applier's view of its workloads) and the usage meter come in as
functions. :class:`~cango_operator.operator.round.Reconciler` runs it and then makes the
writes in their crash-safe order; the tests call the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders import GatewayAddress, GatewayRef, endpoint_url
from cango_operator.builders.events import EventRecord
from cango_operator.operator.events import power_events
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.quota import WorkloadWrites, job_quotas, workload_writes
from cango_operator.operator.snapshot import build_snapshot
from cango_operator.operator.statuses import (
    EndpointFn,
    JobDecision,
    ReadyFn,
    UsageFn,
    failed_writes,
    gpunode_writes,
    held_before,
    held_for_meter,
    job_decisions,
    node_writes,
    power_cap_writes,
    site_loads,
    site_round_conditions,
    site_writes,
)
from cango_operator.operator.view import FleetView, build_view
from cango_operator.operator.world import World
from cango_operator.operator.writes import Write
from cango_operator.placement import Plan, Snapshot
from cango_operator.power import GpuLoad

PlanFn = Callable[[Snapshot], Plan]


@dataclass(frozen=True)
class Decision:
    """What one round decided, and the writes that record and report it."""

    view: FleetView
    plan: Plan
    #: replicas waiting for a meter to show the room, by (job, node)
    held: Mapping[tuple[str, str], int]
    jobs: list[JobDecision]
    #: Events about jobs, for the jobs whose decision gets recorded
    events: list[EventRecord]
    site_conditions: Mapping[str, list[dict[str, Any]]]
    federated: bool
    #: Kueue Workloads to write and to delete (``--kueue``; none without it)
    workloads: WorkloadWrites = field(default_factory=WorkloadWrites)

    def record_writes(self) -> list[Write]:
        """The jobs' statuses: written first, before any workload (crash safety)."""
        return [*[d.write for d in self.jobs if d.write is not None], *failed_writes(self.view)]

    def fleet_writes(self) -> list[Write]:
        """GpuNodes (allocation, stale heartbeats, power caps), Nodes, Sites."""
        view, plan = self.view, self.plan
        return [
            *gpunode_writes(view, plan, allocation=not self.federated),
            *power_cap_writes(view, plan),
            *node_writes(view),
            *site_writes(view, plan, self.site_conditions),
        ]

    def site_loads(self) -> dict[str, GpuLoad]:
        """Each site's GPU load under the plan, for the power model."""
        return site_loads(self.view, self.plan)


def decide(
    world: World,
    memory: WriteMemory,
    now: datetime,
    *,
    plan_fn: PlanFn,
    ready: ReadyFn,
    usage: Callable[[FleetView], UsageFn] | None = None,
    node_stale_seconds: float,
    federated: bool = False,
    kueue: bool = False,
    gateway: GatewayRef | None = None,
) -> Decision:
    """``usage``: the usage meter of the view's jobs (None: no usage in the statuses);
    ``kueue``: hold jobs with a LocalQueue to their quota (operator.quota); ``gateway``:
    the Gateway jobs with an endpoint are routed through (None: no endpoints)."""
    view = build_view(world, memory, now, node_stale_seconds, federated=federated)
    queued = job_quotas(view.jobs, world.workloads) if kueue else {}
    snapshot = build_snapshot(view, {key: q.admitted for key, q in queued.items()})
    plan = plan_fn(snapshot)
    held = held_for_meter(view, plan, snapshot)
    return Decision(
        view=view,
        plan=plan,
        held=held,
        jobs=job_decisions(
            view,
            plan,
            ready,
            usage(view) if usage else None,
            held,
            queued=queued,
            endpoint=_endpoints(world.gateway_address(gateway)) if gateway else None,
        ),
        events=power_events(view.jobs, plan, held, held_before(view)),
        site_conditions=site_round_conditions(view),
        federated=federated,
        workloads=workload_writes(view.jobs, world.workloads) if kueue else WorkloadWrites(),
    )


def _endpoints(address: GatewayAddress | None) -> EndpointFn:
    """Each job's URL through a gateway at ``address`` (None: no address yet)."""

    def endpoint(job: InferenceJob) -> str | None:
        wanted = job.spec.endpoint
        return endpoint_url(wanted, address) if wanted is not None else None

    return endpoint
