"""Every write the operator makes, as small synchronous calls run in worker threads.

Objects are written with server-side apply (field manager ``cango-operator``, forced:
the operator is the one owner of what it builds), statuses with merge patches on the
status subresource. Responses are returned as plain dicts without building client
models, which would cost more than the request itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cango_operator.api import GROUP, VERSION
from cango_operator.builders.httproute import GATEWAY_GROUP, GATEWAY_VERSION, HTTP_ROUTE_PLURAL
from cango_operator.builders.inferencepool import (
    INFERENCE_GROUP,
    INFERENCE_POOL_PLURAL,
    INFERENCE_VERSION,
)
from cango_operator.builders.workload import WORKLOAD_GROUP, WORKLOAD_PLURAL, WORKLOAD_VERSION
from cango_operator.operator import metrics

FIELD_MANAGER = "cango-operator"
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
TIMEOUT = (5.0, 30.0)
WORK_GROUP = "work.open-cluster-management.io"
WORK_VERSION = "v1"
CLUSTER_GROUP = "cluster.open-cluster-management.io"
CLUSTER_VERSION = "v1"

T = TypeVar("T")


def _apply(patch: Callable[..., Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply of ``manifest`` with ``patch`` (a namespaced ``patch_*`` call)."""
    meta = manifest["metadata"]
    return _json(
        patch(
            meta["name"],
            meta["namespace"],
            manifest,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type=APPLY,
            _preload_content=False,
            _request_timeout=TIMEOUT,
        )
    )


def _json(response: Any) -> dict[str, Any]:
    data = response.data
    if not data:
        return {}
    parsed: dict[str, Any] = json.loads(data)
    return parsed


def describe(exc: BaseException) -> str:
    """One line for the log: the API server's status and message, not the raw response."""
    if isinstance(exc, ApiException):
        message = exc.reason or ""
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(exc.body or "{}").get("message") or message
        return f"HTTP {exc.status}: {message}"
    return f"{type(exc).__name__}: {exc}"


def is_status(exc: BaseException, *codes: int) -> bool:
    """Whether ``exc`` is an API error with one of these HTTP status codes."""
    return isinstance(exc, ApiException) and exc.status in codes


class KubeWriter:
    """The operator's writes. Thread-safe; each method is one API request."""

    def __init__(self, api: client.ApiClient, concurrency: int = 16) -> None:
        self._apps = client.AppsV1Api(api)
        self._core = client.CoreV1Api(api)
        self._networking = client.NetworkingV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        # Its own threads: the API server answers many writes at once (each one mostly
        # waits for etcd), more than the event loop's small default pool would send.
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="cango-writer")

    async def call(self, kind: str, verb: str, fn: Callable[[], T]) -> T:
        """Run one request in a writer thread (requests beyond the pool size queue)."""
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._pool, fn)
        except ApiException:
            metrics.RECONCILE_ERRORS.labels(kind).inc()
            raise
        metrics.API_WRITES.labels(kind, verb).inc()
        return result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def create_event(self, body: dict[str, Any]) -> None:
        """Post an ``events.k8s.io/v1`` Event (builders.events) into its namespace."""
        events = client.EventsV1Api(self._custom.api_client)
        plain: Any = body  # the client takes a plain dict as the body
        events.create_namespaced_event(body["metadata"]["namespace"], plain)

    # -- objects the operator owns -----------------------------------------------------

    def apply_deployment(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return _apply(self._apps.patch_namespaced_deployment, manifest)

    def apply_service(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return _apply(self._core.patch_namespaced_service, manifest)

    def apply_network_policy(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return _apply(self._networking.patch_namespaced_network_policy, manifest)

    def delete_deployment(self, namespace: str, name: str, uid: str | None) -> None:
        """Delete one Deployment (its pods follow in the background); gone already is fine.

        ``uid`` guards against deleting a newer object that took the same name.
        """
        body = client.V1DeleteOptions(
            propagation_policy="Background",
            preconditions=client.V1Preconditions(uid=uid) if uid else None,
        )
        try:
            self._apps.delete_namespaced_deployment(
                name, namespace, body=body, _preload_content=False, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise

    # -- ManifestWorks (federation): a job's workloads for one managed cluster ---------

    def apply_work(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return _apply(
            lambda name, namespace, body, **kw: self._custom.patch_namespaced_custom_object(
                WORK_GROUP, WORK_VERSION, namespace, "manifestworks", name, body, **kw
            ),
            manifest,
        )

    def delete_work(self, namespace: str, name: str, uid: str | None) -> None:
        """Delete one ManifestWork (the site's work agent then removes what it holds, or
        does so when the site is back); gone already is fine."""
        self._delete_custom((WORK_GROUP, WORK_VERSION, "manifestworks"), namespace, name, uid)

    def _delete_custom(
        self, resource: tuple[str, str, str], namespace: str, name: str, uid: str | None
    ) -> None:
        """Delete one namespaced custom object (group, version, plural) if it is still the
        one of ``uid``; gone already, or replaced by a newer one, is fine."""
        group, version, plural = resource
        body = client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid=uid) if uid else None,
        )
        try:
            self._custom.delete_namespaced_custom_object(
                group,
                version,
                namespace,
                plural,
                name,
                body=body,
                _preload_content=False,
                _request_timeout=TIMEOUT,
            )
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise

    def apply_workload(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of a replica's Kueue Workload (builders.workload)."""
        return self._apply_custom((WORKLOAD_GROUP, WORKLOAD_VERSION, WORKLOAD_PLURAL), manifest)

    def _apply_custom(
        self, resource: tuple[str, str, str], manifest: dict[str, Any]
    ) -> dict[str, Any]:
        """Server-side apply of a namespaced custom object (group, version, plural)."""
        group, version, plural = resource
        return _apply(
            lambda name, namespace, body, **kw: self._custom.patch_namespaced_custom_object(
                group, version, namespace, plural, name, body, **kw
            ),
            manifest,
        )

    def apply_inference_pool(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of a job's InferencePool (builders.inferencepool)."""
        resource = (INFERENCE_GROUP, INFERENCE_VERSION, INFERENCE_POOL_PLURAL)
        return self._apply_custom(resource, manifest)

    def apply_http_route(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of a job's HTTPRoute (builders.httproute)."""
        return self._apply_custom((GATEWAY_GROUP, GATEWAY_VERSION, HTTP_ROUTE_PLURAL), manifest)

    def delete_workload(self, namespace: str, name: str, uid: str | None) -> None:
        """Delete one Workload (giving its quota back to Kueue); gone already is fine."""
        resource = (WORKLOAD_GROUP, WORKLOAD_VERSION, WORKLOAD_PLURAL)
        self._delete_custom(resource, namespace, name, uid)

    # -- status of our resources -------------------------------------------------------

    def patch_job_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        return _json(
            self._custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                "inferencejobs",
                name,
                {"status": status},
                field_manager=FIELD_MANAGER,
                _content_type=MERGE,
                _preload_content=False,
                _request_timeout=TIMEOUT,
            )
        )

    def patch_cluster_status(
        self, plural: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch the status of a Site or GpuNode."""
        patch = self._custom.patch_cluster_custom_object_status
        return self._merge_patch_cluster(patch, plural, name, {"status": status})

    def patch_gpunode_annotations(
        self, name: str, annotations: dict[str, str | None]
    ) -> dict[str, Any]:
        """Merge-patch a GpuNode's annotations (None removes one)."""
        patch = self._custom.patch_cluster_custom_object
        return self._merge_patch_cluster(
            patch, "gpunodes", name, {"metadata": {"annotations": annotations}}
        )

    @staticmethod
    def _merge_patch_cluster(
        patch: Callable[..., Any], plural: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        return _json(
            patch(
                GROUP,
                VERSION,
                plural,
                name,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE,
                _preload_content=False,
                _request_timeout=TIMEOUT,
            )
        )

    # -- Kubernetes Nodes ----------------------------------------------------------------

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return _json(
            self._core.patch_node(
                name,
                patch,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE,
                _preload_content=False,
                _request_timeout=TIMEOUT,
            )
        )
