"""Deployments as the operator writes them at a site, and the site's power as the model
computes it, for the guard's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cango_operator.builders import build_deployment
from cango_operator.power import (
    FeedSample,
    FeedState,
    GpuLoad,
    SitePowerSpec,
    SitePowerState,
    compute_site_power,
)
from cango_operator.siteguard import SiteDeployment, of_site
from tests.unit.builders.factories import job

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SITE = "latam-1-a"
PUE = 1.1
#: 1 GPU x 700 W: 770 W of the site's budget with the PUE.
REPLICA_W = 700.0


def deployment(
    name: str,
    replicas: int = 1,
    *,
    priority: int = 0,
    preemptible: bool = False,
    node: str = "gpu-1",
    site: str = SITE,
    power_w: float | None = REPLICA_W,
) -> dict[str, Any]:
    """What the work agent applies at the site for ``name`` (a job of namespace ns)."""
    spec: dict[str, Any] = {"priority": priority, "preemptible": preemptible}
    manifest = build_deployment(
        job(name, namespace="ns", **spec), site, node, replicas, replica_power_w=power_w
    )
    manifest["metadata"].pop("ownerReferences")
    return manifest


def at_site(*manifests: dict[str, Any]) -> list[SiteDeployment]:
    return of_site(manifests, SITE, PUE)


def power(
    deployments: list[SiteDeployment],
    *,
    capacity_kw: float | None = None,
    mining_kw: float = 10.0,
    sampled: datetime = T0,
    now: datetime | None = None,
) -> SitePowerState:
    """The site's power after a sample of a mining-scope feed: ``mining_kw`` of mining and
    capacity ``capacity_kw`` (the contract's 2000 kW when None)."""
    spec = SitePowerSpec(capacity_kw=2000, reserve_kw=10, pue=PUE)
    sample = FeedSample(timestamp=sampled, mining_load_kw=mining_kw, capacity_kw=capacity_kw)
    kw = sum((d.replica_power_w or 0) * d.replicas for d in deployments) / 1000
    feed = FeedState("test meter", last_good=sample)
    return compute_site_power(spec, feed, GpuLoad(kw, kw), now or sampled + timedelta(seconds=1))


def short_by(deployments: list[SiteDeployment], kw: float, **kwargs: Any) -> SitePowerState:
    """Power with the capacity cut so the GPU work is ``kw`` over the budget."""
    gpu_kw = sum((d.replica_power_w or 0) * d.replicas for d in deployments) / 1000 * PUE
    return power(deployments, capacity_kw=10 + 10 + gpu_kw - kw, **kwargs)
