"""An in-memory fleet for testing the round's decisions without an API server.

Objects are the bodies the API server would hold; the world is built from them with the
operator's own index functions, and status writes are merged back as merge patches.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cango_operator.builders import GatewayRef
from cango_operator.builders.events import EventRecord
from cango_operator.operator import indexes
from cango_operator.operator.decide import Decision
from cango_operator.operator.decide import decide as decide_round
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.projections import AVAILABLE_CONDITION
from cango_operator.operator.statuses import (
    POWER_CAP_KIND,
)
from cango_operator.operator.world import World
from cango_operator.operator.writes import Write
from cango_operator.placement import plan_with_power_caps

API = "compute.cango.io/v1alpha1"


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class Fleet:
    """``namespaced``: as an operator limited to some namespaces sees it, where only the
    objects of the Namespaces added (with :meth:`namespace`) count."""

    def __init__(self, *, namespaced: bool = False) -> None:
        self.bodies: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._rv = 100
        self.namespaced = namespaced

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def add(self, kind: str, body: dict[str, Any]) -> None:
        meta = body.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self._next_rv()
        self.bodies[(kind, meta.get("namespace", ""), meta["name"])] = body

    def site(self, name: str, region: str = "north-america", **extra: Any) -> None:
        spec = {
            "region": region,
            "power": {"capacityKw": 1000, "reserveKw": 50, "pue": 1.2},
            "mining": {"loadKw": 500, "curtailableKw": 200},
            "latencyMs": {"north-america": 20 if region == "north-america" else 150},
        }
        merge(spec, extra)
        self.add(
            "Site", {"apiVersion": API, "kind": "Site", "metadata": {"name": name}, "spec": spec}
        )

    def gpu_node(
        self,
        name: str,
        site: str,
        count: int = 8,
        node: bool = True,
        status: dict[str, Any] | None = None,
        *,
        labels: dict[str, str] | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "apiVersion": API,
            "kind": "GpuNode",
            "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": {
                "site": site,
                "nodeName": name,
                "gpu": {"model": "H100-80GB", "count": count, "memoryMiB": 81559, "maxPowerW": 700},
            },
        }
        if status is not None:
            body["status"] = status
        self.add("GpuNode", body)
        if node:
            self.add(
                "Node",
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": name},
                    "spec": {},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                },
            )

    def job(self, name: str, replicas: int = 2, namespace: str = "t", **extra: Any) -> None:
        spec: dict[str, Any] = {
            "replicas": replicas,
            "container": {"image": "img:1", "port": 8000},
            "gpu": {"count": 1},
        }
        merge(spec, extra)
        self.add(
            "InferenceJob",
            {
                "apiVersion": API,
                "kind": "InferenceJob",
                "metadata": {"name": name, "namespace": namespace},
                "spec": spec,
            },
        )

    def namespace(
        self, name: str, *, terminating: bool = False, labels: dict[str, str] | None = None
    ) -> None:
        meta: dict[str, Any] = {"name": name, "labels": labels or {}}
        if terminating:
            meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        self.add("Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    def managed_cluster(self, name: str, available: str, since: str) -> None:
        """OCM's ManagedCluster on the hub, its availability as the lease controller says."""
        condition = {
            "type": AVAILABLE_CONDITION,
            "status": available,
            "reason": "ManagedClusterLeaseUpdateStopped" if available == "Unknown" else "Ok",
            "message": "",
            "lastTransitionTime": since,
        }
        self.add(
            "ManagedCluster",
            {"metadata": {"name": name}, "status": {"conditions": [condition]}},
        )

    def gateway(self, namespace: str, name: str, *, address: str = "", port: int = 80) -> None:
        """A Gateway with one HTTP listener, and ``address`` in its status once its
        controller has written one ("" : none yet)."""
        body: dict[str, Any] = {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "gatewayClassName": "envoy",
                "listeners": [{"name": "http", "protocol": "HTTP", "port": port}],
            },
        }
        if address:
            body["status"] = {"addresses": [{"type": "IPAddress", "value": address}]}
        self.add("Gateway", body)

    def delete(self, kind: str, name: str, namespace: str = "") -> None:
        del self.bodies[(kind, namespace, name)]

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
        return self.bodies[(kind, namespace, name)]

    async def world(self) -> World:
        return World.from_indexes(await self.indexes(), namespaced=self.namespaced)

    async def indexes(self) -> dict[str, dict[Any, list[Any]]]:
        """The indexes kopf would hold for these objects (the operator's own functions)."""
        fns: dict[str, tuple[str, Callable[..., Awaitable[Mapping[Any, Any]]]]] = {
            "InferenceJob": (indexes.JOBS, indexes.index_job),
            "Site": (indexes.SITES, indexes.index_site),
            "GpuNode": (indexes.GPUNODES, indexes.index_gpunode),
            "Node": (indexes.NODES, indexes.index_node),
            "ManifestWork": (indexes.WORKS, indexes.index_work),
            "Namespace": (indexes.NAMESPACES, indexes.index_namespace),
            "ManagedCluster": (indexes.MANAGED_CLUSTERS, indexes.index_managed_cluster),
            "Gateway": (indexes.GATEWAYS, indexes.index_gateway),
        }
        idx: dict[str, dict[Any, list[Any]]] = {name: {} for name, _ in fns.values()}
        for (kind, _, _), body in self.bodies.items():
            name, fn = fns[kind]
            for key, value in (await fn(copy.deepcopy(body))).items():
                idx[name].setdefault(key, []).append(value)
        return idx

    def apply(self, writes: Iterable[Write]) -> None:
        for w in writes:
            if w.kind == POWER_CAP_KIND:
                body = self.get("GpuNode", w.name)
                merge(body["metadata"].setdefault("annotations", {}), w.body)
                body["metadata"]["resourceVersion"] = self._next_rv()
                continue
            body = self.get(w.kind, w.name, w.namespace or "")
            if w.kind == "Node":
                merge(body, w.body)
            else:
                merge(body.setdefault("status", {}), w.body)
            body["metadata"]["resourceVersion"] = self._next_rv()


class Round:
    """One round's decisions, made by the operator's own :func:`decide`."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.view = decision.view
        self.federated = decision.federated
        self.plan = decision.plan
        self.decisions = decision.jobs
        self.jobs = {d.key: d for d in decision.jobs}
        self.held = decision.held

    def events(self) -> list[EventRecord]:
        """The Events the round posts about jobs (operator.events)."""
        return self.decision.events

    def writes(self) -> list[Write]:
        return [*self.decision.record_writes(), *self.decision.fleet_writes()]


async def decide(
    fleet: Fleet,
    memory: WriteMemory | None = None,
    *,
    ready: int = 0,
    stale_after: float = 60.0,
    now: datetime | None = None,
    federated: bool = False,
    gateway: GatewayRef | None = None,
) -> Round:
    return Round(
        decide_round(
            await fleet.world(),
            memory or WriteMemory(),
            now or datetime.now(UTC),
            plan_fn=plan_with_power_caps,
            ready=lambda job, rows: min(ready, sum(r.active_replicas for r in rows)),
            node_stale_seconds=stale_after,
            federated=federated,
            gateway=gateway,
        )
    )
