"""The one Site the controller works for: read it, write its ``status.mining``.

Calls run in a worker thread (the Kubernetes client blocks), each bounded by a timeout.
The status write is a JSON merge patch of ``status.mining`` alone: the operator's
fields (power, gpus, conditions) are never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from cango_operator.api import GROUP, SITE_PLURAL, VERSION

FIELD_MANAGER = "cango-site-mining"
TIMEOUT_S = 10.0


class SiteClient:
    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._api = api_client
        self._custom = client.CustomObjectsApi(api_client)

    async def get(self, name: str) -> dict[str, Any] | None:
        """The Site as a plain dict; None when there is no such Site."""
        return await asyncio.to_thread(self._get, name)

    def _get(self, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            site: Any = self._custom.get_cluster_custom_object(
                GROUP, VERSION, SITE_PLURAL, name, _request_timeout=TIMEOUT_S
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        out: dict[str, Any] = dict(site)
        return out

    async def post_event(self, namespace: str, event: Mapping[str, Any]) -> None:
        from kubernetes import client

        events = client.EventsV1Api(self._api)
        body: Any = dict(event)  # the client takes a plain dict as the body
        await asyncio.to_thread(
            events.create_namespaced_event, namespace, body, _request_timeout=TIMEOUT_S
        )

    async def write_mining_status(self, name: str, mining: Mapping[str, Any]) -> None:
        await asyncio.to_thread(
            self._custom.patch_cluster_custom_object_status,
            GROUP,
            VERSION,
            SITE_PLURAL,
            name,
            {"status": {"mining": dict(mining)}},
            field_manager=FIELD_MANAGER,
            _request_timeout=TIMEOUT_S,
        )
