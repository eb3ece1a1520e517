"""One consistent read of the operator's indexes, taken at the start of a round.

kopf's indexes change while a round awaits its writes; the round works from this copy so
that every decision in it comes from the same moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cango_operator.api import GpuNode, Site
from cango_operator.builders import GatewayAddress, GatewayRef
from cango_operator.operator.indexes import (
    DEPLOYMENTS,
    GATEWAYS,
    GPUNODES,
    HTTP_ROUTES,
    INFERENCE_POOLS,
    JOBS,
    MANAGED_CLUSTERS,
    NAMESPACES,
    NETWORK_POLICIES,
    NODES,
    SERVICES,
    SITES,
    WORKLOADS,
    WORKS,
)
from cango_operator.operator.projections import (
    ClusterEntry,
    GatewayEntry,
    JobEntry,
    ManagedClusterEntry,
    NamespaceEntry,
    NodeEntry,
    OwnedEntry,
    WorkEntry,
    WorkloadEntry,
)

V = TypeVar("V")


def _values(index: Mapping[Any, Iterable[V]] | None) -> list[V]:
    """Every record of a kopf index (each key holds a store of one or more records)."""
    if index is None:
        return []
    return [value for store in index.values() for value in store]


@dataclass
class World:
    """Jobs by ``namespace/name``; sites, GpuNodes and Nodes by name; owned objects by job."""

    jobs: dict[str, JobEntry] = field(default_factory=dict)
    sites: dict[str, ClusterEntry] = field(default_factory=dict)
    gpunodes: dict[str, ClusterEntry] = field(default_factory=dict)
    nodes: dict[str, NodeEntry] = field(default_factory=dict)
    deployments: dict[str, list[OwnedEntry]] = field(default_factory=dict)
    services: dict[str, list[OwnedEntry]] = field(default_factory=dict)
    network_policies: dict[str, list[OwnedEntry]] = field(default_factory=dict)
    #: Kueue Workloads of jobs' replicas (``--kueue``), by ``namespace/job label value``.
    workloads: dict[str, list[WorkloadEntry]] = field(default_factory=dict)
    #: Jobs' InferencePools and HTTPRoutes (``--gateway``), by ``namespace/job label value``.
    inference_pools: dict[str, list[OwnedEntry]] = field(default_factory=dict)
    http_routes: dict[str, list[OwnedEntry]] = field(default_factory=dict)
    #: Gateways (``--gateway``), by ``namespace/name``.
    gateways: dict[str, GatewayEntry] = field(default_factory=dict)
    #: ManifestWorks by the job they carry (``namespace/job label value``).
    works: dict[str, list[WorkEntry]] = field(default_factory=dict)
    #: A federation's site clusters as OCM's hub sees them, by name.
    managed_clusters: dict[str, ManagedClusterEntry] = field(default_factory=dict)
    #: The tenant of each namespace indexed (see :meth:`tenant_of`).
    tenants: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_indexes(cls, indexes: Mapping[str, Any], *, namespaced: bool = False) -> World:
        """The indexes' records; for an operator limited to some namespaces
        (``namespaced``), only those of namespaces that exist and are not terminating."""
        world = cls()
        namespaces = _values(indexes.get(NAMESPACES))
        world.tenants = {entry.name: entry.tenant for entry in namespaces}
        live = _live_namespaces(namespaces) if namespaced else None
        for job in _values(indexes.get(JOBS)):
            if live is None or job.namespace in live:
                world.jobs[job.key] = job
        for entry in _values(indexes.get(SITES)):
            world.sites[entry.name] = entry
        for entry in _values(indexes.get(GPUNODES)):
            world.gpunodes[entry.name] = entry
        for node in _values(indexes.get(NODES)):
            world.nodes[node.name] = node
        owned_kinds = (
            (DEPLOYMENTS, world.deployments),
            (SERVICES, world.services),
            (NETWORK_POLICIES, world.network_policies),
            (INFERENCE_POOLS, world.inference_pools),
            (HTTP_ROUTES, world.http_routes),
        )
        for index, by_job in owned_kinds:
            for owned in _values(indexes.get(index)):
                if live is None or owned.namespace in live:
                    by_job.setdefault(f"{owned.namespace}/{owned.job}", []).append(owned)
        for gateway in _values(indexes.get(GATEWAYS)):
            world.gateways[gateway.key] = gateway
        for workload in _values(indexes.get(WORKLOADS)):
            key = f"{workload.namespace}/{workload.job}"
            world.workloads.setdefault(key, []).append(workload)
        for work in _values(indexes.get(WORKS)):
            world.works.setdefault(work.job, []).append(work)
        for cluster in _values(indexes.get(MANAGED_CLUSTERS)):
            world.managed_clusters[cluster.name] = cluster
        return world

    def tenant_of(self, namespace: str) -> str:
        """The tenant a namespace's usage is metered to: its ``compute.cango.io/tenant``
        label, else the namespace itself (also while its Namespace is not indexed yet)."""
        return self.tenants.get(namespace, namespace)

    def gateway_address(self, gateway: GatewayRef) -> GatewayAddress | None:
        """Where ``gateway`` listens, as its status says (None: not seen, or no address)."""
        entry = self.gateways.get(str(gateway))
        return entry.address if entry is not None else None

    def valid_sites(self) -> list[Site]:
        return [e.site for e in self.sites.values() if e.site is not None]

    def valid_gpunodes(self) -> list[GpuNode]:
        return [e.gpunode for e in self.gpunodes.values() if e.gpunode is not None]

    def cluster_of(self, site: str) -> str | None:
        """The managed cluster a site runs in (None: this cluster, or no such site)."""
        entry = self.sites.get(site)
        return entry.site.spec.cluster if entry is not None and entry.site is not None else None

    def cluster_reachable(self, cluster: str) -> bool:
        """Whether OCM's hub can reach the managed cluster (its agent keeps its lease)."""
        entry = self.managed_clusters.get(cluster)
        return entry is not None and entry.reachable

    def host_of(self, gpunode: str) -> str:
        """The Kubernetes Node a GpuNode's pods are pinned to (its ``spec.nodeName``;
        the GpuNode's own name when it is unknown)."""
        entry = self.gpunodes.get(gpunode)
        return entry.gpunode.spec.node_name if entry and entry.gpunode else gpunode

    def node_of(self, gpunode: GpuNode) -> NodeEntry | None:
        """The Kubernetes Node of a GpuNode in this cluster, unless it is gone or going
        (None too for a GpuNode of a site in another cluster: its Node is there)."""
        if self.cluster_of(gpunode.spec.site) is not None:
            return None
        node = self.nodes.get(gpunode.spec.node_name)
        return None if node is None or node.deleting else node


def _live_namespaces(namespaces: Iterable[NamespaceEntry]) -> set[str]:
    return {entry.name for entry in namespaces if not entry.terminating}


def is_stale(gpunode: GpuNode, now: datetime, stale_after: float) -> bool:
    """No heartbeat for ``stale_after`` seconds. A node that never reported is not stale:
    it is declared by its site operator and judged by its spec until an agent reports."""
    status = gpunode.status
    if status is None or status.last_heartbeat_time is None:
        return False
    return now - status.last_heartbeat_time > timedelta(seconds=stale_after)
