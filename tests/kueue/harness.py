"""Tenants sharing GPUs through Kueue on the real API server, for the tests: each test
gets a cohort of its own (so tests never share quota), its tenants' ClusterQueues,
namespaces and LocalQueues, and plays the operator's part towards Kueue: writing one
Workload per replica, and giving back the quota of a Workload Kueue evicts once its
replica is stopped."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

from tests.e2e.harness import wait_for
from tests.kueue import queues

_NAMES = itertools.count()


class Tenants:
    """A cohort whose own ``lend`` GPUs and every tenant's quota add up to its capacity."""

    def __init__(self, api_client: Any, quotas: dict[str, int], lend: int = 0) -> None:
        from kubernetes import client

        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.prefix = f"kq{next(_NAMES)}-{int(time.time()) % 100000}"
        self.cohort = f"{self.prefix}-tenants"
        self._made: list[tuple[str, str | None, str]] = []
        self._create(queues.cohort(self.cohort, lend))
        for tenant, gpus in quotas.items():
            namespace = self.namespace(tenant)
            self.core.create_namespace({"metadata": {"name": namespace}})
            self._made.append(("namespaces", None, namespace))
            self._create(queues.cluster_queue(self.cluster_queue(tenant), self.cohort, gpus))
            self._create(queues.local_queue(namespace, "gpus", self.cluster_queue(tenant)))
        wait_for(
            "the tenants' ClusterQueues Active", lambda: all(map(self._active, quotas)), every=0.2
        )

    def namespace(self, tenant: str) -> str:
        return f"{self.prefix}-{tenant}"

    def cluster_queue(self, tenant: str) -> str:
        return f"{self.prefix}-{tenant}"

    # -- writes (the operator's) ---------------------------------------------------------

    def submit(self, tenant: str, replicas: int, gpus: int, first: int = 0) -> list[str]:
        """One Workload per replica, ``<tenant>-r<i>``, in the tenant's LocalQueue."""
        names = [f"{tenant}-r{i}" for i in range(first, first + replicas)]
        for name in names:
            self._create(queues.replica_workload(self.namespace(tenant), name, "gpus", gpus))
        return names

    def remove(self, tenant: str, names: list[str]) -> None:
        """The replicas are gone: delete their Workloads (their quota with them)."""
        for name in names:
            self.custom.delete_namespaced_custom_object(
                queues.GROUP, queues.VERSION, self.namespace(tenant), "workloads", name
            )

    def give_back_evicted(self) -> list[str]:
        """For each Workload Kueue evicted that still holds its quota: its replica is
        stopped (nothing runs in these tests), so clear the admission, as Kueue's own job
        integrations do after stopping a job. Returns ``namespace/name`` of each."""
        released = []
        for workload in self.all_workloads():
            if queues.evicted_holding_quota(workload):
                self._release(workload)
                meta = workload["metadata"]
                released.append(f"{meta['namespace']}/{meta['name']}")
        return released

    def _release(self, workload: dict[str, Any]) -> None:
        meta = workload["metadata"]
        evicted = queues.condition(workload, "Evicted") or {}
        message = str(evicted.get("message", ""))
        conditions = _with_conditions(
            workload,
            {
                "QuotaReserved": ("False", "Pending", message),
                "Admitted": ("False", "NoReservation", "The workload has no reservation"),
                "Requeued": ("True", str(evicted.get("reason", "Preempted")), message),
            },
        )
        # A merge patch replaces the whole condition list; the resourceVersion makes it
        # fail rather than overwrite a change Kueue made since the read.
        patch = {
            "metadata": {"resourceVersion": meta["resourceVersion"]},
            "status": {"admission": None, "conditions": conditions},
        }
        self.custom.patch_namespaced_custom_object_status(
            queues.GROUP, queues.VERSION, meta["namespace"], "workloads", meta["name"], patch
        )

    # -- reads ---------------------------------------------------------------------------

    def workloads(self, tenant: str) -> dict[str, dict[str, Any]]:
        listed: dict[str, Any] = self.custom.list_namespaced_custom_object(
            queues.GROUP, queues.VERSION, self.namespace(tenant), "workloads"
        )
        return {w["metadata"]["name"]: w for w in listed["items"]}

    def all_workloads(self) -> list[dict[str, Any]]:
        listed: dict[str, Any] = self.custom.list_cluster_custom_object(
            queues.GROUP, queues.VERSION, "workloads"
        )
        mine = f"{self.prefix}-"
        return [w for w in listed["items"] if w["metadata"]["namespace"].startswith(mine)]

    def admitted(self, tenant: str) -> list[str]:
        return sorted(n for n, w in self.workloads(tenant).items() if queues.holds_quota(w))

    def states(self) -> dict[str, str]:
        """Each Workload's ``namespace/name``: its QuotaReserved reason, and Evicted."""
        found = {}
        for workload in self.all_workloads():
            meta = workload["metadata"]
            reserved = queues.condition(workload, "QuotaReserved") or {}
            state = str(reserved.get("reason", "new"))
            if queues.is_true(workload, "Evicted"):
                state += ", Evicted"
            found[f"{meta['namespace']}/{meta['name']}"] = state
        return found

    def queue(self, tenant: str) -> dict[str, Any]:
        got: dict[str, Any] = self.custom.get_cluster_custom_object(
            queues.GROUP, queues.VERSION, "clusterqueues", self.cluster_queue(tenant)
        )
        return got

    def usage(self, tenant: str) -> queues.Usage:
        return queues.gpu_reservation(self.queue(tenant))

    def weighted_share(self, tenant: str) -> int:
        """Kueue's measure of how far the tenant borrows beyond its quota (fair sharing
        evens it out between the tenants of a cohort)."""
        fair = (self.queue(tenant).get("status") or {}).get("fairSharing") or {}
        return int(fair.get("weightedShare", 0))

    def _active(self, tenant: str) -> bool:
        return queues.is_true(self.queue(tenant), "Active")

    # -- lifecycle -----------------------------------------------------------------------

    def _create(self, obj: dict[str, Any]) -> None:
        plural = obj["kind"].lower() + "s"
        meta = obj["metadata"]
        if "namespace" in meta:
            self.custom.create_namespaced_custom_object(
                queues.GROUP, queues.VERSION, meta["namespace"], plural, obj
            )
            return
        self.custom.create_cluster_custom_object(queues.GROUP, queues.VERSION, plural, obj)
        self._made.append((plural, None, meta["name"]))

    def cleanup(self) -> None:
        """Delete the namespaces (their LocalQueues and Workloads with them), then the
        ClusterQueues and the cohort."""
        for plural, _, name in reversed(self._made):
            if plural == "namespaces":
                self.core.delete_namespace(name)
            else:
                self.custom.delete_cluster_custom_object(queues.GROUP, queues.VERSION, plural, name)


def _with_conditions(
    obj: dict[str, Any], changes: dict[str, tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """``obj``'s conditions with those in ``changes`` (type: status, reason, message) set
    or added, their transition time now."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    generation = obj["metadata"].get("generation", 1)
    result = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
    for kind, (status, reason, message) in changes.items():
        result[kind] = {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }
    return list(result.values())
