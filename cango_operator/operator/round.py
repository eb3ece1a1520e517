"""One planning round: read the fleet, plan it, record the plan, realise it, report it.

Order matters for crash safety. Each job's new placements are written into its status
*before* any Deployment is touched: an operator killed between the two finds the
decision in the job's status when it restarts, the engine keeps those placements, and the
same deterministic Deployment names are applied again: adopted, never duplicated.
Every write is skipped when it would change nothing, so a round over a settled fleet
makes no API calls at all.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from cango_operator.api import InferenceJob, JobPhase, JobPlacement
from cango_operator.builders import GatewayRef, fingerprint
from cango_operator.builders.events import EventRecord, Regarding, event_manifest
from cango_operator.operator import metrics
from cango_operator.operator.applier import ApplyReport, JobIntent, PlanApplier
from cango_operator.operator.decide import decide
from cango_operator.operator.endpoints import EndpointApplier
from cango_operator.operator.events import EVENT_CONTROLLER
from cango_operator.operator.fleet_metrics import reason_label
from cango_operator.operator.kube import KubeWriter, describe, is_status
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.metering import Line, UsageLedger, rate_of
from cango_operator.operator.options import DEFAULT_USAGE_INTERVAL
from cango_operator.operator.round_metrics import record_round
from cango_operator.operator.sitepower import SitePowerFeeds
from cango_operator.operator.statuses import (
    POWER_CAP_KIND,
    JobDecision,
    UsageFn,
)
from cango_operator.operator.view import FleetView
from cango_operator.operator.world import World, is_stale
from cango_operator.operator.writes import Write
from cango_operator.placement import Plan, Snapshot

logger = logging.getLogger(__name__)

PlanFn = Callable[[Snapshot], Plan]


class RoundIncompleteError(Exception):
    """Some writes failed; the planner runs another round after a pause."""


@dataclass
class RoundResult:
    """What a round did; the tests and the logs read it."""

    jobs: int = 0
    status_writes: int = 0
    applied: int = 0
    deleted: int = 0
    errors: int = 0


class Reconciler:
    """Runs rounds against the indexes kopf keeps. ``indexes`` is set at operator startup."""

    def __init__(
        self,
        writer: KubeWriter,
        applier: PlanApplier,
        memory: WriteMemory,
        plan_fn: PlanFn,
        *,
        node_stale_seconds: float,
        feeds: SitePowerFeeds | None = None,
        usage_interval_seconds: float = DEFAULT_USAGE_INTERVAL,
        federated: bool = False,
        namespaced: bool = False,
        kueue: bool = False,
        gateway: GatewayRef | None = None,
        identity: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.writer = writer
        #: The clocks the decisions read: the wall clock (heartbeats, failover, the time
        #: in statuses) and a monotonic one (usage intervals). Durations the metrics
        #: observe, and the write memory's expiry, are in real time.
        self.clock = clock
        self.monotonic = monotonic
        #: ``reportingInstance`` of its Events: the host's name (in a pod: the pod's).
        self.identity = identity or socket.gethostname()
        self.applier = applier
        self.memory = memory
        self.plan_fn = plan_fn
        self.node_stale_seconds = node_stale_seconds
        self.feeds = feeds
        self.federated = federated
        #: Limited to some namespaces: only the objects of live ones count (see World).
        self.namespaced = namespaced
        #: Hold queued jobs to their tenant's Kueue quota (operator.quota).
        self.kueue = kueue
        #: Route jobs that ask for an endpoint through this Gateway (operator.endpoints).
        self.gateway = gateway
        self.endpoints = EndpointApplier(writer, memory, gateway) if gateway else None
        self._foreign: dict[str, str] = {}
        self.indexes: Mapping[str, Any] = {}
        self.last: RoundResult | None = None
        self._stale: frozenset[str] = frozenset()
        self._next_replacement: datetime | None = None
        self._planned: tuple[Snapshot, Plan] | None = None
        self.ledger = UsageLedger(usage_interval_seconds, monotonic())

    def _usage_fn(self, view: FleetView) -> UsageFn:
        """Each job's usage from the ledger (its round started by the caller)."""
        pue = {name: site.spec.power.pue for name, site in view.sites.items()}

        def usage(
            key: str, job: InferenceJob, rows: Sequence[JobPlacement], ready: int, fresh: bool
        ) -> dict[str, float] | None:
            lines = [
                Line(row.replicas, row.gpus or 0, row.power_w or 0.0, pue.get(row.site, 1.0))
                for row in rows
            ]
            persisted = job.status.usage if job.status is not None else None
            self.ledger.observe(
                key,
                job.metadata.uid or key,
                persisted.model_dump(by_alias=True) if persisted is not None else None,
                rate_of(lines, ready),
            )
            return self.ledger.usage(key, fresh=fresh)

        return usage

    def usage_due(self) -> bool:
        """Whether some job's usage in its status is an interval old."""
        return self.ledger.due(self.monotonic())

    @property
    def stale_nodes(self) -> frozenset[str]:
        """GpuNodes whose heartbeat the last round found stale."""
        return self._stale

    def replacement_due(self) -> bool:
        """Whether a job's replicas at an unreachable site have waited out its failover
        grace since the last round (the moment no watch event announces)."""
        due = self._next_replacement
        return due is not None and self.clock() >= due

    def time_based_change(self) -> bool:
        """Whether some GpuNode's heartbeat went stale (or fresh) since the last round:
        the one change that no watch event announces."""
        now = self.clock()
        world = World.from_indexes(self.indexes, namespaced=self.namespaced)
        stale = frozenset(
            g.name for g in world.valid_gpunodes() if is_stale(g, now, self.node_stale_seconds)
        )
        return stale != self._stale

    async def __call__(self, reasons: frozenset[str]) -> None:
        started = time.monotonic()
        try:
            result = await self.run_once(reasons)
        except Exception:
            metrics.ROUNDS.labels("error").inc()
            raise
        finally:
            metrics.ROUND_SECONDS.observe(time.monotonic() - started)
        self.last = result
        if result.errors:
            metrics.ROUNDS.labels("error").inc()
            raise RoundIncompleteError(f"{result.errors} write(s) failed; see the log above")
        metrics.ROUNDS.labels("ok").inc()

    async def run_once(self, reasons: frozenset[str]) -> RoundResult:
        started = time.monotonic()
        now = self.clock()
        self.memory.expire(time.monotonic())  # the memory dates its entries so
        world = World.from_indexes(self.indexes, namespaced=self.namespaced)

        def timed_plan(snapshot: Snapshot) -> Plan:
            # A round whose snapshot is the last one's (only ready counts or other things
            # the engine does not read changed) reuses its plan: the engine is pure.
            if self._planned is not None and self._planned[0] == snapshot:
                return self._planned[1]
            plan_started = time.monotonic()
            try:
                planned = self.plan_fn(snapshot)
            finally:
                metrics.PLAN_SECONDS.observe(time.monotonic() - plan_started)
            self._planned = (snapshot, planned)
            return planned

        def ready(job: Any, rows: Any) -> int:
            return self.applier.ready_replicas(job, rows, world)

        self.ledger.start_round(self.monotonic())
        decision = decide(
            world,
            self.memory,
            now,
            plan_fn=timed_plan,
            ready=ready,
            usage=self._usage_fn,
            node_stale_seconds=self.node_stale_seconds,
            federated=self.federated,
            kueue=self.kueue,
            gateway=self.gateway,
        )
        view, plan, decisions = decision.view, decision.plan, decision.jobs
        self.ledger.keep_only(view.jobs)
        self._stale = frozenset(view.stale)
        self._next_replacement = view.next_replacement
        self._report_foreign(view.foreign)
        result = RoundResult(jobs=len(decisions) + len(view.failed))
        timings = {"plan": time.monotonic() - started}

        # 1. Record the decisions (crash safety: before any workload is written).
        failed = await self._write_all(decision.record_writes(), result)
        recorded = [d for d in decisions if (d.write is None or d.write.key not in failed)]
        self._count(plan, [d for d in recorded if d.write is not None])
        # Events of jobs whose decision is recorded: the others' come again next round.
        keys = {d.key for d in recorded}
        await self._tell([e for e in decision.events if _job_key(e.regarding) in keys], now)
        timings["record"] = time.monotonic() - started

        # 2. Realise them; ask Kueue for the quota of new replicas, and give back the
        # quota of replicas it evicted once they are stopped.
        w = self.writer
        asked = [partial(w.apply_workload, m) for m in decision.workloads.apply]
        await self._each("Workload", "apply", asked, result)
        report = await self.applier.realize([JobIntent(d.job, d.rows) for d in recorded], world)
        self._count_report(report, result)
        if self.endpoints is not None:
            routed = await self.endpoints.realize([d.job for d in recorded], world)
            self._count_report(routed, result)
        gone = [
            partial(w.delete_workload, e.namespace, e.name, e.uid)
            for e in decision.workloads.delete
        ]
        await self._each("Workload", "delete", gone, result)
        timings["realize"] = time.monotonic() - started

        # 3. The fleet's own status: allocation, Node taints and labels, site aggregates.
        await self._write_all(decision.fleet_writes(), result)
        if self.feeds is not None:
            await self.feeds.sync(view.sites, decision.site_loads(), decision.site_conditions)
        timings["fleet"] = time.monotonic() - started

        _gauge_phases(decisions, len(view.failed))
        record_round(view, plan, decisions, {d.key for d in recorded})
        metrics.UNSCHEDULABLE_REPLICAS.set(sum(u.missing for u in plan.unschedulable))
        if result.status_writes or result.applied or result.deleted or result.errors:
            logger.info(
                "round (%s): %d jobs, %d status writes, %d applied, %d deleted, %d errors "
                "(s since start: %s)",
                ", ".join(sorted(reasons)) or "-",
                result.jobs,
                result.status_writes,
                result.applied,
                result.deleted,
                result.errors,
                " ".join(f"{k} {v:.2f}" for k, v in timings.items()),
            )
        return result

    @staticmethod
    def _count_report(report: ApplyReport, result: RoundResult) -> None:
        result.applied += report.applied
        result.deleted += report.deleted
        for error in report.errors:
            logger.warning("workload write failed: %s", error)
        result.errors += len(report.errors)

    async def _tell(self, records: Sequence[EventRecord], now: datetime) -> None:
        """Post the round's Events; one that fails is logged and dropped (a record, never
        worth failing a round over)."""
        bodies = [
            event_manifest(r, controller=EVENT_CONTROLLER, instance=self.identity, now=now)
            for r in records
        ]
        writer = self.writer
        outcomes = await asyncio.gather(
            *(writer.call("Event", "create", partial(writer.create_event, b)) for b in bodies),
            return_exceptions=True,
        )
        for body, outcome in zip(bodies, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                logger.info("Event %s not posted: %s", body["reason"], describe(outcome))

    def _report_foreign(self, foreign: dict[str, str]) -> None:
        """Say once (not every round) which GpuNodes are left out, and why."""
        for name, reason in sorted(foreign.items()):
            if self._foreign.get(name) != reason:
                logger.warning("GpuNode %s takes no work: %s", name, reason)
        self._foreign = dict(foreign)

    async def _write_all(self, writes: Sequence[Write], result: RoundResult) -> set[Any]:
        """Run the writes concurrently; return the keys of those that failed."""
        todo = [
            w
            for w in writes
            if not self.memory.already_written(w.key, w.version, fingerprint(w.body))
        ]
        outcomes = await asyncio.gather(*(self._write(w) for w in todo), return_exceptions=True)
        failed: set[Any] = set()
        for write, outcome in zip(todo, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                if is_status(outcome, 404):
                    failed.add(write.key)  # gone meanwhile: nothing to record, no error
                    continue
                if is_status(outcome, 409):
                    logger.info(
                        "%s %s changed meanwhile; next round retries", write.kind, write.name
                    )
                else:
                    logger.warning(
                        "writing %s %s failed: %s", write.kind, write.name, describe(outcome)
                    )
                failed.add(write.key)
                result.errors += 1
                continue
            result.status_writes += 1
            self.memory.remember(write.key, write.version, fingerprint(write.body), write.body)
        return failed

    async def _each(
        self, kind: str, verb: str, calls: Sequence[Callable[[], Any]], result: RoundResult
    ) -> None:
        """Make the ``verb`` writes of ``kind`` concurrently; a failed one is logged and
        counted (the next round makes it again)."""
        outcomes = await asyncio.gather(
            *(self.writer.call(kind, verb, c) for c in calls), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                logger.warning("%s of a %s failed: %s", verb, kind, describe(outcome))
                result.errors += 1
            elif verb == "delete":
                result.deleted += 1
            else:
                result.applied += 1

    async def _write(self, write: Write) -> None:
        w = self.writer
        if write.kind == "InferenceJob":
            ns = write.namespace or ""
            await w.call(
                write.kind, "status", lambda: w.patch_job_status(ns, write.name, write.body)
            )
        elif write.kind == "Node":
            await w.call(write.kind, "patch", lambda: w.patch_node(write.name, write.body))
        elif write.kind == POWER_CAP_KIND:
            await w.call(
                "GpuNode", "patch", lambda: w.patch_gpunode_annotations(write.name, write.body)
            )
        else:
            plural = {"GpuNode": "gpunodes", "Site": "sites"}[write.kind]
            await w.call(
                write.kind, "status", lambda: w.patch_cluster_status(plural, write.name, write.body)
            )

    @staticmethod
    def _count(plan: Plan, recorded: Sequence[JobDecision]) -> None:
        evicted = {e.job for e in plan.evictions}
        keys = {d.key for d in recorded}
        for p in plan.placements:
            if p.job in keys and p.new_replicas:
                cause = "moved" if p.job in evicted else "new"
                metrics.PLACEMENTS.labels(cause).inc(p.new_replicas)
        for e in plan.evictions:
            if e.job in keys:
                metrics.EVICTIONS.labels(reason_label(e.reason)).inc(e.replicas)


def _job_key(regarding: Regarding) -> str:
    return f"{regarding.namespace}/{regarding.name}"


def _gauge_phases(decisions: Sequence[JobDecision], failed: int) -> None:
    counts = {phase.value: 0 for phase in JobPhase}
    for d in decisions:
        counts[str(d.status["phase"])] += 1
    counts[JobPhase.FAILED.value] += failed
    for phase, count in counts.items():
        metrics.JOBS.labels(phase).set(count)
