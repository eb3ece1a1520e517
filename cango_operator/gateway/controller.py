"""The gateway controller: reads the Gateway, its HTTPRoutes, their InferencePools, the
pods, the Sites and the keys' Secrets; writes Envoy's files and the objects' status.

One pass (``sync``) reads everything, translates, writes the files that changed, and the
status that changed. The command runs a pass every ``--interval`` seconds: replicas that
die are routed around by Envoy itself (health checks, ejection, retries) within a
second; the passes add new replicas, remove deleted ones, and follow keys and limits.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cango_operator.api import GROUP, SITE_PLURAL, VERSION
from cango_operator.builders import GatewayRef
from cango_operator.builders.httproute import (
    GATEWAY_GROUP,
    GATEWAY_PLURAL,
    GATEWAY_VERSION,
    HTTP_ROUTE_PLURAL,
)
from cango_operator.builders.inferencepool import (
    INFERENCE_GROUP,
    INFERENCE_POOL_PLURAL,
    INFERENCE_VERSION,
)
from cango_operator.builders.labels import JOB_LABEL
from cango_operator.gateway import envoy
from cango_operator.gateway.applied import AppliedCheck, admin_stats
from cango_operator.gateway.files import ConfigFiles
from cango_operator.gateway.load import active_requests, busy_replicas, with_busy
from cango_operator.gateway.model import RouteVerdict
from cango_operator.gateway.process import admin_get
from cango_operator.gateway.translate import (
    Observed,
    SecretData,
    Translation,
    certificate_ref,
    decode_secret,
    secret_refs,
    translate,
)

log = logging.getLogger(__name__)

#: What this gateway calls itself in the routes' status (``parents[].controllerName``).
CONTROLLER_NAME = "compute.cango.io/gateway"


@dataclass(frozen=True)
class GatewaySettings:
    """The one Gateway served, where Envoy listens, the address the Gateway's status
    gives the tenants, the directory Envoy reads, the region this gateway serves (its
    clients' region when their requests name none; None: each job's clientRegion), and
    where the pools' endpoint pickers answer (a template; None: none is asked); Envoy's
    admin address, and the requests in flight from which a replica is busy (0: never)."""

    gateway: GatewayRef
    listen_address: str
    advertise: str
    config_dir: Path
    region: str | None = None
    pickers: str | None = None
    admin: tuple[str, int] | None = None
    spill_at: int = 0


class GatewayController:
    """One gateway's passes. ``api`` (a ``kubernetes.client.ApiClient``) is the cluster of
    the jobs and their routes (in a federation, the hub); ``pod_apis`` the clusters whose
    pods are the replicas (in a federation, the sites'; default: ``api``'s)."""

    def __init__(self, api: Any, settings: GatewaySettings, pod_apis: Sequence[Any] = ()) -> None:
        from kubernetes import client

        self.settings = settings
        self._core: Any = client.CoreV1Api(api)
        self._custom: Any = client.CustomObjectsApi(api)
        self._pod_cores: list[Any] = [client.CoreV1Api(a) for a in pod_apis] or [self._core]
        self._files = ConfigFiles(settings.config_dir)
        self._applied = (
            AppliedCheck(self._files, admin_stats(settings.admin)) if settings.admin else None
        )
        self._status: dict[tuple[str, str, str], Any] = {}
        #: What was last logged as wrong, so a pass a second logs it once, not each time.
        self._said: set[str] = set()
        self._busy: frozenset[str] = frozenset()

    # -- reading ---------------------------------------------------------------------

    def observe(self) -> Observed:
        from kubernetes.client.exceptions import ApiException

        ref = self.settings.gateway
        try:
            gateway = self._custom.get_namespaced_custom_object(
                GATEWAY_GROUP, GATEWAY_VERSION, ref.namespace, GATEWAY_PLURAL, ref.name
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            gateway = None
        routes = self._list(GATEWAY_GROUP, GATEWAY_VERSION, HTTP_ROUTE_PLURAL)
        pools = {
            (str(p["metadata"]["namespace"]), str(p["metadata"]["name"])): p
            for p in self._list(INFERENCE_GROUP, INFERENCE_VERSION, INFERENCE_POOL_PLURAL)
        }
        pods = [
            pod
            for core in self._pod_cores
            for pod in json.loads(
                core.list_pod_for_all_namespaces(
                    label_selector=JOB_LABEL, _preload_content=False
                ).data
            )["items"]
        ]
        regions = {
            str(s["metadata"]["name"]): str((s.get("spec") or {}).get("region") or "")
            for s in self._list(GROUP, VERSION, SITE_PLURAL)
        }
        wanted = secret_refs(routes, ref)
        certificate = certificate_ref(gateway)
        if certificate is not None:
            wanted.add(certificate)
        secrets = {ns_name: self._secret(*ns_name) for ns_name in wanted}
        return Observed(gateway, routes, pools, pods, regions, secrets)

    def _list(self, group: str, version: str, plural: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._custom.list_cluster_custom_object(
            group, version, plural
        )["items"]
        return items

    def _secret(self, namespace: str, name: str) -> SecretData:
        from kubernetes.client.exceptions import ApiException

        try:
            raw = self._core.read_namespaced_secret(name, namespace, _preload_content=False)
        except ApiException as exc:
            if exc.status not in (403, 404):
                raise
            self._once(f"cannot read Secret {namespace}/{name} ({exc.reason})")
            return None
        return decode_secret(json.loads(raw.data))

    def _busy_replicas(self) -> frozenset[str]:
        """The replicas with too many requests in flight, as Envoy counts them now; the
        last answer kept while Envoy cannot be asked (starting, or gone)."""
        settings = self.settings
        if settings.spill_at <= 0 or settings.admin is None:
            return frozenset()
        try:
            clusters = json.loads(admin_get(settings.admin, "/clusters?format=json"))
        except (OSError, ValueError):
            return self._busy
        busy = busy_replicas(active_requests(clusters), self._busy, settings.spill_at)
        for address in sorted(busy - self._busy):
            log.info(
                "replica %s busy (%d+ requests in flight): spilling", address, settings.spill_at
            )
        for address in sorted(self._busy - busy):
            log.info("replica %s no longer busy", address)
        self._busy = busy
        return busy

    def start_empty(self) -> None:
        """Files that give Envoy no listener and no cluster, for a start before any pass."""
        self._files.write({name: {"resources": []} for name in ("lds.yaml", "cds.yaml")})

    # -- a pass ----------------------------------------------------------------------

    def sync(self) -> Translation:
        """Read, translate, write the files and the status that changed."""
        settings = self.settings
        observed = self.observe()
        result = translate(
            observed,
            settings.gateway,
            settings.listen_address,
            settings.region,
            settings.pickers,
        )
        if result.model is not None:
            model = with_busy(result.model, self._busy_replicas())
            changed = self._files.write(envoy.files(model, str(settings.config_dir)))
            if changed:
                log.info(
                    "gateway: %d route(s), %d replica(s); wrote %s",
                    len(result.model.routes),
                    sum(len(r.backends) for r in result.model.routes),
                    ", ".join(changed),
                )
            if self._applied is not None:
                self._applied.check()
        else:
            self._once(f"gateway {settings.gateway}: {result.problem}")
        if observed.gateway is not None:
            self._write_gateway_status(result)
        for (namespace, name), verdict in result.verdicts.items():
            self._write_route_status(namespace, name, verdict)
        return result

    # -- status ----------------------------------------------------------------------

    def _once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            log.warning("%s", message)

    def _write_gateway_status(self, result: Translation) -> None:
        ref = self.settings.gateway
        programmed = result.model is not None
        reason = "Programmed" if programmed else "Invalid"
        message = result.problem or f"served by Envoy on {self.settings.listen_address}"
        status: dict[str, Any] = {
            "conditions": [
                _condition(
                    "Accepted", programmed, "Accepted" if programmed else "Invalid", message
                ),
                _condition("Programmed", programmed, reason, message),
            ],
        }
        if programmed:
            status["addresses"] = [address_of(self.settings.advertise)]
        if self._unchanged(("gateway", ref.namespace, ref.name), status):
            return
        self._custom.patch_namespaced_custom_object_status(
            GATEWAY_GROUP,
            GATEWAY_VERSION,
            ref.namespace,
            GATEWAY_PLURAL,
            ref.name,
            {"status": status},
        )

    def _write_route_status(self, namespace: str, name: str, verdict: RouteVerdict) -> None:
        from kubernetes.client.exceptions import ApiException

        ref = self.settings.gateway
        message = "; ".join(verdict.messages) or "served"
        parent = {
            "parentRef": {
                "group": GATEWAY_GROUP,
                "kind": "Gateway",
                "namespace": ref.namespace,
                "name": ref.name,
            },
            "controllerName": CONTROLLER_NAME,
            "conditions": [
                _condition("Accepted", verdict.accepted, verdict.accepted_reason, message),
                _condition("ResolvedRefs", verdict.resolved, verdict.resolved_reason, message),
            ],
        }
        status = {"parents": [parent]}
        if self._unchanged(("route", namespace, name), status):
            return
        try:
            self._custom.patch_namespaced_custom_object_status(
                GATEWAY_GROUP,
                GATEWAY_VERSION,
                namespace,
                HTTP_ROUTE_PLURAL,
                name,
                {"status": status},
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile
                raise
            self._status.pop(("route", namespace, name), None)

    def _unchanged(self, key: tuple[str, str, str], status: Mapping[str, Any]) -> bool:
        """Whether ``status`` (times left out) is what was written last."""
        comparable = json.dumps(_timeless(status), sort_keys=True)
        if self._status.get(key) == comparable:
            return True
        self._status[key] = comparable
        return False


def address_of(advertise: str) -> dict[str, str]:
    """A Gateway status address: an IP address, else a host name (the Gateway API
    validates each type's value)."""
    try:
        ipaddress.ip_address(advertise)
    except ValueError:
        return {"type": "Hostname", "value": advertise}
    return {"type": "IPAddress", "value": advertise}


def _timeless(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _timeless(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": now,
    }
