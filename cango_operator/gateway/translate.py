"""From the API objects to what the gateway serves: the HTTPRoutes on our Gateway, the
InferencePools they send to, the ready pods those select (with the site each runs at and
that site's region), and the API keys the routes' Secrets hold.

Pure: the controller reads the objects (as the API server's JSON) and hands them in. A
route that cannot be served as written is refused (its status says why), never served
looser than it asked: a route whose keys cannot be read refuses every request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cango_operator.builders import GatewayRef
from cango_operator.builders.httproute import (
    API_KEYS_ANNOTATION,
    CLIENT_REGION_ANNOTATION,
    GATEWAY_GROUP,
    RATE_LIMIT_ANNOTATION,
    ServedListener,
    served_listener,
)
from cango_operator.builders.inferencepool import FAIL_OPEN, INFERENCE_GROUP, INFERENCE_POOL_KIND
from cango_operator.builders.labels import SITE_LABEL
from cango_operator.gateway.model import (
    ApiKey,
    Backend,
    Certificate,
    GatewayModel,
    Limit,
    Listener,
    Picker,
    Route,
    RouteVerdict,
)

Object = Mapping[str, Any]
#: A Secret's data, decoded; None where the Secret is missing or unreadable.
SecretData = Mapping[str, str] | None


@dataclass(frozen=True)
class Observed:
    """What the controller read: the Gateway, every HTTPRoute, the InferencePools and the
    pods (by namespace and name), each Site's region, and the referenced Secrets (the
    routes' keys, the listener's certificate)."""

    gateway: Object | None
    routes: Sequence[Object] = ()
    pools: Mapping[tuple[str, str], Object] = field(default_factory=dict)
    pods: Sequence[Object] = ()
    site_regions: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[tuple[str, str], SecretData] = field(default_factory=dict)


@dataclass
class Translation:
    """The model to serve (None: the Gateway cannot be served, ``problem`` says why) and
    a verdict for every route that names the Gateway."""

    model: GatewayModel | None
    problem: str | None = None
    verdicts: dict[tuple[str, str], RouteVerdict] = field(default_factory=dict)


def _meta(obj: Object) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def certificate_ref(gateway: Object | None) -> tuple[str, str] | None:
    """The Secret an HTTPS listener's certificate is in (the controller reads it)."""
    listener = served_listener(gateway) if gateway is not None else None
    return listener.certificate if listener is not None else None


def names_gateway(route: Object, gateway: GatewayRef) -> bool:
    """Whether one of the route's parentRefs is ``gateway``."""
    namespace, _ = _meta(route)
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        if (
            ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP
            and ref.get("kind", "Gateway") == "Gateway"
            and ref.get("namespace", namespace) == gateway.namespace
            and ref.get("name") == gateway.name
        ):
            return True
    return False


def secret_refs(routes: Iterable[Object], gateway: GatewayRef) -> set[tuple[str, str]]:
    """The Secrets (namespace, name) of the routes on ``gateway`` that ask for API keys."""
    refs = set()
    for route in routes:
        name = ((route.get("metadata") or {}).get("annotations") or {}).get(API_KEYS_ANNOTATION)
        if name and names_gateway(route, gateway):
            refs.add((_meta(route)[0], str(name)))
    return refs


def decode_secret(secret: Object) -> dict[str, str]:
    """A Secret's data entries, base64-decoded; entries that do not decode are left out."""
    decoded = {}
    for name, value in (secret.get("data") or {}).items():
        try:
            decoded[str(name)] = base64.b64decode(str(value), validate=True).decode().strip()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return decoded


def translate(
    observed: Observed,
    gateway: GatewayRef,
    address: str,
    region: str | None = None,
    pickers: str | None = None,
) -> Translation:
    """What to serve on ``address``, at the port of the Gateway's HTTP listener.
    ``region``: the gateway's own, preferred for requests that name none (a regional
    gateway's clients are near it); None: each job's clientRegion. ``pickers``: where
    each pool's endpoint picker answers, a ``HOST:PORT`` template (see
    :func:`picker_address`); None: no picker is asked."""
    if observed.gateway is None:
        return Translation(None, f"the Gateway {gateway} does not exist")
    listener = served_listener(observed.gateway)
    if listener is None:
        return Translation(None, f"the Gateway {gateway} has no HTTP or HTTPS listener with a port")
    tls, problem = _certificate(listener, gateway, observed)
    if problem:
        # Never served as plain HTTP instead.
        return Translation(None, problem)
    allowed = listener.allowed_from
    routes: list[Route] = []
    verdicts: dict[tuple[str, str], RouteVerdict] = {}
    for obj in observed.routes:
        if not names_gateway(obj, gateway):
            continue
        verdict = RouteVerdict()
        verdicts[_meta(obj)] = verdict
        namespace = _meta(obj)[0]
        if allowed != "All" and namespace != gateway.namespace:
            verdict.refuse(
                "NotAllowedByListeners",
                f"the Gateway's listener admits routes from its own namespace "
                f"({gateway.namespace}) only (allowedRoutes.namespaces.from: {allowed})",
            )
            continue
        routes += _routes_of(obj, observed, verdict, region, pickers)
    model = GatewayModel(Listener(address, listener.port, tls), tuple(routes))
    return Translation(model, None, verdicts)


def _certificate(
    listener: ServedListener, gateway: GatewayRef, observed: Observed
) -> tuple[Certificate | None, str | None]:
    """An HTTPS listener's certificate, or why it cannot be served."""
    if not listener.tls:
        return None, None
    ref = listener.certificate
    if ref is None:
        return (
            None,
            f"the Gateway {gateway}'s HTTPS listener names no certificate (tls.certificateRefs)",
        )
    if ref[0] != gateway.namespace:
        return None, (
            f"the Gateway {gateway}'s certificate Secret {ref[0]}/{ref[1]} is in another "
            "namespace: only the Gateway's own namespace is read"
        )
    data = observed.secrets.get(ref) or {}
    chain, key = data.get("tls.crt"), data.get("tls.key")
    if not chain or not key:
        return None, (
            f"the Gateway {gateway}'s certificate Secret {ref[1]} is missing or holds no "
            "tls.crt and tls.key"
        )
    return Certificate(chain, key), None


def _routes_of(
    obj: Object,
    observed: Observed,
    verdict: RouteVerdict,
    region: str | None,
    pickers: str | None,
) -> list[Route]:
    namespace, name = _meta(obj)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    spec = obj.get("spec") or {}
    limit = _limit(annotations.get(RATE_LIMIT_ANNOTATION), verdict)
    if not verdict.accepted:
        return []
    keys: tuple[ApiKey, ...] | None = None
    closed = None
    secret_name = annotations.get(API_KEYS_ANNOTATION)
    if secret_name:
        keys, closed = _keys(observed.secrets.get((namespace, str(secret_name))), secret_name)
        if closed:
            verdict.unresolved("InvalidKeys", closed)
    hostnames = tuple(str(h) for h in spec.get("hostnames") or [])
    client_region = region or annotations.get(CLIENT_REGION_ANNOTATION) or None
    found: list[Route] = []
    for rule in spec.get("rules") or []:
        pool = _pool(rule, namespace, observed, verdict)
        if pool is None:
            continue
        backends = _pool_backends(pool, namespace, observed)
        picker = picker_of(pool, namespace, pickers) if pickers else None
        for match in rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}]:
            path = match.get("path") or {"type": "PathPrefix", "value": "/"}
            if path.get("type", "PathPrefix") not in ("PathPrefix", "Exact") or set(match) - {
                "path"
            }:
                verdict.refuse(
                    "UnsupportedValue",
                    "only path matches of type PathPrefix or Exact are served "
                    f"(rule match {dict(match)})",
                )
                return []
            found.append(
                Route(
                    namespace=namespace,
                    name=name,
                    path=str(path.get("value", "/")),
                    exact=path.get("type") == "Exact",
                    hostnames=hostnames,
                    client_region=str(client_region) if client_region else None,
                    backends=backends,
                    keys=keys,
                    limit=limit,
                    closed=closed,
                    picker=picker,
                )
            )
    return found


def _limit(text: str | None, verdict: RouteVerdict) -> Limit | None:
    if not text:
        return None
    per_second, sep, burst = str(text).partition("/")
    if not (per_second.isdigit() and (not sep or burst.isdigit())) or int(per_second) < 1:
        verdict.refuse(
            "UnsupportedValue",
            f"annotation {RATE_LIMIT_ANNOTATION}: expected REQUESTS_PER_SECOND/BURST, got {text!r}",
        )
        return None
    return Limit(int(per_second), max(int(burst) if sep else int(per_second), 1))


def _keys(data: SecretData, secret: str) -> tuple[tuple[ApiKey, ...], str | None]:
    if data is None:
        return (), f"the Secret {secret} holding the API keys is missing: every request gets 401"
    keys: dict[str, ApiKey] = {}
    for client, key in sorted(data.items()):
        if key and key not in keys:
            keys[key] = ApiKey(client, key)
    if not keys:
        return (), f"the Secret {secret} holds no API key: every request gets 401"
    return tuple(keys.values()), None


def _pool(rule: Object, namespace: str, observed: Observed, verdict: RouteVerdict) -> Object | None:
    refs = rule.get("backendRefs") or []
    pools = [
        r
        for r in refs
        if r.get("group") == INFERENCE_GROUP and r.get("kind") == INFERENCE_POOL_KIND
    ]
    if len(pools) != 1 or len(refs) != 1:
        verdict.unresolved(
            "InvalidKind", "a rule is served when its one backendRef is an InferencePool"
        )
        return None
    ref = pools[0]
    pool = observed.pools.get((str(ref.get("namespace", namespace)), str(ref.get("name"))))
    if pool is None or str(ref.get("namespace", namespace)) != namespace:
        verdict.unresolved(
            "BackendNotFound", f"the InferencePool {ref.get('name')} is not in {namespace}"
        )
        return None
    return pool


def picker_address(template: str, name: str, namespace: str, port: int) -> Picker:
    """Where a pool's endpoint picker answers: ``template`` with ``{name}``,
    ``{namespace}`` and ``{port}`` of its ``endpointPickerRef`` filled in, as HOST:PORT
    (the default, ``{name}.{namespace}.svc:{port}``, is the Service's name in the cluster's
    DNS). Raises ValueError when the result is no HOST:PORT."""
    address = template.format(name=name, namespace=namespace, port=port)
    host, sep, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    return Picker(host, int(port_text))


def picker_of(pool: Object, namespace: str, template: str) -> Picker | None:
    """The pool's endpoint picker, from its ``endpointPickerRef`` (None when it names
    none, or the template gives no address: the gateway's command checks it at start);
    it fails closed (the API's default) unless the ref says ``failureMode: FailOpen``."""
    ref = (pool.get("spec") or {}).get("endpointPickerRef") or {}
    port = (ref.get("port") or {}).get("number")
    if not ref.get("name") or not port:
        return None
    try:
        found = picker_address(template, str(ref["name"]), namespace, int(port))
    except (ValueError, KeyError, IndexError):
        return None
    return replace(found, fail_open=ref.get("failureMode") == FAIL_OPEN)


def _pool_backends(pool: Object, namespace: str, observed: Observed) -> tuple[Backend, ...]:
    spec = pool.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    ports = [p.get("number") for p in spec.get("targetPorts") or [] if p.get("number")]
    if not selector or not ports:
        return ()
    found = []
    for pod in observed.pods:
        pod_ns, pod_name = _meta(pod)
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if pod_ns != namespace or any(labels.get(k) != v for k, v in selector.items()):
            continue
        ip = _ready_ip(pod)
        if ip is None:
            continue
        site = str(labels.get(SITE_LABEL, ""))
        region = observed.site_regions.get(site)
        found.append(Backend(pod_name, ip, int(ports[0]), site, region))
    return tuple(sorted(found, key=lambda b: (b.site, b.pod)))


def _ready_ip(pod: Object) -> str | None:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    ip = status.get("podIP")
    return str(ip) if ready and ip else None
