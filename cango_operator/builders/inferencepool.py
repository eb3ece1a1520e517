"""The InferencePool of a job (Gateway API Inference Extension, ``inference.networking.k8s.io/v1``):
its replicas as one pool a gateway routes to through an endpoint picker.

The pool selects the job's pods by ``compute.cango.io/job`` (as its Service does) on the
job's container port, and names the endpoint picker, a Service in the job's namespace
that the picker's own slice will run (none runs yet: docs/endpoints.md).
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
#: The Service of the endpoint picker every pool names, in the pool's namespace.
ENDPOINT_PICKER_SERVICE = "cango-endpoint-picker"
#: Its gRPC (Envoy ext_proc) port, the Inference Extension's usual one.
ENDPOINT_PICKER_PORT = 9002


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
                    "name": ENDPOINT_PICKER_SERVICE,
                    "port": {"number": ENDPOINT_PICKER_PORT},
                },
            },
        }
    )
