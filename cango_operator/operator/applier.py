"""Turning a job's placement into running workloads: the one step a multi-cluster
engine (Karmada, Open Cluster Management) would replace.

:class:`PlanApplier` is that step's whole interface. :class:`KubernetesApplier` realises
placements in this cluster: one Deployment per (job, node) line and one Service per job,
written with server-side apply, never re-written when unchanged, stale ones deleted.
Shrinking and deleting on a node go before growing on that node, so its GPUs are free
before other work lands there; growing on nodes where nothing shrinks goes at once, with
the shrinking (a site outage's replacements do not wait for the deletions at the dead
site). Services go last, as they gate no pod (and each one costs the API server an IP
allocation).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cango_operator.api import InferenceJob, JobPlacement
from cango_operator.builders import (
    build_network_policy,
    build_placement_deployment,
    build_service,
    names,
    stamped_hash,
)
from cango_operator.builders.labels import NODE_LABEL
from cango_operator.operator.kube import KubeWriter, describe
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.projections import OwnedEntry
from cango_operator.operator.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobIntent:
    """A job and the placement lines it should run with (possibly none)."""

    job: InferenceJob
    rows: Sequence[JobPlacement]

    @property
    def key(self) -> str:
        return f"{self.job.metadata.namespace}/{self.job.metadata.name}"


@dataclass
class ApplyReport:
    """What one ``realize`` call wrote and what failed (the round retries failures)."""

    applied: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)


class PlanApplier(Protocol):
    """Realise placements as workloads, and say how many replicas of a job are ready."""

    def ready_replicas(self, job: InferenceJob, rows: Sequence[JobPlacement], world: World) -> int:
        """Ready replicas of ``job`` among the placement ``rows`` (others do not count)."""
        ...

    async def realize(self, intents: Sequence[JobIntent], world: World) -> ApplyReport:
        """Make the workloads of each job match its rows; idempotent."""
        ...


WriteCall = Callable[[], Awaitable[Any]]


@dataclass
class WriteBatches:
    """Writes by node: shrink and delete, grow; then Services. See :meth:`in_order`."""

    shrink: list[tuple[str | None, WriteCall]] = field(default_factory=list)
    grow: list[tuple[str | None, WriteCall]] = field(default_factory=list)
    services: list[WriteCall] = field(default_factory=list)

    def in_order(self) -> list[list[WriteCall]]:
        """Three batches: every shrink with every grow on a node where nothing shrinks;
        the grows on shrinking nodes; the Services."""
        shrinking = {node for node, _ in self.shrink}
        first = [w for _, w in self.shrink]
        first += [w for node, w in self.grow if node not in shrinking]
        then = [w for node, w in self.grow if node in shrinking]
        return [first, then, self.services]


class Observed(Protocol):
    """What an applier reads of an object the index shows (a Deployment, a Service, a
    ManifestWork)."""

    @property
    def resource_version(self) -> str: ...

    @property
    def uid(self) -> str: ...

    @property
    def applied_hash(self) -> str | None: ...

    @property
    def deleting(self) -> bool: ...


#: An object's (kind, namespace, name): what the write memory remembers a write under.
ObjectKey = tuple[str, str, str]
#: What the write memory holds for a deletion sent.
DELETED = "deleted"


class WritesOnce:
    """The write rules of every applier: nothing is applied whose stamped hash the index
    shows already, and no write is sent again while the index has not caught up with it
    (the write memory remembers it under the version the index showed when it was sent)."""

    def __init__(self, writer: KubeWriter, memory: WriteMemory) -> None:
        self._writer = writer
        self._memory = memory

    def needs_apply(self, manifest: dict[str, Any], observed: Observed | None) -> bool:
        wanted = stamped_hash(manifest) or ""
        if observed is not None and observed.applied_hash == wanted and not observed.deleting:
            return False
        return not self._memory.already_written(_key_of(manifest), _version(observed), wanted)

    def apply(
        self,
        manifest: dict[str, Any],
        observed: Observed | None,
        send: Callable[[dict[str, Any]], object],
        report: ApplyReport,
    ) -> WriteCall:
        """Server-side apply of ``manifest`` through ``send``, remembered once it is sent."""
        key, version = _key_of(manifest), _version(observed)

        async def write() -> None:
            await self._writer.call(key[0], "apply", lambda: send(manifest))
            self._memory.remember(key, version, stamped_hash(manifest) or "", None)
            report.applied += 1

        return write

    def delete(
        self,
        key: ObjectKey,
        observed: Observed,
        send: Callable[[str, str, str | None], object],
        report: ApplyReport,
    ) -> WriteCall:
        """Delete the object through ``send(namespace, name, uid)``, unless already sent."""
        kind, namespace, name = key

        async def write() -> None:
            if self._memory.already_written(key, observed.resource_version, DELETED):
                return
            await self._writer.call(kind, "delete", lambda: send(namespace, name, observed.uid))
            self._memory.remember(key, observed.resource_version, DELETED, None)
            report.deleted += 1

        return write


def _key_of(manifest: dict[str, Any]) -> ObjectKey:
    meta = manifest["metadata"]
    return (manifest["kind"], meta["namespace"], meta["name"])


def _version(observed: Observed | None) -> str:
    return observed.resource_version if observed is not None else ""


class KubernetesApplier:
    """Deployments and Services in this cluster, owned by their job."""

    def __init__(self, writer: KubeWriter, memory: WriteMemory) -> None:
        self._writer = writer
        self._once = WritesOnce(writer, memory)

    def ready_replicas(self, job: InferenceJob, rows: Sequence[JobPlacement], world: World) -> int:
        observed = _by_name(world.deployments.get(job_key(job), []))
        total = 0
        for row in rows:
            dep = observed.get(names.deployment_name(job.metadata.name, row.node))
            if dep is not None and not dep.deleting:
                total += min(dep.ready_replicas, row.active_replicas)
        return total

    async def realize(self, intents: Sequence[JobIntent], world: World) -> ApplyReport:
        report = ApplyReport()
        todo = WriteBatches()
        for intent in intents:
            self._plan_job(intent, world, todo, report)
        for batch in todo.in_order():
            await run_writes(batch, report)
        return report

    def _plan_job(
        self,
        intent: JobIntent,
        world: World,
        todo: WriteBatches,
        report: ApplyReport,
    ) -> None:
        job = intent.job
        key = job_key(job)
        observed = _by_name(world.deployments.get(key, []))
        wanted: dict[str, dict[str, Any]] = {}
        for row in intent.rows:
            if row.active_replicas > 0:
                host = world.host_of(row.node)
                manifest = build_placement_deployment(job, row, host=host)
                wanted[manifest["metadata"]["name"]] = manifest
        for name, dep in observed.items():
            if name not in wanted and not dep.deleting:
                todo.shrink.append((dep.node, self._delete(dep, report)))
        for name, manifest in wanted.items():
            current = observed.get(name)
            if not self._once.needs_apply(manifest, current):
                continue
            smaller = current is not None and manifest["spec"]["replicas"] < current.replicas
            batch = todo.shrink if smaller else todo.grow
            node = manifest["metadata"]["labels"].get(NODE_LABEL)
            apply = self._writer.apply_deployment
            batch.append((node, self._once.apply(manifest, current, apply, report)))
        writer = self._writer
        objects: list[OnePerJob] = [
            (build_service(job), world.services, writer.apply_service),
            (build_network_policy(job), world.network_policies, writer.apply_network_policy),
        ]
        todo.services += one_per_job_writes(self._once, key, objects, report)

    def _delete(self, dep: OwnedEntry, report: ApplyReport) -> WriteCall:
        key = ("Deployment", dep.namespace, dep.name)
        return self._once.delete(key, dep, self._writer.delete_deployment, report)


#: A job's one object of a kind: its manifest, the kind's objects by job (the world's),
#: and the writer's apply call for the kind.
OnePerJob = tuple[
    dict[str, Any], Mapping[str, Sequence[OwnedEntry]], Callable[[dict[str, Any]], object]
]


def one_per_job_writes(
    once: WritesOnce, key: str, objects: Sequence[OnePerJob], report: ApplyReport
) -> list[WriteCall]:
    """The writes of the job's one-per-job objects (``key``: :func:`job_key`) that the
    index does not show as built already."""
    out = []
    for manifest, observed_of_kind, apply in objects:
        current = _by_name(observed_of_kind.get(key, [])).get(manifest["metadata"]["name"])
        if once.needs_apply(manifest, current):
            out.append(once.apply(manifest, current, apply, report))
    return out


async def run_writes(batch: Sequence[WriteCall], report: ApplyReport) -> None:
    """Send the writes at once; a failed one goes into ``report.errors``."""
    results = await asyncio.gather(*(w() for w in batch), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            report.errors.append(describe(result))


def owned_key(namespace: str, job: str) -> str:
    """How the objects of a job name it (its label value): ``namespace/job label``."""
    return f"{namespace}/{names.label_value(job)}"


def job_key(job: InferenceJob) -> str:
    """The key of a job's owned objects in the world (:func:`owned_key`)."""
    return owned_key(job.metadata.namespace or "", job.metadata.name)


def _by_name(entries: Sequence[OwnedEntry]) -> dict[str, OwnedEntry]:
    return {e.name: e for e in entries}
