"""A job's endpoint: its InferencePool and HTTPRoute on the operator's gateway
(``--gateway``), written for every job that asks (``spec.endpoint``).

Written in the cluster the operator runs in, beside the job, whatever the applier of its
workloads (in a federation: on the hub; which cluster's gateway routes to the sites'
replicas is the next step, docs/endpoints.md). Written with the rules of every applier
(:class:`~cango_operator.operator.applier.WritesOnce`): server-side apply, never again
while the stamped hash is unchanged. Nothing is deleted here: both are owned by the job,
so the garbage collector removes them with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cango_operator.api import InferenceJob
from cango_operator.builders import GatewayRef, build_http_route, build_inference_pool
from cango_operator.operator.applier import (
    ApplyReport,
    OnePerJob,
    WriteCall,
    WritesOnce,
    job_key,
    one_per_job_writes,
    run_writes,
)
from cango_operator.operator.kube import KubeWriter
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.world import World


class EndpointApplier:
    """The InferencePools and HTTPRoutes of the jobs that ask for an endpoint."""

    def __init__(self, writer: KubeWriter, memory: WriteMemory, gateway: GatewayRef) -> None:
        self._writer = writer
        self._once = WritesOnce(writer, memory)
        self.gateway = gateway

    async def realize(self, jobs: Sequence[InferenceJob], world: World) -> ApplyReport:
        report = ApplyReport()
        writes: list[WriteCall] = []
        writer = self._writer
        for job in jobs:
            if job.spec.endpoint is None:
                continue
            pool = build_inference_pool(job)
            route = build_http_route(job, self.gateway)
            objects: list[OnePerJob] = [
                (pool, world.inference_pools, writer.apply_inference_pool),
                (route, world.http_routes, writer.apply_http_route),
            ]
            writes += one_per_job_writes(self._once, job_key(job), objects, report)
        await run_writes(writes, report)
        return report
