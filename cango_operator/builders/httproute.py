"""The HTTPRoute of a job (Gateway API, ``gateway.networking.k8s.io/v1``) and the URL it
gives the tenant.

The route hangs on the one gateway the operator is told of (``--gateway NAMESPACE/NAME``),
matches the job's path prefix (and host name, when it has one) and sends the requests to
the job's InferencePool. The gateway's listener must allow routes from the job's
namespace (``allowedRoutes``): that is the platform admin's.
"""

from __future__ import annotations

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
    """Where the gateway listens, as its status says: its first address and the port of
    its HTTP listener."""

    host: str
    port: int = HTTP_PORT


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
    """The URL a tenant reaches the job at: ``http://`` and the endpoint's host name, else
    the gateway's address (with its listener's port when not 80), then the path. None: no
    host name, and the gateway has no address yet."""
    if endpoint.hostname:
        host = endpoint.hostname
    elif gateway is not None:
        host = f"[{gateway.host}]" if ":" in gateway.host else gateway.host
    else:
        return None
    port = gateway.port if gateway is not None else HTTP_PORT
    authority = host if port == HTTP_PORT else f"{host}:{port}"
    return f"http://{authority}{endpoint.path}"


def _endpoint_of(job: InferenceJob) -> EndpointSpec:
    if job.spec.endpoint is None:
        raise ValueError(f"InferenceJob {job.metadata.name}: spec.endpoint is not set")
    return job.spec.endpoint
