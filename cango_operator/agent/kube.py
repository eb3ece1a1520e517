"""The few Kubernetes calls the agent makes, as plain dicts in and out.

The client is the synchronous ``kubernetes`` one; the runner calls these methods in a
worker thread. What the agent may do (its RBAC in the chart): get its Node; list Pods
bound to it; get and create GpuNodes; patch ``gpunodes/status``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cango_operator.api import GPUNODE_PLURAL, GROUP, VERSION

log = logging.getLogger(__name__)

FIELD_MANAGER = "cango-agent"
GPU_RESOURCE = "nvidia.com/gpu"
REQUEST_TIMEOUT_S = 10.0


def _gpu_quantity(resources: Mapping[str, Any] | None) -> int:
    if not resources:
        return 0
    value = resources.get(GPU_RESOURCE)
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 0


def gpus_requested(pod: Mapping[str, Any]) -> int:
    """GPUs a pod holds: the sum over its containers (extended resources are whole units)."""
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        limit = _gpu_quantity(resources.get("limits"))
        total += limit or _gpu_quantity(resources.get("requests"))
    return total


class KubeClient:
    """GpuNode, Node and Pod access for one agent, over a ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client: Any, hub_client: Any = None) -> None:
        """``hub_client``: where GpuNodes live when that is not the node's own cluster
        (the hub of a federation); Nodes and Pods are always read from ``api_client``."""
        from kubernetes import client

        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(hub_client or api_client)

    def _plain(self, obj: Any) -> dict[str, Any]:
        plain: dict[str, Any] = self.api_client.sanitize_for_serialization(obj)
        return plain

    def get_gpunode(self, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            got = self.custom.get_cluster_custom_object(
                GROUP,
                VERSION,
                GPUNODE_PLURAL,
                name,
                _request_timeout=REQUEST_TIMEOUT_S,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self._plain(got)

    def create_gpunode(self, body: Mapping[str, Any]) -> bool:
        """Create it; False when one already exists (someone was quicker)."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.custom.create_cluster_custom_object(
                GROUP,
                VERSION,
                GPUNODE_PLURAL,
                dict(body),
                field_manager=FIELD_MANAGER,
                _request_timeout=REQUEST_TIMEOUT_S,
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def patch_gpunode_status(
        self, name: str, status: Mapping[str, Any], resource_version: str | None = None
    ) -> dict[str, Any]:
        """JSON merge patch of ``status``; with ``resource_version`` it fails (409) if the
        object changed since it was read."""
        body: dict[str, Any] = {"status": dict(status)}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        got = self.custom.patch_cluster_custom_object_status(
            GROUP,
            VERSION,
            GPUNODE_PLURAL,
            name,
            body,
            field_manager=FIELD_MANAGER,
            _content_type="application/merge-patch+json",
            _request_timeout=REQUEST_TIMEOUT_S,
        )
        return self._plain(got)

    def get_node(self, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            got = self.core.read_node(name, _request_timeout=REQUEST_TIMEOUT_S)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self._plain(got)

    def gpus_in_use(self, node_name: str) -> int:
        """GPUs requested by Running pods bound to ``node_name``."""
        return self._gpus_of_pods(f"spec.nodeName={node_name},status.phase=Running")

    def gpus_bound(self, node_name: str) -> int:
        """GPUs held by pods bound to ``node_name`` that have not finished (Pending while
        their containers start, Running, or Unknown): what the node has given out."""
        return self._gpus_of_pods(
            f"spec.nodeName={node_name},status.phase!=Succeeded,status.phase!=Failed"
        )

    def _gpus_of_pods(self, field_selector: str) -> int:
        pods = self.core.list_pod_for_all_namespaces(
            field_selector=field_selector, _request_timeout=REQUEST_TIMEOUT_S
        )
        return sum(gpus_requested(p) for p in self._plain(pods).get("items") or [])


class PodGpuCounter:
    """GPUs of the pods on one node: those Running (``gpus_in_use``, the simulated
    source's load) or, with ``bound``, all not finished (the allocation an agent reports
    to a federation's hub).

    Called from a worker thread. When the API server does not answer, the last count
    stands: the load should not drop to zero on a network blip.
    """

    def __init__(self, kube: KubeClient, node_name: str, *, bound: bool = False) -> None:
        self.kube = kube
        self.node_name = node_name
        self.count = kube.gpus_bound if bound else kube.gpus_in_use
        self.last = 0

    def __call__(self) -> int:
        try:
            self.last = self.count(self.node_name)
        except Exception as exc:  # any client failure: keep the last count
            log.warning("counting GPUs of pods on %s failed: %s", self.node_name, exc)
        return self.last
