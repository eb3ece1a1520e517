"""The ManifestWork that carries a job's workloads to one managed cluster.

Open Cluster Management's work agent at the site applies what a ManifestWork holds and
keeps it running while the hub is out of reach. One work per (job, cluster), in the
cluster's namespace on the hub, holds what the operator would write in its own cluster:
the job's namespace, one Deployment per placement line on that cluster's nodes and the
job's Service. The objects carry no owner reference (the job lives on the hub; the work
agent makes the work their owner at the site). The namespace is orphaned when the work
goes, as other jobs of the namespace may run there.

Each Deployment reports back (status feedback) its ready and updated replicas, which is
how the hub learns how many replicas run, and its ``spec.replicas`` at the site.

A Deployment's ``spec.replicas`` is the one field the site may change on its own: while
the hub is out of reach, the site's guard scales Deployments down to stay inside the
site's power budget. The work agent keeps such a change (``ignoreFields`` with
``OnSpokeChange``): it compares a hash of each manifest as the hub wrote it and applies
again only when that manifest changes on the hub, which is how the hub takes over again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from cango_operator.api import InferenceJob
from cango_operator.builders import names
from cango_operator.builders.deployment import job_labels
from cango_operator.builders.hashing import stamp
from cango_operator.builders.labels import JOB_LABEL, JOB_NAMESPACE_LABEL

WORK_API_VERSION = "work.open-cluster-management.io/v1"
WORK_KIND = "ManifestWork"
#: Status feedback names, as the work agent reports them.
READY_FEEDBACK = "readyReplicas"
UPDATED_FEEDBACK = "updatedReplicas"
#: ``spec.replicas`` at the site: lower than the work's while the site has shed replicas.
SITE_REPLICAS_FEEDBACK = "replicas"
FEEDBACK_PATHS = (
    {"name": READY_FEEDBACK, "path": ".status.readyReplicas"},
    {"name": UPDATED_FEEDBACK, "path": ".status.updatedReplicas"},
    {"name": SITE_REPLICAS_FEEDBACK, "path": ".spec.replicas"},
)


def _for_site(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without owner references (the owner is on the hub, not at the site)."""
    out = copy.deepcopy(dict(manifest))
    out["metadata"].pop("ownerReferences", None)
    return out


def _namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            # Tenants' pods meet the restricted standard; the site enforces it too.
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
        },
    }


def _identifier(manifest: Mapping[str, Any], group: str, resource: str) -> dict[str, str]:
    meta = manifest["metadata"]
    return {
        "group": group,
        "resource": resource,
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
    }


_SSA = {"type": "ServerSideApply", "serverSideApply": {"force": True}}
#: Deployments: the same, but a ``spec.replicas`` the site changed stays until the hub
#: changes the Deployment's manifest.
_SSA_SITE_MAY_SCALE_DOWN = {
    "type": "ServerSideApply",
    "serverSideApply": {
        "force": True,
        "ignoreFields": [{"condition": "OnSpokeChange", "jsonPaths": [".spec.replicas"]}],
    },
}


def build_manifestwork(
    job: InferenceJob,
    cluster: str,
    deployments: Sequence[Mapping[str, Any]],
    service: Mapping[str, Any],
    network_policy: Mapping[str, Any],
) -> dict[str, Any]:
    """The work that runs ``deployments``, ``service`` and ``network_policy`` of ``job`` in
    ``cluster``."""
    namespace = job.metadata.namespace
    if not namespace:
        raise ValueError(f"InferenceJob {job.metadata.name}: metadata.namespace is required")
    deps = sorted((_for_site(d) for d in deployments), key=lambda d: d["metadata"]["name"])
    svc = _for_site(service)
    policy = _for_site(network_policy)
    configs: list[dict[str, Any]] = [
        {
            "resourceIdentifier": _identifier(d, "apps", "deployments"),
            "updateStrategy": _SSA_SITE_MAY_SCALE_DOWN,
            "feedbackRules": [{"type": "JSONPaths", "jsonPaths": list(FEEDBACK_PATHS)}],
        }
        for d in deps
    ]
    configs.append({"resourceIdentifier": _identifier(svc, "", "services"), "updateStrategy": _SSA})
    configs.append(
        {
            "resourceIdentifier": _identifier(policy, "networking.k8s.io", "networkpolicies"),
            "updateStrategy": _SSA,
        }
    )
    labels = dict(job_labels(job))
    labels[JOB_NAMESPACE_LABEL] = names.label_value(namespace)
    return stamp(
        {
            "apiVersion": WORK_API_VERSION,
            "kind": WORK_KIND,
            "metadata": {
                "name": names.work_name(namespace, job.metadata.name),
                "namespace": cluster,
                "labels": labels,
            },
            "spec": {
                "workload": {"manifests": [_namespace(namespace), *deps, svc, policy]},
                "deleteOption": {
                    "propagationPolicy": "SelectivelyOrphan",
                    "selectivelyOrphans": {
                        "orphaningRules": [
                            {"group": "", "resource": "namespaces", "name": namespace}
                        ]
                    },
                },
                "manifestConfigs": configs,
            },
        }
    )


def job_of_work(labels: Mapping[str, str]) -> str | None:
    """``namespace/job`` (label values) of a work the operator wrote, else None."""
    job, namespace = labels.get(JOB_LABEL), labels.get(JOB_NAMESPACE_LABEL)
    return f"{namespace}/{job}" if job and namespace else None
