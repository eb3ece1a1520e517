"""The operator's kopf registry, built explicitly (no import-time decorators), so that
tests and embedders can build as many operators as they like in one process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from cango_operator.api import GROUP, VERSION
from cango_operator.builders.httproute import (
    GATEWAY_GROUP,
    GATEWAY_PLURAL,
    GATEWAY_VERSION,
    HTTP_ROUTE_PLURAL,
)
from cango_operator.builders.inferencepool import (
    INFERENCE_GROUP,
    INFERENCE_POOL_PLURAL,
    INFERENCE_VERSION,
)
from cango_operator.builders.labels import MANAGED_BY, MANAGED_BY_LABEL
from cango_operator.builders.workload import WORKLOAD_GROUP, WORKLOAD_PLURAL, WORKLOAD_VERSION
from cango_operator.operator import handlers, indexes
from cango_operator.operator.kube import (
    CLUSTER_GROUP,
    CLUSTER_VERSION,
    WORK_GROUP,
    WORK_VERSION,
)
from cango_operator.operator.options import OperatorOptions

MANAGED = {MANAGED_BY_LABEL: MANAGED_BY}


def build_registry(options: OperatorOptions, login: Callable[..., Any]) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(login)
    kopf.on.startup(registry=registry)(handlers.on_startup)
    kopf.on.cleanup(registry=registry)(handlers.on_cleanup)
    kopf.on.probe(registry=registry, id="planner")(handlers.on_probe)

    watched: list[tuple[tuple[str, ...], str, Callable[..., Any], dict[str, Any]]] = [
        ((GROUP, VERSION, "inferencejobs"), indexes.JOBS, indexes.index_job, {}),
        ((GROUP, VERSION, "sites"), indexes.SITES, indexes.index_site, {}),
        ((GROUP, VERSION, "gpunodes"), indexes.GPUNODES, indexes.index_gpunode, {}),
        (("", "v1", "nodes"), indexes.NODES, indexes.index_node, {}),
        (("apps", "v1", "deployments"), indexes.DEPLOYMENTS, indexes.index_deployment, MANAGED),
        (("", "v1", "services"), indexes.SERVICES, indexes.index_service, MANAGED),
        (
            ("networking.k8s.io", "v1", "networkpolicies"),
            indexes.NETWORK_POLICIES,
            indexes.index_network_policy,
            MANAGED,
        ),
        # The tenant label of each namespace; and, for an operator limited to some
        # namespaces, which are terminating (kopf drops one without the DELETED events
        # of what was in it).
        (("", "v1", "namespaces"), indexes.NAMESPACES, indexes.index_namespace, {}),
    ]
    if options.kueue:
        workloads = (WORKLOAD_GROUP, WORKLOAD_VERSION, WORKLOAD_PLURAL)
        watched.append((workloads, indexes.WORKLOADS, indexes.index_workload, MANAGED))
    if options.gateway is not None:
        # A job's endpoint: its InferencePool and HTTPRoute, and the Gateways' addresses
        # (few objects; the round reads the one of --gateway).
        pools = (INFERENCE_GROUP, INFERENCE_VERSION, INFERENCE_POOL_PLURAL)
        routes = (GATEWAY_GROUP, GATEWAY_VERSION, HTTP_ROUTE_PLURAL)
        gateways = (GATEWAY_GROUP, GATEWAY_VERSION, GATEWAY_PLURAL)
        watched.append((pools, indexes.INFERENCE_POOLS, indexes.index_inference_pool, MANAGED))
        watched.append((routes, indexes.HTTP_ROUTES, indexes.index_http_route, MANAGED))
        watched.append((gateways, indexes.GATEWAYS, indexes.index_gateway, {}))
    if options.federation:
        work = (WORK_GROUP, WORK_VERSION, "manifestworks")
        watched.append((work, indexes.WORKS, indexes.index_work, MANAGED))
        clusters = (CLUSTER_GROUP, CLUSTER_VERSION, "managedclusters")
        watched.append((clusters, indexes.MANAGED_CLUSTERS, indexes.index_managed_cluster, {}))
    for (group, version, plural), name, index_fn, labels in watched:
        filters: dict[str, Any] = {"labels": labels} if labels else {}
        kopf.index(group, version, plural, id=name, registry=registry, **filters)(index_fn)
        kopf.on.event(group, version, plural, id=f"{plural}-changed", registry=registry, **filters)(
            handlers.on_change
        )

    if not options.standalone:
        plural = "clusterkopfpeerings" if options.clusterwide else "kopfpeerings"
        kopf.on.event("kopf.dev", "v1", plural, id="peering-keepalive", registry=registry)(
            handlers.on_peering
        )
    return registry
