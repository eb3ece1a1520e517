"""The baseline: each InferenceJob as the plain Deployment a tenant would write without cango.

The Deployment asks for ``gpu.count`` of ``nvidia.com/gpu`` per replica and, like any
careful tenant, keeps to the allowed GPU models through a node-affinity on the model
label. Nothing else: no power, price or latency awareness; kube-scheduler alone decides.
Its only demo-specific line is the node selector that keeps it on the baseline's mirror
fleet (the same sites and GPUs as the operator's, see :mod:`~cango_operator.demo.fleet`),
so both run side by side on one cluster through the same day.

Federated, the baseline is what a user installs for multi-cluster placement without
cango: OCM's own scheduling. Each Deployment goes out in a ManifestWorkReplicaSet whose
Placement picks one site cluster with OCM's default prioritizers (balance and steady: the
cluster with the fewest placements so far, decisions kept once made); kube-scheduler at
that cluster places the pods. One cluster per job keeps the replica count exact (a
replica set applies the same Deployment to every cluster it selects).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cango_operator.demo.fleet import BASELINE_FLEET, FLEET_LABEL, SCENARIO_LABEL
from cango_operator.devcluster.nodes import GPU_MODEL_LABEL, GPU_RESOURCE
from cango_operator.errors import ManifestError

WORLD_LABEL = "demo.cango.io/world"
APP_LABEL = "app.kubernetes.io/name"
#: ``<namespace>/<name>`` of the InferenceJob a baseline Deployment stands in for.
JOB_ANNOTATION = "demo.cango.io/inference-job"
TENANT_PREFIX = "tenant-"
BASELINE_PREFIX = "baseline-"
CLUSTER_API = "cluster.open-cluster-management.io/v1beta1"
CLUSTER_SET_API = "cluster.open-cluster-management.io/v1beta2"
WORK_API = "work.open-cluster-management.io/v1alpha1"
#: OCM's set of every managed cluster (made by its registration controller).
GLOBAL_CLUSTER_SET = "global"


def baseline_namespace(job_namespace: str) -> str:
    """``tenant-acme`` -> ``baseline-acme``; any other namespace gets the prefix."""
    return BASELINE_PREFIX + job_namespace.removeprefix(TENANT_PREFIX)


def build_baseline_deployment(job: Mapping[str, Any]) -> dict[str, Any]:
    """The plain Deployment for an InferenceJob manifest (as the tenant submitted it)."""
    meta = job.get("metadata") or {}
    spec = job.get("spec") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if not name or not namespace:
        raise ManifestError("InferenceJob: metadata.name and metadata.namespace are required")
    container = spec.get("container") or {}
    gpu = spec.get("gpu") or {}
    if not container.get("image"):
        raise ManifestError(f"InferenceJob {namespace}/{name}: spec.container.image is required")
    count = int(gpu.get("count") or 1)
    labels = {APP_LABEL: name, WORLD_LABEL: BASELINE_FLEET}
    scenario = (meta.get("labels") or {}).get(SCENARIO_LABEL)
    if scenario:
        labels[SCENARIO_LABEL] = scenario
    pod_spec: dict[str, Any] = {
        "nodeSelector": {FLEET_LABEL: BASELINE_FLEET},
        "containers": [
            {
                "name": "inference",
                "image": container["image"],
                "args": list(container.get("args") or []),
                "ports": [{"containerPort": int(container.get("port") or 8000)}],
                "resources": {
                    "requests": {GPU_RESOURCE: str(count)},
                    "limits": {GPU_RESOURCE: str(count)},
                },
            }
        ],
    }
    models = list(gpu.get("models") or [])
    if models:
        pod_spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": GPU_MODEL_LABEL, "operator": "In", "values": models}
                            ]
                        }
                    ]
                }
            }
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": baseline_namespace(namespace),
            "labels": labels,
            "annotations": {JOB_ANNOTATION: f"{namespace}/{name}"},
        },
        "spec": {
            "replicas": int(spec.get("replicas") or 1),
            "selector": {"matchLabels": {APP_LABEL: name}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def build_cluster_set_binding(namespace: str) -> dict[str, Any]:
    """Lets Placements in ``namespace`` (on the hub) choose from every site cluster."""
    return {
        "apiVersion": CLUSTER_SET_API,
        "kind": "ManagedClusterSetBinding",
        "metadata": {"name": GLOBAL_CLUSTER_SET, "namespace": namespace},
        "spec": {"clusterSet": GLOBAL_CLUSTER_SET},
    }


def build_ocm_placement(deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Placement (one cluster, default prioritizers) and the ManifestWorkReplicaSet
    that take a baseline Deployment to a site cluster, on the hub in its namespace."""
    meta = deployment["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    placement = {
        "apiVersion": CLUSTER_API,
        "kind": "Placement",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"numberOfClusters": 1, "clusterSets": [GLOBAL_CLUSTER_SET]},
    }
    replica_set = {
        "apiVersion": WORK_API,
        "kind": "ManifestWorkReplicaSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "placementRefs": [{"name": name}],
            "manifestWorkTemplate": {"workload": {"manifests": [dict(deployment)]}},
        },
    }
    return [placement, replica_set]
