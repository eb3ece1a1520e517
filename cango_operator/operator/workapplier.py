"""Realising placements at sites in other clusters, through Open Cluster Management.

:class:`ManifestWorkApplier` is the federated :class:`PlanApplier`. Rows at a site whose
``spec.cluster`` names a managed cluster become one ManifestWork per (job, cluster) in
that cluster's namespace on the hub (see :mod:`builders.manifestwork`); the cluster's
work agent runs them there and reports each Deployment's ready replicas back. Rows at
sites of this cluster go to the local applier, unchanged.

The same rules as for Deployments hold: server-side apply, deterministic names, nothing
written when the stamped hash is unchanged, the plan recorded in the job's status before
any work is written (so a restarted operator re-applies the same names, never a second
copy). A ManifestWork cannot be owned by a job of another namespace, so works whose job
is gone are deleted here, by the round (never before the indexes are complete). A work
of an unreachable cluster is left exactly as it is, whatever the plan says, until the
cluster is back (its replicas may be serving; what they do there is the failover
policy's business, see :mod:`partitions`), and its ready counts are not believed
meanwhile. Only the work of a job that is gone is deleted while its cluster is away: it
stays Terminating on the hub and the site keeps running it until it is back, when its
agent tears it down.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cango_operator.api import InferenceJob, JobPlacement, rfc3339
from cango_operator.builders import (
    build_network_policy,
    build_placement_deployment,
    build_service,
    names,
)
from cango_operator.builders.labels import REASSERTED_ANNOTATION
from cango_operator.builders.manifestwork import build_manifestwork
from cango_operator.operator.applier import (
    ApplyReport,
    JobIntent,
    PlanApplier,
    WriteCall,
    WritesOnce,
    job_key,
    owned_key,
)
from cango_operator.operator.kube import KubeWriter, describe
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.projections import WorkEntry
from cango_operator.operator.world import World


class ManifestWorkApplier:
    """ManifestWorks for sites in managed clusters; everything else through ``local``."""

    def __init__(self, writer: KubeWriter, memory: WriteMemory, local: PlanApplier) -> None:
        self._writer = writer
        self._once = WritesOnce(writer, memory)
        self._local = local

    def ready_replicas(self, job: InferenceJob, rows: Sequence[JobPlacement], world: World) -> int:
        local = [r for r in rows if world.cluster_of(r.site) is None]
        total = self._local.ready_replicas(job, local, world) if local else 0
        works = _live_works(world, job_key(job))
        for row in rows:
            cluster = world.cluster_of(row.site)
            if cluster is None or cluster not in works or not world.cluster_reachable(cluster):
                continue
            ready = works[cluster].ready_of(names.deployment_name(job.metadata.name, row.node))
            total += min(ready, row.active_replicas)
        return total

    async def realize(self, intents: Sequence[JobIntent], world: World) -> ApplyReport:
        local_intents = []
        writes: list[WriteCall] = []
        report = ApplyReport()
        for intent in intents:
            local_rows = [r for r in intent.rows if world.cluster_of(r.site) is None]
            remote = [
                r
                for r in intent.rows
                if r.active_replicas > 0 and world.cluster_of(r.site) is not None
            ]
            if local_rows or not remote or world.deployments.get(job_key(intent.job)):
                local_intents.append(JobIntent(intent.job, local_rows))
            writes += self._plan_job(intent.job, remote, world, report)
        writes += self._sweep_orphans(world, report)
        local_report = await self._local.realize(local_intents, world)
        results = await asyncio.gather(*(w() for w in writes), return_exceptions=True)
        for result in results:
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                report.errors.append(describe(result))
        report.applied += local_report.applied
        report.deleted += local_report.deleted
        report.errors += local_report.errors
        return report

    def _plan_job(
        self,
        job: InferenceJob,
        rows: Sequence[JobPlacement],
        world: World,
        report: ApplyReport,
    ) -> list[WriteCall]:
        by_cluster: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            cluster = world.cluster_of(row.site)
            assert cluster is not None
            host = world.host_of(row.node)
            by_cluster[cluster].append(build_placement_deployment(job, row, host=host))
        service = build_service(job) if by_cluster else None
        policy = build_network_policy(job) if by_cluster else None
        observed = {w.cluster: w for w in world.works.get(job_key(job), [])}
        out: list[WriteCall] = []
        for cluster, deployments in sorted(by_cluster.items()):
            assert service is not None and policy is not None
            if not world.cluster_reachable(cluster):
                continue  # frozen until it is back
            current = observed.get(cluster)
            work = build_manifestwork(job, cluster, deployments, service, policy)
            if not self._once.needs_apply(work, current) and current is not None:
                shed = _shed_at_site(deployments, current)
                if shed:
                    # The site's guard scaled these down while the hub was away; the
                    # plan says otherwise: write them again so the agent applies them.
                    stamp = rfc3339(datetime.now(UTC))
                    again = [_reasserted(d, stamp) if d in shed else d for d in deployments]
                    work = build_manifestwork(job, cluster, again, service, policy)
            if self._once.needs_apply(work, current):
                out.append(self._once.apply(work, current, self._writer.apply_work, report))
        for cluster, current in observed.items():
            if cluster in by_cluster or current.deleting or not world.cluster_reachable(cluster):
                continue
            out.append(self._delete(current, report))
        return out

    def _delete(self, work: WorkEntry, report: ApplyReport) -> WriteCall:
        key = ("ManifestWork", work.cluster, work.name)
        return self._once.delete(key, work, self._writer.delete_work, report)

    def _sweep_orphans(self, world: World, report: ApplyReport) -> list[WriteCall]:
        """Delete the works of jobs that are gone or going (no owner reference can do it:
        the work and the job live in different namespaces)."""
        live = {owned_key(e.namespace, e.name) for e in world.jobs.values() if not e.deleting}
        return [
            self._delete(work, report)
            for key, works in world.works.items()
            if key not in live
            for work in works
            if not work.deleting
        ]


def _shed_at_site(deployments: Sequence[dict[str, Any]], work: WorkEntry) -> list[dict[str, Any]]:
    """The Deployments that run fewer replicas at the site than the work says."""
    return [
        d
        for d in deployments
        if work.site_replicas.get(d["metadata"]["name"], d["spec"]["replicas"])
        < d["spec"]["replicas"]
    ]


def _reasserted(deployment: dict[str, Any], stamp: str) -> dict[str, Any]:
    meta = deployment["metadata"]
    annotations = {**(meta.get("annotations") or {}), REASSERTED_ANNOTATION: stamp}
    return {**deployment, "metadata": {**meta, "annotations": annotations}}


def _live_works(world: World, key: str) -> dict[str, WorkEntry]:
    return {w.cluster: w for w in world.works.get(key, []) if not w.deleting}
