"""A job's endpoint: where its tenant reaches it through the inference gateway."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from cango_operator.api.base import SpecModel, cel_rule
from cango_operator.api.types import DNS_SUBDOMAIN_PATTERN

#: An absolute path of unreserved characters (RFC 3986), as an HTTPRoute's PathPrefix
#: takes it: segments separated by single slashes, a trailing slash allowed.
PATH_PATTERN = r"^/([-A-Za-z0-9._~]+(/[-A-Za-z0-9._~]+)*/?)?$"
#: A "." or ".." segment, which the Gateway API refuses in a path.
DOT_SEGMENT = r"(^|/)\.\.?(/|$)"


class ApiKeysRef(SpecModel):
    """Where the job's API keys are: a Secret in the job's namespace."""

    secret_name: Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
    """Name of a Secret in the job's namespace. Each data entry is one key: the entry's
    name names the client (in logs, metrics and rate limits), its value is the key the
    client sends as ``Authorization: Bearer <key>``. Rotate by adding the new entry,
    moving the clients, then removing the old one; the gateway follows within seconds."""


class RateLimit(SpecModel):
    """How many requests the gateway lets through per second: per API key when the job
    has keys, else for the whole endpoint. Over it: 429 with Retry-After."""

    requests_per_second: Annotated[int, Field(ge=1, le=1_000_000)]
    """Sustained rate: tokens added each second."""
    burst: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """Requests that may arrive at once (the bucket's size); absent: requestsPerSecond."""

    def bucket(self) -> int:
        """The token bucket's size."""
        return self.burst if self.burst is not None else self.requests_per_second


class EndpointSpec(SpecModel):
    """Route the job through the inference gateway (the operator's --gateway): an
    InferencePool of its replicas and an HTTPRoute to it (docs/endpoints.md)."""

    path: Annotated[str, Field(min_length=1, max_length=1024, pattern=PATH_PATTERN)] = "/"
    """Path prefix the job is served under, e.g. /v1 (matches /v1 and /v1/..., not /v1x).
    The request reaches the replicas with its path unchanged."""
    hostname: (
        Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)] | None
    ) = None
    """Host name the route matches (a DNS name pointing to the gateway), e.g.
    llama.tenant-a.example.com; absent: any host, and status.endpoint names the gateway's
    address."""

    api_keys: ApiKeysRef | None = None
    """Require an API key (``Authorization: Bearer <key>``) from the Secret named here;
    a request without a valid one gets 401. Absent: the endpoint is open."""
    rate_limit: RateLimit | None = None
    """Limit the request rate at the gateway (per key when apiKeys is set); absent: no
    limit."""

    @cel_rule(
        "!self.path.matches('" + DOT_SEGMENT.replace("\\", "\\\\") + "')",
        message="path must not hold a '.' or '..' segment",
        field="path",
    )
    def _no_dot_segments(self) -> bool:
        return re.search(DOT_SEGMENT, self.path) is None
