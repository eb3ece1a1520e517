"""The one Service of a job: a stable address in front of all its replicas, at every site."""

from __future__ import annotations

from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders.deployment import PORT_NAME, job_object_meta
from cango_operator.builders.hashing import stamp
from cango_operator.builders.labels import JOB_LABEL


def build_service(job: InferenceJob) -> dict[str, Any]:
    """ClusterIP Service named after the job, selecting its pods by the job label."""
    meta = job_object_meta(job)
    port = job.spec.container.port
    return stamp(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "type": "ClusterIP",
                "selector": {JOB_LABEL: meta["labels"][JOB_LABEL]},
                "ports": [
                    {"name": PORT_NAME, "port": port, "targetPort": PORT_NAME, "protocol": "TCP"}
                ],
            },
        }
    )
