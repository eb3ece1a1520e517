"""What a site's guard stopped while the hub was unreachable, as it reports it on a
GpuNode when the hub is back (annotation ``compute.cango.io/site-guard-report``, JSON).

The guard writes it and the hub's operator reads it, both through these models; the
format is documented in docs/federation.md. Lenient like every status: a reader ignores
fields it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, PlainSerializer, ValidationError

from cango_operator.api.base import StatusModel
from cango_operator.api.meta import rfc3339

SITE_GUARD_REPORT_ANNOTATION = "compute.cango.io/site-guard-report"

#: A time on the wire as Kubernetes writes its own: whole seconds, UTC, ``Z``.
Time = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]


class ShedEntry(StatusModel):
    """One Deployment the guard scaled down."""

    at: Time
    """When."""
    site: str
    """The Site whose budget fell short."""
    namespace: str
    """The job's namespace (the Deployment's)."""
    job: str
    """The job's name (as its label holds it)."""
    deployment: str
    """The Deployment at the site, named as the operator names it."""
    gpunode: str
    """The GpuNode its replicas run on."""
    from_replicas: Annotated[int, Field(ge=0)]
    """Its replicas before."""
    to_replicas: Annotated[int, Field(ge=0)]
    """Its replicas after: what runs now."""
    reason: str
    """Why, in words."""


class SiteGuardReport(StatusModel):
    """Everything the guard stopped on one GpuNode during the last time away."""

    cluster: str
    """The managed cluster of the site."""
    unreachable_since: Time | None = None
    """When the guard took the hub for unreachable."""
    reachable_at: Time
    """When the hub answered again; a new value is a new report."""
    shed: list[ShedEntry] = Field(default_factory=list)
    """In the order the guard stopped them."""

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


def parse_site_guard_report(text: str | None) -> SiteGuardReport | None:
    """The report in an annotation's value; None when there is none or it is unreadable."""
    if not text:
        return None
    try:
        return SiteGuardReport.model_validate_json(text)
    except ValidationError:
        return None
