"""Where the demo's objects live: one cluster, or a hub and a cluster per region.

Single cluster: everything in the operator's own cluster, as a first install has it.

Federated (the default): a hub holds the Sites, GpuNodes and InferenceJobs, runs the
operator and, for the baseline, OCM's placement; each region's sites run in a site
cluster of their own (kwok Nodes, kube-scheduler, OCM's agent), joined to the hub through
Open Cluster Management. The operator's replicas reach a site cluster as ManifestWorks;
the simulated node agents report their GpuNodes to the hub and read their Nodes at their
site; the storms taint the Nodes where they are.

:class:`DemoClusters` gives the rest of the demo one :class:`~.kube.DemoKube` per cluster
and reads a sample from all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cango_operator.demo.fleet import DemoNode
from cango_operator.demo.kube import DemoKube
from cango_operator.demo.samples import CLUSTER_FIELD, ClusterObjects
from cango_operator.demo.scenario import Scenario
from cango_operator.devcluster import LocalCluster

#: The member name of the only cluster of the single-cluster demo.
OWN_CLUSTER = ""


class DemoClusters:
    """The hub (or the only cluster) and the site clusters, each with a client of its own."""

    def __init__(
        self,
        scenario: Scenario,
        hub: LocalCluster,
        members: Mapping[str, LocalCluster],
        new_client: Callable[[LocalCluster], Any],
    ) -> None:
        """``members``: site cluster name -> cluster; empty for the single-cluster demo."""
        self.hub = hub
        self.federated = bool(members)
        self.clusters: dict[str, LocalCluster] = dict(members) or {OWN_CLUSTER: hub}
        self.hub_client = new_client(hub)
        self.clients = {
            name: self.hub_client if cluster is hub else new_client(cluster)
            for name, cluster in self.clusters.items()
        }
        self.hub_kube = DemoKube(self.hub_client, scenario.name)
        self.kubes = {
            name: self.hub_kube if client is self.hub_client else DemoKube(client, scenario.name)
            for name, client in self.clients.items()
        }
        self._site_member = {
            site.name: site.cluster_name if self.federated else OWN_CLUSTER
            for site in scenario.sites
        }

    def member_of(self, node: DemoNode) -> str:
        """The cluster the node's site runs in."""
        return self._site_member[node.site]

    def kube_of(self, node: DemoNode) -> DemoKube:
        return self.kubes[self.member_of(node)]

    def by_member(self, nodes: Iterable[DemoNode]) -> dict[str, list[DemoNode]]:
        grouped: dict[str, list[DemoNode]] = {}
        for node in nodes:
            grouped.setdefault(self.member_of(node), []).append(node)
        return grouped

    def read_objects(self) -> ClusterObjects:
        """One sample: the custom objects from the hub, the workloads from every cluster,
        every list read at the same time."""
        if not self.federated:
            return self.hub_kube.read_objects()
        hub = self.hub_kube.submit_reads(custom=True, workloads=False, replica_sets=True)
        members = {
            name: kube.submit_reads(custom=False, workloads=True)
            for name, kube in self.kubes.items()
        }
        workloads: dict[str, list[dict[str, Any]]] = {"deployments": [], "pods": [], "nodes": []}
        for name, futures in members.items():
            for kind, future in futures.items():
                items = future.result()
                if kind != "nodes":
                    for item in items:
                        item[CLUSTER_FIELD] = name
                workloads[kind] += items
        return ClusterObjects(**{kind: f.result() for kind, f in hub.items()}, **workloads)

    def close(self) -> None:
        """Close every client once (the single-cluster demo's hub is also its member)."""
        for kube in {id(k): k for k in [self.hub_kube, *self.kubes.values()]}.values():
            kube.close()
        for client in {id(c): c for c in [self.hub_client, *self.clients.values()]}.values():
            client.close()
