"""The one NetworkPolicy of a job: who may reach its replicas.

Ingress to the job's pods is allowed on the job's port only, from pods in the job's own
namespace and from namespaces the platform admin labels ``compute.cango.io/gateway:
"true"`` (where an inference gateway runs); nothing else reaches them. Egress is left
alone: a model server may need to fetch weights.
"""

from __future__ import annotations

from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders.deployment import PORT_NAME, job_object_meta
from cango_operator.builders.hashing import stamp
from cango_operator.builders.labels import GATEWAY_LABEL, JOB_LABEL


def build_network_policy(job: InferenceJob) -> dict[str, Any]:
    """The job's NetworkPolicy, named as its Service."""
    meta = job_object_meta(job)
    return stamp(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {
                "podSelector": {"matchLabels": {JOB_LABEL: meta["labels"][JOB_LABEL]}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"podSelector": {}},
                            {"namespaceSelector": {"matchLabels": {GATEWAY_LABEL: "true"}}},
                        ],
                        "ports": [{"port": PORT_NAME, "protocol": "TCP"}],
                    }
                ],
            },
        }
    )
