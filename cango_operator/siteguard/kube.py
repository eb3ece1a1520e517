"""The guard's two API servers: the site's own, and the hub (with the site's credentials).

Every call runs in a worker thread (the Kubernetes client blocks) and is bounded by a
timeout, so a stalled hub never holds the site's side up. At the site the guard lists the
operator's Deployments, scales them down with a JSON patch that first tests the replica
count it decided from (a Deployment someone else changed meanwhile is left alone), and
keeps its memory in one ConfigMap. On the hub it reads Sites and annotates GpuNodes: all
a site's hub credentials allow.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from typing import Any

from cango_operator.api import GPUNODE_PLURAL, GROUP, SITE_PLURAL, VERSION
from cango_operator.builders.labels import MANAGED_SELECTOR
from cango_operator.siteguard.memory import CONFIGMAP_NAME, GuardMemory

FIELD_MANAGER = "cango-site-guard"
SITE_TIMEOUT_S = 10.0


class SiteApi:
    """The site cluster: Deployments of the operator's jobs, the guard's ConfigMap and the
    Secrets its feeds name."""

    def __init__(
        self, api_client: Any, namespace: str, watch_namespaces: Sequence[str] = ()
    ) -> None:
        """``namespace``: the guard's own (its ConfigMap, feed Secrets); ``watch_namespaces``:
        where the jobs' Deployments are, all namespaces when empty."""
        from kubernetes import client

        self._api = api_client
        self._apps = client.AppsV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self._watch = tuple(watch_namespaces)

    async def deployments(self) -> list[dict[str, Any]]:
        """Every Deployment the operator wrote (its managed-by label), as plain dicts."""
        return await asyncio.to_thread(self._list)

    def _list(self) -> list[dict[str, Any]]:
        if self._watch:
            items = [
                item
                for ns in self._watch
                for item in self._apps.list_namespaced_deployment(
                    ns, label_selector=MANAGED_SELECTOR, _request_timeout=SITE_TIMEOUT_S
                ).items
            ]
        else:
            items = self._apps.list_deployment_for_all_namespaces(
                label_selector=MANAGED_SELECTOR, _request_timeout=SITE_TIMEOUT_S
            ).items
        return [self._api.sanitize_for_serialization(i) for i in items]

    async def scale_down(self, namespace: str, name: str, was: int, to: int) -> None:
        """``spec.replicas`` from ``was`` to ``to``; refused (422) if it is not ``was``."""
        patch = [
            {"op": "test", "path": "/spec/replicas", "value": was},
            {"op": "replace", "path": "/spec/replicas", "value": to},
        ]
        await asyncio.to_thread(
            self._apps.patch_namespaced_deployment,
            name,
            namespace,
            patch,
            field_manager=FIELD_MANAGER,
            _request_timeout=SITE_TIMEOUT_S,
        )

    async def load_memory(self) -> GuardMemory:
        from kubernetes.client.exceptions import ApiException

        try:
            got = await asyncio.to_thread(
                self._core.read_namespaced_config_map,
                CONFIGMAP_NAME,
                self.namespace,
                _request_timeout=SITE_TIMEOUT_S,
            )
        except ApiException as exc:
            if exc.status == 404:
                return GuardMemory()
            raise
        return GuardMemory.from_data(got.data)

    async def save_memory(self, memory: GuardMemory) -> None:
        await asyncio.to_thread(self._save, memory.to_data())

    def _save(self, data: Mapping[str, str]) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=CONFIGMAP_NAME), data=dict(data)
        )
        try:
            self._core.replace_namespaced_config_map(
                CONFIGMAP_NAME, self.namespace, body, _request_timeout=SITE_TIMEOUT_S
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            self._core.create_namespaced_config_map(
                self.namespace, body, _request_timeout=SITE_TIMEOUT_S
            )

    async def secret(self, name: str, _namespace: str | None) -> Mapping[str, str]:
        """A feed's Secret: the one of that name in the guard's namespace at the site (the
        Site names one on the hub, which the site cannot read)."""
        got = await asyncio.to_thread(
            self._core.read_namespaced_secret, name, self.namespace, _request_timeout=10
        )
        return {k: base64.b64decode(v).decode() for k, v in (got.data or {}).items()}


class HubSilentError(Exception):
    """The hub did not answer in time."""


class HubApi:
    """The hub, through the site's own hub credentials (the klusterlet's)."""

    def __init__(self, api_client: Any, timeout_s: float) -> None:
        from kubernetes import client

        self._api = api_client
        self._custom = client.CustomObjectsApi(api_client)
        self._timeout = timeout_s

    async def get_site(self, name: str) -> dict[str, Any] | None:
        """The Site; None when the hub answers with an error status (it answered: a 404, a
        403). Anything else (a timeout, a refused or reset connection) raises
        :class:`HubSilentError`."""
        from kubernetes.client.exceptions import ApiException

        try:
            got: object = await asyncio.wait_for(
                asyncio.to_thread(
                    self._custom.get_cluster_custom_object,
                    GROUP,
                    VERSION,
                    SITE_PLURAL,
                    name,
                    _request_timeout=self._timeout,
                ),
                self._timeout + 1,
            )
        except ApiException as exc:
            if exc.status:
                return None
            raise HubSilentError(str(exc)) from exc
        except Exception as exc:
            raise HubSilentError(f"{type(exc).__name__}: {exc}") from exc
        return got if isinstance(got, dict) else None

    async def annotate_gpunode(self, name: str, key: str, value: str) -> None:
        body = {"metadata": {"annotations": {key: value}}}
        await asyncio.wait_for(
            asyncio.to_thread(
                self._custom.patch_cluster_custom_object,
                GROUP,
                VERSION,
                GPUNODE_PLURAL,
                name,
                body,
                field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json",
                _request_timeout=self._timeout,
            ),
            self._timeout + 1,
        )
