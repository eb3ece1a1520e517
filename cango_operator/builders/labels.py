"""Label and annotation keys on every object the operator writes, and the GPU taints."""

from __future__ import annotations

#: The prefix of every label and annotation key of the operator's own.
LABEL_PREFIX = "compute.cango.io/"
JOB_LABEL = "compute.cango.io/job"
SITE_LABEL = "compute.cango.io/site"
NODE_LABEL = "compute.cango.io/node"
GPU_MODEL_LABEL = "compute.cango.io/gpu-model"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "cango-operator"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
#: On a Deployment: what a site's guard needs to stop replicas in the engine's order
#: while the hub is out of reach (the job's priority, whether it is preemptible, the
#: power of one replica in W before PUE) and the GpuNode its report goes to.
PRIORITY_ANNOTATION = "compute.cango.io/priority"
PREEMPTIBLE_ANNOTATION = "compute.cango.io/preemptible"
REPLICA_POWER_ANNOTATION = "compute.cango.io/replica-power-w"
GPUNODE_ANNOTATION = "compute.cango.io/gpunode"
#: Hash of the manifest as last applied: equal hash, nothing to write.
APPLIED_HASH_ANNOTATION = "compute.cango.io/applied-hash"

GPU_RESOURCE = "nvidia.com/gpu"
#: The taint GPU nodes carry so that only pods asking for GPUs land there.
GPU_TAINT_KEY = "nvidia.com/gpu"
#: The taint the operator puts on a Node whose GpuNode must take no new work.
UNHEALTHY_TAINT_KEY = "compute.cango.io/unhealthy"

#: Selector that finds every object this operator manages.
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"

#: On a ManifestWork: the namespace of the job it carries (the work lives in the
#: cluster's namespace on the hub, not in the job's).
JOB_NAMESPACE_LABEL = "compute.cango.io/job-namespace"
#: On a GpuNode: the managed cluster whose agent reports it. A site's credentials may
#: write only GpuNodes carrying their own cluster's name (an admission policy says so).
CLUSTER_LABEL = "compute.cango.io/cluster"
#: On a Namespace, set by the platform admin: an inference gateway runs there, so every
#: job's NetworkPolicy lets it reach the job's replicas (builders.networkpolicy).
GATEWAY_LABEL = "compute.cango.io/gateway"
#: On a Namespace, set by the platform admin: the tenant its usage is metered to (several
#: namespaces may share one). A namespace without it is a tenant of its own.
TENANT_LABEL = "compute.cango.io/tenant"

#: On a Deployment in a ManifestWork: when the hub wrote it again to take over from the
#: site's guard, which had scaled it down at the site while the hub was out of reach
#: (OCM's agent re-applies a Deployment only when its manifest changes).
REASSERTED_ANNOTATION = "compute.cango.io/reasserted-at"
