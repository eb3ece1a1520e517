"""A job's replicas as Kueue Workloads: the quota a tenant's replica needs, asked of Kueue.

A job labelled ``kueue.x-k8s.io/queue-name`` (Kueue's own label) runs only as many
replicas as Kueue admits: one Workload per replica (one podSet of count 1 requesting the
replica's GPUs) in the job's namespace, queued in that LocalQueue, with the job's
priority. Kueue reserves quota, lends and takes back; the placement engine still decides
where each admitted replica runs. docs/kueue.md has what Kueue does with them.
"""

from __future__ import annotations

from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders import names
from cango_operator.builders.deployment import job_labels, owner_reference
from cango_operator.builders.hashing import stamp

WORKLOAD_GROUP = "kueue.x-k8s.io"
WORKLOAD_VERSION = "v1beta2"
WORKLOAD_PLURAL = "workloads"
#: On an InferenceJob (Kueue's label): the LocalQueue whose quota its replicas use.
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
#: On a Workload: which replica of its job it stands for.
REPLICA_LABEL = "compute.cango.io/replica"
#: The resource a replica's GPUs are counted in.
GPU_RESOURCE = "nvidia.com/gpu"


def queue_of(job: InferenceJob) -> str | None:
    """The job's LocalQueue; None: the job is not held to a quota."""
    queue = (job.metadata.labels or {}).get(QUEUE_LABEL, "").strip()
    return queue or None


def build_workload(job: InferenceJob, index: int, queue: str) -> dict[str, Any]:
    """The Workload of replica ``index`` of ``job``, queued in ``queue``."""
    gpus = job.spec.gpu.count
    labels = {**job_labels(job), REPLICA_LABEL: str(index)}
    container: dict[str, Any] = {
        "name": "replica",
        "image": job.spec.container.image,
        "resources": {"requests": {GPU_RESOURCE: str(gpus)}},
    }
    return stamp(
        {
            "apiVersion": f"{WORKLOAD_GROUP}/{WORKLOAD_VERSION}",
            "kind": "Workload",
            "metadata": {
                "name": names.workload_name(job.metadata.name, index, gpus),
                "namespace": job.metadata.namespace,
                "labels": labels,
                "ownerReferences": [owner_reference(job)],
            },
            "spec": {
                "queueName": queue,
                "priority": job.spec.priority,
                "podSets": [
                    {
                        "name": "main",
                        "count": 1,
                        "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
                    }
                ],
            },
        }
    )
