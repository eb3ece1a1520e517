"""The Deployment that runs a job's replicas on one decided node.

One Deployment per (job, node) placement line rather than per (job, site): the scheduler
then has exactly one node to choose for these pods, so every node receives exactly the
replica count the plan gave it (a site-wide Deployment lets the scheduler pack pods onto
a node the plan kept free for another job, leaving that job's pod Pending), and moving
replicas off one node never restarts the healthy ones on the others (their pod template
does not change).

Pods are pinned by node name (``matchFields`` on ``metadata.name``, exact even where a
Node's ``kubernetes.io/hostname`` label differs from its name), request their GPUs as
``nvidia.com/gpu``, tolerate the GPU taint, and meet the *restricted* Pod Security
Standard.
"""

from __future__ import annotations

from typing import Any

from cango_operator.api import API_VERSION, ContainerSpec, EnvVar, InferenceJob, JobPlacement
from cango_operator.builders import names
from cango_operator.builders.hashing import stamp
from cango_operator.builders.labels import (
    COMPONENT_LABEL,
    GPU_RESOURCE,
    GPU_TAINT_KEY,
    GPUNODE_ANNOTATION,
    JOB_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    NODE_LABEL,
    PREEMPTIBLE_ANNOTATION,
    PRIORITY_ANNOTATION,
    REPLICA_POWER_ANNOTATION,
    SITE_LABEL,
)

CONTAINER_NAME = "inference"
PORT_NAME = "http"


def owner_reference(job: InferenceJob) -> dict[str, Any]:
    """The job as controlling owner: deleting the job deletes the object (and its pods)."""
    if not job.metadata.uid:
        raise ValueError(f"InferenceJob {job.metadata.name}: metadata.uid is required to own")
    return {
        "apiVersion": API_VERSION,
        "kind": job.KIND,
        "name": job.metadata.name,
        "uid": job.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def job_labels(job: InferenceJob) -> dict[str, str]:
    """Labels every object of the job carries; the Service selects pods by the first."""
    return {
        JOB_LABEL: names.label_value(job.metadata.name),
        NAME_LABEL: names.label_value(job.metadata.name),
        COMPONENT_LABEL: "inference",
        MANAGED_BY_LABEL: MANAGED_BY,
    }


def job_object_meta(job: InferenceJob) -> dict[str, Any]:
    """The metadata of the job's one-per-job objects (its Service, its NetworkPolicy):
    named as the Service, in the job's namespace, labelled and owned by the job."""
    return {
        "name": names.service_name(job.metadata.name),
        "namespace": job.metadata.namespace,
        "labels": job_labels(job),
        "ownerReferences": [owner_reference(job)],
    }


def selector(job: InferenceJob) -> str:
    """The label selector of all the job's pods, as a string (``status.selector``)."""
    return f"{JOB_LABEL}={names.label_value(job.metadata.name)}"


def build_deployment(
    job: InferenceJob,
    site: str,
    node: str,
    replicas: int,
    *,
    host: str | None = None,
    replica_power_w: float | None = None,
) -> dict[str, Any]:
    """The Deployment of ``replicas`` replicas of ``job`` on GPU node ``node`` at ``site``,
    its pods pinned to the Kubernetes Node ``host`` (the GpuNode's ``spec.nodeName``;
    by default the same name). ``replica_power_w``: the power the plan commits for one
    replica (W, before PUE), written down for the site's guard."""
    if replicas < 0:
        raise ValueError(f"replicas must be >= 0, got {replicas}")
    labels = {
        **job_labels(job),
        SITE_LABEL: names.label_value(site),
        NODE_LABEL: names.label_value(node),
    }
    match = {JOB_LABEL: labels[JOB_LABEL], NODE_LABEL: labels[NODE_LABEL]}
    manifest: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": names.deployment_name(job.metadata.name, node),
            "namespace": job.metadata.namespace,
            "labels": labels,
            "annotations": shed_annotations(job, node, replica_power_w),
            "ownerReferences": [owner_reference(job)],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": match},
            "revisionHistoryLimit": 2,
            # The node's GPUs are all accounted for, so a rollout cannot surge: it
            # replaces one pod at a time instead.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(job, host or node),
            },
        },
    }
    return stamp(manifest)


def build_placement_deployment(
    job: InferenceJob, row: JobPlacement, *, host: str | None = None
) -> dict[str, Any]:
    """:func:`build_deployment` of one line of the job's plan, with its power: the
    replicas placed there and not held for the meter."""
    return build_deployment(
        job,
        row.site,
        row.node,
        row.active_replicas,
        host=host,
        replica_power_w=replica_power_w(row.power_w, row.replicas),
    )


def shed_annotations(job: InferenceJob, node: str, replica_power_w: float | None) -> dict[str, str]:
    """What a site's guard reads to stop replicas in the engine's order without the hub
    (on the Deployment only: the pod template, and so the pods, stay as they are)."""
    out = {
        PRIORITY_ANNOTATION: str(job.spec.priority),
        PREEMPTIBLE_ANNOTATION: "true" if job.spec.preemptible else "false",
        GPUNODE_ANNOTATION: node,
    }
    if replica_power_w is not None:
        watts = round(float(replica_power_w), 1)
        out[REPLICA_POWER_ANNOTATION] = str(int(watts)) if watts.is_integer() else str(watts)
    return out


def replica_power_w(power_w: float | None, replicas: int) -> float | None:
    """One replica's share of a placement line's committed power, when it is known."""
    return power_w / replicas if power_w is not None and replicas > 0 else None


def _pod_spec(job: InferenceJob, node: str) -> dict[str, Any]:
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": [node]}
                            ]
                        }
                    ]
                }
            }
        },
        "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [_container(job.spec.container, job.spec.gpu.count)],
    }


def _container(spec: ContainerSpec, gpus: int) -> dict[str, Any]:
    requests: dict[str, str] = {GPU_RESOURCE: str(gpus)}
    limits: dict[str, str] = {GPU_RESOURCE: str(gpus)}
    if spec.resources is not None:
        if spec.resources.cpu is not None:
            requests["cpu"] = str(spec.resources.cpu)
        if spec.resources.memory is not None:
            # Memory limited to the request: an inference server that outgrows it should
            # be restarted, not take its neighbours' memory.
            requests["memory"] = limits["memory"] = str(spec.resources.memory)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "ports": [{"name": PORT_NAME, "containerPort": spec.port, "protocol": "TCP"}],
        "resources": {"requests": requests, "limits": limits},
        "readinessProbe": {"tcpSocket": {"port": PORT_NAME}, "periodSeconds": 10},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if spec.command:
        container["command"] = list(spec.command)
    if spec.args:
        container["args"] = list(spec.args)
    if spec.env:
        container["env"] = [_env(e) for e in spec.env]
    return container


def _env(var: EnvVar) -> dict[str, Any]:
    if var.value_from is not None:
        ref = var.value_from.secret_key_ref
        return {"name": var.name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
    return {"name": var.name, "value": var.value or ""}
