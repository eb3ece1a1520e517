"""The demo's own Kubernetes calls (synchronous; the runner calls them in worker threads).

Reads go through ``_preload_content=False`` and ``json.loads``: hundreds of pods a
second as plain dicts cost a fraction of the client's model deserialisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from cango_operator.demo.baseline import CLUSTER_API, WORK_API, build_ocm_placement
from cango_operator.demo.events import POWER_LOST_TAINT
from cango_operator.demo.fleet import API_GROUP, API_VERSION, POWER_ANNOTATION, SCENARIO_LABEL
from cango_operator.demo.samples import ClusterObjects
from cango_operator.errors import ClusterError

T = TypeVar("T")
PLURALS = {
    "Site": "sites",
    "GpuNode": "gpunodes",
    "InferenceJob": "inferencejobs",
    "Placement": "placements",
    "ManifestWorkReplicaSet": "manifestworkreplicasets",
    "ManagedClusterSetBinding": "managedclustersetbindings",
}
PLACED_APIS = {"ManifestWorkReplicaSet": WORK_API, "Placement": CLUSTER_API}
REQUEST_TIMEOUT_S = 30
CREATE_WORKERS = 4
READ_WORKERS = 6
CONFLICT_RETRIES = 5


def _items(response: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(response.data)["items"]
    return items


class DemoKube:
    """Everything the demo does to the cluster, over one ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client: Any, scenario: str) -> None:
        from kubernetes import client

        #: Only this scenario's Sites, GpuNodes and jobs are read (others may share the cluster).
        self.selector = f"{SCENARIO_LABEL}={scenario}"
        # Bodies are plain dicts, which the client serialises as they are.
        self.core: Any = client.CoreV1Api(api_client)
        self.apps: Any = client.AppsV1Api(api_client)
        self.custom: Any = client.CustomObjectsApi(api_client)
        self._readers = ThreadPoolExecutor(READ_WORKERS, thread_name_prefix="demo-read")

    # -- reads ----------------------------------------------------------------------------

    def _custom_list(self, kind: str) -> list[dict[str, Any]]:
        return _items(
            self.custom.list_cluster_custom_object(
                API_GROUP,
                API_VERSION,
                PLURALS[kind],
                label_selector=self.selector,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT_S,
            )
        )

    def _replica_sets(self) -> list[dict[str, Any]]:
        """The baseline's ManifestWorkReplicaSets (a federation's hub only)."""
        group, version = WORK_API.split("/")
        return _items(
            self.custom.list_cluster_custom_object(
                group,
                version,
                "manifestworkreplicasets",
                label_selector=self.selector,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT_S,
            )
        )

    def _reads(
        self, *, custom: bool, workloads: bool, replica_sets: bool = False
    ) -> dict[str, Callable[[], list[dict[str, Any]]]]:
        opts: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT_S}
        reads: dict[str, Callable[[], list[dict[str, Any]]]] = {}
        if custom:
            reads["sites"] = partial(self._custom_list, "Site")
            reads["gpunodes"] = partial(self._custom_list, "GpuNode")
            reads["jobs"] = partial(self._custom_list, "InferenceJob")
        if replica_sets:
            reads["replica_sets"] = self._replica_sets
        if workloads:
            reads["deployments"] = lambda: _items(
                self.apps.list_deployment_for_all_namespaces(**opts)
            )
            reads["pods"] = lambda: _items(self.core.list_pod_for_all_namespaces(**opts))
            reads["nodes"] = lambda: _items(self.core.list_node(**opts))
        return reads

    def submit_reads(
        self, *, custom: bool, workloads: bool, replica_sets: bool = False
    ) -> dict[str, Future[list[dict[str, Any]]]]:
        """Start the lists a sample needs from this cluster, all at the same time:
        ``custom`` the Sites, GpuNodes and jobs; ``workloads`` the Deployments, pods and
        Nodes; ``replica_sets`` the baseline's ManifestWorkReplicaSets."""
        reads = self._reads(custom=custom, workloads=workloads, replica_sets=replica_sets)
        return {name: self._readers.submit(read) for name, read in reads.items()}

    def read_objects(self) -> ClusterObjects:
        """Everything the measurements need from one cluster, the six lists read at once."""
        futures = self.submit_reads(custom=True, workloads=True)
        return ClusterObjects(**{name: f.result() for name, f in futures.items()})

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)

    # -- set-up ---------------------------------------------------------------------------

    def create_nodes(self, bodies: Iterable[dict[str, Any]]) -> None:
        """Create kwok Nodes; capacity goes in through the status subresource."""
        with ThreadPoolExecutor(CREATE_WORKERS) as pool:
            list(pool.map(self._create_node, bodies))

    def _create_node(self, body: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        name = body["metadata"]["name"]
        try:
            self.core.create_node(body)
        except ApiException as exc:
            if exc.status != 409:
                raise ClusterError(f"creating Node {name}: {exc.reason}") from exc
            self.core.patch_node(name, {"metadata": body["metadata"]})
        self.core.patch_node_status(name, {"status": body["status"]})

    def create_namespace(self, body: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.create_namespace(body)
        except ApiException as exc:
            if exc.status != 409:
                raise ClusterError(f"creating Namespace: {exc.reason}: {exc.body}") from exc

    def create_cluster_objects(self, bodies: Iterable[dict[str, Any]]) -> None:
        """Create cluster-scoped compute.cango.io objects (Sites, GpuNodes)."""
        with ThreadPoolExecutor(CREATE_WORKERS) as pool:
            list(pool.map(self._create_cluster_object, bodies))

    def _create_cluster_object(self, body: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        kind, name = body["kind"], body["metadata"]["name"]
        try:
            self.custom.create_cluster_custom_object(API_GROUP, API_VERSION, PLURALS[kind], body)
        except ApiException as exc:
            raise ClusterError(f"creating {kind} {name}: {exc.reason}: {exc.body}") from exc

    # -- during the day -------------------------------------------------------------------

    def create_job(self, body: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        meta = body["metadata"]
        try:
            self.custom.create_namespaced_custom_object(
                API_GROUP, API_VERSION, meta["namespace"], PLURALS["InferenceJob"], body
            )
        except ApiException as exc:
            raise ClusterError(
                f"creating InferenceJob {meta['namespace']}/{meta['name']}: {exc.reason}: "
                f"{exc.body}"
            ) from exc

    def delete_job(self, namespace: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.custom.delete_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, PLURALS["InferenceJob"], name
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    def create_deployment(self, body: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        meta = body["metadata"]
        try:
            self.apps.create_namespaced_deployment(meta["namespace"], body)
        except ApiException as exc:
            raise ClusterError(
                f"creating Deployment {meta['namespace']}/{meta['name']}: {exc.reason}"
            ) from exc

    def create_custom(self, body: dict[str, Any], *, exists_ok: bool = False) -> None:
        """Create a namespaced custom object (an OCM one: the plural is in ``PLURALS``)."""
        from kubernetes.client.exceptions import ApiException

        meta = body["metadata"]
        group, version = body["apiVersion"].split("/")
        try:
            self.custom.create_namespaced_custom_object(
                group, version, meta["namespace"], PLURALS[body["kind"]], body
            )
        except ApiException as exc:
            if exc.status == 409 and exists_ok:
                return
            raise ClusterError(
                f"creating {body['kind']} {meta['namespace']}/{meta['name']}: {exc.reason}: "
                f"{exc.body}"
            ) from exc

    def create_placed_deployment(self, deployment: dict[str, Any]) -> None:
        """The baseline Deployment through OCM: its Placement and ManifestWorkReplicaSet."""
        for body in build_ocm_placement(deployment):
            self.create_custom(body)

    def delete_placed_deployment(self, namespace: str, name: str) -> None:
        """Delete the baseline's ManifestWorkReplicaSet (its works go) and Placement."""
        from kubernetes.client.exceptions import ApiException

        for kind in ("ManifestWorkReplicaSet", "Placement"):
            group, version = PLACED_APIS[kind].split("/")
            try:
                self.custom.delete_namespaced_custom_object(
                    group, version, namespace, PLURALS[kind], name
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def delete_deployment(self, namespace: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.apps.delete_namespaced_deployment(name, namespace, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise

    def for_each_node(self, nodes: list[str], change: Callable[[str, T], None], arg: T) -> None:
        """``change(node, arg)`` for every node, several at a time (a storm darkens dozens)."""
        with ThreadPoolExecutor(CREATE_WORKERS) as pool:
            list(pool.map(lambda node: change(node, arg), nodes))

    def set_power_annotation(self, node: str, on: bool) -> None:
        value = None if on else "off"
        self.core.patch_node(node, {"metadata": {"annotations": {POWER_ANNOTATION: value}}})

    def set_power_lost_taint(self, node: str, effect: str | None) -> None:
        """Add the power-lost taint with ``effect`` (None: remove them); other taints stay."""
        from kubernetes.client.exceptions import ApiException

        for _ in range(CONFLICT_RETRIES):
            current = json.loads(self.core.read_node(node, _preload_content=False).data)
            taints = [
                t
                for t in (current.get("spec") or {}).get("taints") or []
                if t.get("key") != POWER_LOST_TAINT
                or (effect == "NoExecute" and t.get("effect") == "NoSchedule")
            ]
            if effect is not None:
                taints.append({"key": POWER_LOST_TAINT, "value": "true", "effect": effect})
            patch = {
                "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                "spec": {"taints": taints},
            }
            try:
                self.core.patch_node(node, patch)
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
        raise ClusterError(f"tainting Node {node}: kept conflicting with other writers")
