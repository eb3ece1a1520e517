"""What the gateway serves, in its own terms: routes to replicas, with their regions, keys
and limits. Read from the API objects by :mod:`translate`, written as Envoy configuration
by :mod:`envoy`; plain values, so both are pure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    """One replica: its pod's IP and port, and where it runs; ``busy``: it has too many
    requests in flight, new ones go elsewhere while others can take them (:mod:`load`)."""

    pod: str
    ip: str
    port: int
    site: str
    region: str | None
    busy: bool = False


@dataclass(frozen=True)
class Picker:
    """An endpoint picker: the service that, asked through Envoy's ext_proc (the Inference
    Extension's protocol), names the replica to serve each request; ``fail_open``: when
    it fails or is away, Envoy picks (the pool's ``failureMode: FailOpen``), else the
    request fails with 503 (``FailClose``)."""

    host: str
    port: int
    fail_open: bool = True


@dataclass(frozen=True)
class ApiKey:
    """One API key of a route, and the client it names."""

    client: str
    key: str


@dataclass(frozen=True)
class Limit:
    """A token bucket: ``per_second`` tokens a second, ``burst`` at most."""

    per_second: int
    burst: int


@dataclass(frozen=True)
class Route:
    """One path (and host names) of one HTTPRoute, to one InferencePool's replicas.

    ``keys``: None when the route is open; a tuple (perhaps empty: every request refused)
    when it asks for API keys. ``closed``: why every request is refused with 401 (the
    keys' Secret is missing or unreadable), never served open instead. ``picker``: the
    pool's endpoint picker, asked first (None: Envoy picks alone).
    """

    namespace: str
    name: str
    path: str
    exact: bool = False
    hostnames: tuple[str, ...] = ()
    client_region: str | None = None
    backends: tuple[Backend, ...] = ()
    keys: tuple[ApiKey, ...] | None = None
    limit: Limit | None = None
    closed: str | None = None
    picker: Picker | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def regions(self) -> list[str]:
        """Every region a request may prefer: the replicas' and the route's own."""
        found = {b.region for b in self.backends if b.region}
        if self.client_region:
            found.add(self.client_region)
        return sorted(found)


@dataclass(frozen=True)
class Certificate:
    """An HTTPS listener's certificate chain and private key (PEM)."""

    chain: str
    key: str = field(repr=False)


@dataclass(frozen=True)
class Listener:
    """Where Envoy listens for the tenants' requests; with ``tls``, HTTPS only."""

    address: str
    port: int
    tls: Certificate | None = None


@dataclass(frozen=True)
class GatewayModel:
    """Everything one gateway serves."""

    listener: Listener
    routes: tuple[Route, ...] = ()


@dataclass
class RouteVerdict:
    """What the gateway says of one HTTPRoute in its status: accepted or not, and whether
    every reference resolved."""

    accepted: bool = True
    accepted_reason: str = "Accepted"
    resolved: bool = True
    resolved_reason: str = "ResolvedRefs"
    messages: list[str] = field(default_factory=list)

    def refuse(self, reason: str, message: str) -> None:
        self.accepted, self.accepted_reason = False, reason
        self.messages.append(message)

    def unresolved(self, reason: str, message: str) -> None:
        self.resolved, self.resolved_reason = False, reason
        self.messages.append(message)
