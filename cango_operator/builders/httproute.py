"""The HTTPRoute of a job (Gateway API, ``gateway.networking.k8s.io/v1``) and the URL it
gives the tenant.

The route hangs on the one gateway the operator is told of (``--gateway NAMESPACE/NAME``),
matches the job's path prefix (and host name, when it has one) and sends the requests to
the job's InferencePool. The gateway's listener must allow routes from the job's
namespace (``allowedRoutes``): that is the platform admin's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cango_operator.api import EndpointSpec, InferenceJob
from cango_operator.builders.deployment import job_object_meta
from cango_operator.builders.hashing import stamp
from cango_operator.builders.inferencepool import INFERENCE_GROUP, INFERENCE_POOL_KIND

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_VERSION = "v1"
HTTP_ROUTE_PLURAL = "httproutes"
GATEWAY_PLURAL = "gateways"
HTTP_PORT = 80
HTTPS_PORT = 443

# What the gateway needs beyond the standard route, written by the operator as annotations
# on the HTTPRoute (the project's gateway reads them: cango_operator/gateway/).
#: The job's spec.clientRegion: the region whose replicas serve a request that names none.
CLIENT_REGION_ANNOTATION = "compute.cango.io/client-region"
#: The Secret (in the route's namespace) holding the job's API keys.
API_KEYS_ANNOTATION = "compute.cango.io/api-keys-secret"
#: The job's rate limit, ``REQUESTS_PER_SECOND/BURST``.
RATE_LIMIT_ANNOTATION = "compute.cango.io/rate-limit"


@dataclass(frozen=True)
class GatewayRef:
    """The Gateway every job's route hangs on."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str) -> GatewayRef:
        """``NAMESPACE/NAME``."""
        namespace, sep, name = text.partition("/")
        if not sep or not namespace or not name or "/" in name:
            raise ValueError(f"a gateway is NAMESPACE/NAME, got {text!r}")
        return cls(namespace, name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class GatewayAddress:
    """Where the gateway listens, as its status says: its first address, the port of the
    listener it serves, and whether that listener is HTTPS."""

    host: str
    port: int = HTTP_PORT
    tls: bool = False


@dataclass(frozen=True)
class ServedListener:
    """The one listener of a Gateway that is served: its first HTTP or HTTPS listener with
    a port. ``certificate``: the (namespace, name) of the Secret an HTTPS listener's first
    certificateRef names (None for HTTP, or an HTTPS listener naming none)."""

    protocol: str
    port: int
    allowed_from: str
    certificate: tuple[str, str] | None = None

    @property
    def tls(self) -> bool:
        return self.protocol == "HTTPS"


def served_listener(gateway: Mapping[str, Any]) -> ServedListener | None:
    """The listener of the Gateway ``gateway`` (its API JSON) that is served; None when it
    has no HTTP or HTTPS listener with a port."""
    meta = gateway.get("metadata") or {}
    for listener in (gateway.get("spec") or {}).get("listeners") or []:
        protocol = listener.get("protocol")
        if protocol not in ("HTTP", "HTTPS") or not isinstance(listener.get("port"), int):
            continue
        allowed = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("from")
        certificate = None
        if protocol == "HTTPS":
            refs = (listener.get("tls") or {}).get("certificateRefs") or []
            if refs:
                ref = refs[0]
                namespace = str(ref.get("namespace") or meta.get("namespace") or "")
                certificate = (namespace, str(ref.get("name") or ""))
        return ServedListener(
            str(protocol), int(listener["port"]), str(allowed or "Same"), certificate
        )
    return None


def build_http_route(job: InferenceJob, gateway: GatewayRef) -> dict[str, Any]:
    """The job's HTTPRoute on ``gateway``, named as its Service, owned by the job. The job
    must ask for an endpoint (``spec.endpoint``)."""
    endpoint = _endpoint_of(job)
    meta = job_object_meta(job)
    spec: dict[str, Any] = {
        "parentRefs": [
            {
                "group": GATEWAY_GROUP,
                "kind": "Gateway",
                "namespace": gateway.namespace,
                "name": gateway.name,
            }
        ],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": endpoint.path}}],
                "backendRefs": [
                    {"group": INFERENCE_GROUP, "kind": INFERENCE_POOL_KIND, "name": meta["name"]}
                ],
            }
        ],
    }
    if endpoint.hostname:
        spec["hostnames"] = [endpoint.hostname]
    meta.setdefault("annotations", {}).update(_gateway_annotations(job, endpoint))
    return stamp(
        {
            "apiVersion": f"{GATEWAY_GROUP}/{GATEWAY_VERSION}",
            "kind": "HTTPRoute",
            "metadata": meta,
            "spec": spec,
        }
    )


def _gateway_annotations(job: InferenceJob, endpoint: EndpointSpec) -> dict[str, str]:
    annotations: dict[str, str] = {}
    if job.spec.placement.client_region is not None:
        annotations[CLIENT_REGION_ANNOTATION] = job.spec.placement.client_region
    if endpoint.api_keys is not None:
        annotations[API_KEYS_ANNOTATION] = endpoint.api_keys.secret_name
    if endpoint.rate_limit is not None:
        limit = endpoint.rate_limit
        annotations[RATE_LIMIT_ANNOTATION] = f"{limit.requests_per_second}/{limit.bucket()}"
    return annotations


def endpoint_url(endpoint: EndpointSpec, gateway: GatewayAddress | None) -> str | None:
    """The URL a tenant reaches the job at: ``http://`` (``https://`` when the gateway's
    listener is HTTPS) and the endpoint's host name, else the gateway's address (with its
    listener's port when not the scheme's), then the path. None: no host name, and the
    gateway has no address yet."""
    if endpoint.hostname:
        host = endpoint.hostname
    elif gateway is not None:
        host = f"[{gateway.host}]" if ":" in gateway.host else gateway.host
    else:
        return None
    tls = gateway is not None and gateway.tls
    scheme, default_port = ("https", HTTPS_PORT) if tls else ("http", HTTP_PORT)
    port = gateway.port if gateway is not None else default_port
    authority = host if port == default_port else f"{host}:{port}"
    return f"{scheme}://{authority}{endpoint.path}"


def _endpoint_of(job: InferenceJob) -> EndpointSpec:
    if job.spec.endpoint is None:
        raise ValueError(f"InferenceJob {job.metadata.name}: spec.endpoint is not set")
    return job.spec.endpoint
