"""Running the operator: wire credentials, writer, planner and registry, then hand the
event loop to kopf until a signal stops it."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import replace

import kopf

from cango_operator.operator.applier import KubernetesApplier, PlanApplier
from cango_operator.operator.connection import api_client, load_configuration, make_login_handler
from cango_operator.operator.federation import check_work_api
from cango_operator.operator.handlers import Runtime
from cango_operator.operator.httpserver import start_http
from cango_operator.operator.kube import KubeWriter
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.options import OperatorOptions
from cango_operator.operator.peering import ensure_peering
from cango_operator.operator.planner import Planner
from cango_operator.operator.registry import build_registry
from cango_operator.operator.round import PlanFn, Reconciler
from cango_operator.operator.sitepower import SitePowerFeeds
from cango_operator.operator.workapplier import ManifestWorkApplier
from cango_operator.placement import (
    DEFAULT_BUDGET,
    ImprovementBudget,
    Plan,
    Snapshot,
    plan,
    plan_with_power_caps,
)

logger = logging.getLogger(__name__)


def _literal(namespace: str) -> bool:
    """A namespace name rather than a glob pattern."""
    return not any(c in namespace for c in "*?[!")


def run(options: OperatorOptions) -> None:
    """Run until SIGINT/SIGTERM (kopf handles both and exits cleanly)."""
    # kopf logs every handler call at INFO; ours run on every watch event and only
    # request a round, so that would be a line per event. Failures still show.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    asyncio.run(run_async(options))


async def run_async(options: OperatorOptions, stop: asyncio.Event | None = None) -> None:
    cfg, in_cluster = load_configuration(options.kubeconfig)
    api = api_client(cfg, options.write_concurrency)
    if options.federation:
        await asyncio.to_thread(check_work_api, api)
    if options.peering is not None:
        # A namespaced operator meets its peers in a KopfPeering in each of its namespaces.
        places = [None] if options.clusterwide else [n for n in options.namespaces if _literal(n)]
        for where in places:
            await asyncio.to_thread(ensure_peering, api, options.peering, where)
    writer = KubeWriter(api, options.write_concurrency)
    memory = WriteMemory()
    feeds = SitePowerFeeds(writer, api, os.environ.get("POD_NAMESPACE"))
    applier: PlanApplier = KubernetesApplier(writer, memory)
    if options.federation:
        applier = ManifestWorkApplier(writer, memory, applier)
    reconciler = Reconciler(
        writer,
        applier,
        memory,
        planner_with(improvement_budget(options.improvement_max_pairs)),
        node_stale_seconds=options.node_stale_seconds,
        feeds=feeds,
        usage_interval_seconds=options.usage_interval_seconds,
        federated=options.federation,
        namespaced=not options.clusterwide,
        kueue=options.kueue,
        gateway=options.gateway,
    )
    planner = Planner(reconciler, debounce=options.debounce_seconds)
    rt = Runtime(options=options, planner=planner, reconciler=reconciler, feeds=feeds)
    registry = build_registry(options, make_login_handler(cfg, in_cluster))
    http = None
    if options.metrics_port is not None:
        http = await start_http(options.metrics_host, options.metrics_port, rt.ready)
    try:
        await kopf.operator(
            registry=registry,
            settings=kopf.OperatorSettings(),
            memo=kopf.Memo(runtime=rt),
            clusterwide=options.clusterwide,
            namespaces=list(options.namespaces),
            standalone=options.standalone,
            peering_name=options.peering,
            priority=options.priority,
            liveness_endpoint=options.liveness,
            stop_flag=stop,
        )
    finally:
        await feeds.deactivate()
        await planner.stop()
        if http is not None:
            await http.cleanup()
        writer.close()
        api.close()


def improvement_budget(max_pairs: int | None) -> ImprovementBudget:
    """The engine's budget with ``max_pairs`` (None: its default)."""
    return DEFAULT_BUDGET if max_pairs is None else replace(DEFAULT_BUDGET, max_pairs=max_pairs)


def planner_with(budget: ImprovementBudget) -> PlanFn:
    """The round's planning function: the engine with ``budget`` for its improvement
    stage, under the GPU power caps rule."""

    def plan_fn(snapshot: Snapshot) -> Plan:
        return plan_with_power_caps(snapshot, lambda s: plan(s, budget=budget))

    return plan_fn
