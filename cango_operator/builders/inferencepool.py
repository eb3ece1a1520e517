"""The InferencePool of a job (Gateway API Inference Extension, ``inference.networking.k8s.io/v1``):
its replicas as one pool a gateway routes to through an endpoint picker.

The pool selects the job's pods by ``compute.cango.io/job`` (as its Service does) on the
job's container port, and names its endpoint picker: the Service ``<pool>-epp`` in the
job's namespace, port 9002, where the Inference Extension's own chart puts a pool's
picker (one picker serves one pool). The gateway asks it when run with
``--endpoint-picker``; where none runs, Envoy picks (docs/endpoints.md).
"""

from __future__ import annotations

from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders.deployment import job_object_meta
from cango_operator.builders.hashing import stamp
from cango_operator.builders.labels import JOB_LABEL

INFERENCE_GROUP = "inference.networking.k8s.io"
INFERENCE_VERSION = "v1"
INFERENCE_POOL_KIND = "InferencePool"
INFERENCE_POOL_PLURAL = "inferencepools"
#: The Service of a pool's endpoint picker, in the pool's namespace: ``<pool>`` + this.
ENDPOINT_PICKER_SUFFIX = "-epp"
#: Its gRPC (Envoy ext_proc) port, the Inference Extension's usual one.
ENDPOINT_PICKER_PORT = 9002
#: The picker advises: when it fails or is away, the gateway picks (the API's default,
#: ``FailClose``, would fail the request instead).
FAIL_OPEN = "FailOpen"


def endpoint_picker_service(pool: str) -> str:
    """The Service of the endpoint picker of the pool ``pool``."""
    return f"{pool}{ENDPOINT_PICKER_SUFFIX}"


def build_inference_pool(job: InferenceJob) -> dict[str, Any]:
    """The job's InferencePool, named as its Service, owned by the job."""
    meta = job_object_meta(job)
    return stamp(
        {
            "apiVersion": f"{INFERENCE_GROUP}/{INFERENCE_VERSION}",
            "kind": INFERENCE_POOL_KIND,
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": {JOB_LABEL: meta["labels"][JOB_LABEL]}},
                "targetPorts": [{"number": job.spec.container.port}],
                "endpointPickerRef": {
                    "name": endpoint_picker_service(meta["name"]),
                    "port": {"number": ENDPOINT_PICKER_PORT},
                    "failureMode": FAIL_OPEN,
                },
            },
        }
    )
