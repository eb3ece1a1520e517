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

    @cel_rule(
        "!self.path.matches('" + DOT_SEGMENT.replace("\\", "\\\\") + "')",
        message="path must not hold a '.' or '..' segment",
        field="path",
    )
    def _no_dot_segments(self) -> bool:
        return re.search(DOT_SEGMENT, self.path) is None
