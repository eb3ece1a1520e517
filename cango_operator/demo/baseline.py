"""The baseline: each InferenceJob as the plain Deployment a tenant would write without cango.

The Deployment asks for ``gpu.count`` of ``nvidia.com/gpu`` per replica and, like any
careful tenant, keeps to the allowed GPU models through a node-affinity on the model
label. Nothing else: no power, price or latency awareness; kube-scheduler alone decides.
Its only demo-specific line is the node selector that keeps it on the baseline's mirror
fleet (the same sites and GPUs as the operator's, see :mod:`~cango_operator.demo.fleet`),
so both run side by side on one cluster through the same day.
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
