"""Kueue's objects as the operator will write them, and reads of what Kueue writes back.

A tenant is a ClusterQueue (its GPU quota, in a cohort with the other tenants) and a
LocalQueue in the tenant's namespace; each InferenceJob replica is one Workload there,
one podSet of count 1 asking for the replica's GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GROUP = "kueue.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = f"{GROUP}/{VERSION}"
GPU = "nvidia.com/gpu"
#: The one flavor of the tests: every GPU alike (a family per flavor is the same shape).
FLAVOR = "gpu"
#: The podSet name of a replica's Workload (Kueue's default name).
PODSET = "main"


def resource_flavor(name: str = FLAVOR) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "ResourceFlavor", "metadata": {"name": name}}


def _gpu_quota(nominal: int) -> list[dict[str, Any]]:
    return [
        {
            "coveredResources": [GPU],
            "flavors": [{"name": FLAVOR, "resources": [{"name": GPU, "nominalQuota": nominal}]}],
        }
    ]


def cohort(name: str, gpus: int = 0) -> dict[str, Any]:
    """A cohort; ``gpus`` it owns itself and lends to its members (none of theirs)."""
    spec: dict[str, Any] = {"resourceGroups": _gpu_quota(gpus)} if gpus else {}
    return {"apiVersion": API_VERSION, "kind": "Cohort", "metadata": {"name": name}, "spec": spec}


def cluster_queue(name: str, cohort_name: str, gpus: int) -> dict[str, Any]:
    """A tenant's quota: ``gpus`` of its own, lent when idle, reclaimed when it asks."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": name},
        "spec": {
            "cohortName": cohort_name,
            "namespaceSelector": {},
            "queueingStrategy": "BestEffortFIFO",
            "resourceGroups": _gpu_quota(gpus),
            "preemption": {
                "reclaimWithinCohort": "Any",
                "withinClusterQueue": "LowerPriority",
            },
        },
    }


def local_queue(namespace: str, name: str, cluster_queue_name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterQueue": cluster_queue_name},
    }


def replica_workload(namespace: str, name: str, queue: str, gpus: int) -> dict[str, Any]:
    """One replica: one podSet, count 1, ``gpus`` GPUs. The pod template only states
    the requests Kueue counts (Kueue never creates the pod; the operator places it)."""
    container = {"name": "replica", "resources": {"requests": {GPU: gpus}}}
    return {
        "apiVersion": API_VERSION,
        "kind": "Workload",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "queueName": queue,
            "podSets": [
                {
                    "name": PODSET,
                    "count": 1,
                    "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
                }
            ],
        },
    }


# -- what Kueue writes -----------------------------------------------------------------


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def is_true(obj: dict[str, Any], kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def holds_quota(workload: dict[str, Any]) -> bool:
    """QuotaReserved and Admitted (no admission checks here, so they go together)."""
    return is_true(workload, "QuotaReserved") and is_true(workload, "Admitted")


def evicted_holding_quota(workload: dict[str, Any]) -> bool:
    """Evicted by Kueue, the quota not yet given back (the operator's to do)."""
    return is_true(workload, "Evicted") and is_true(workload, "QuotaReserved")


@dataclass(frozen=True)
class Usage:
    """A ClusterQueue's GPUs reserved (``total``) and of those borrowed."""

    total: int
    borrowed: int


def gpu_reservation(queue: dict[str, Any]) -> Usage:
    for flavor in (queue.get("status") or {}).get("flavorsReservation") or []:
        if flavor.get("name") != FLAVOR:
            continue
        for resource in flavor.get("resources") or []:
            if resource.get("name") == GPU:
                return Usage(int(resource.get("total", 0)), int(resource.get("borrowed", 0)))
    return Usage(0, 0)
