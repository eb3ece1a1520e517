"""The mining side of the demo's report: mining kW, revenue of both sides, and how fast a
curtailment was met.

- *mining kW*: per site, the meter's mining as the operator last read it (Site
  ``status.power.otherLoadKw``) in the ``cango`` world, whose site-mining controllers
  drive the miners; the Site's nominal ``mining.loadKw`` in the baseline world, where
  nothing drives them (a dark site mines nothing in either);
- *revenue over the day*: mining kWh times what a kWh of the demo's miners earns (the
  scenario's hashprice over their mean J/TH), and GPU-hours of serving replicas times the
  scenario's value per GPU-hour;
- *curtailment response*, per curtailment and world: real seconds from the moment the
  lowered capacity applied until, in a sample whose Site status shows the cut, the
  site's meter showed its mining at the operator's target (within meter first's
  tolerance: 1 % of the site's capacity, at least 1 kW) (``cango`` only:
  nothing sets one for the baseline), and until the whole site (its mining, the world's
  serving GPU work, the reserve) was within the lowered capacity; a sample is 1-2 real
  seconds, so these are upper bounds within that resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cango_operator.demo.fleet import BASELINE_FLEET
from cango_operator.demo.samples import SiteSample, Snapshot
from cango_operator.placement.meterfirst import TOLERANCE_SHARE

#: Mining within this of its target counts as there, or within meter first's tolerance
#: (1 % of the site's capacity: the meter's noise, and sleeping miners still draw a little).
TARGET_TOLERANCE_KW = 1.0


@dataclass(frozen=True)
class Revenue:
    mining_kwh: float
    mining_usd: float
    mean_mining_kw: float
    gpu_hours: float
    gpu_usd: float

    @property
    def total_usd(self) -> float:
        return self.mining_usd + self.gpu_usd


@dataclass(frozen=True)
class CurtailmentResponse:
    event: str
    site: str
    capacity_kw: float  # the lowered capacity
    mining_before_kw: float | None  # the meter's mining in the last sample before it
    mining_during_kw: float | None  # its lowest while it lasted
    mining_at_target_s: float | None  # real seconds; None: never within the window
    site_within_s: float | None  # real seconds; None: never within the window


def site_mining_kw(site: SiteSample, world: str) -> float:
    """One site's mining in one world (see the module docstring)."""
    if not site.powered:
        return 0.0
    return site.nominal_mining_kw if world == BASELINE_FLEET else site.mining_kw


def mining_kw(snapshot: Snapshot, world: str) -> float:
    """The world's mining across its sites in one sample."""
    return sum(site_mining_kw(site, world) for site in snapshot.sites.values())


def revenue(
    snapshots: Sequence[Snapshot],
    weights: Sequence[float],
    world: str,
    mining_usd_per_kwh: float,
    gpu_usd_per_hour: float,
) -> Revenue:
    kwh = gpu_hours = 0.0
    for snap, dt in zip(snapshots, weights, strict=True):
        kwh += mining_kw(snap, world) * dt / 3600
        gpu_hours += sum(r.gpus for r in snap.replicas_of(world) if r.serving) * dt / 3600
    seconds = sum(weights)
    return Revenue(
        mining_kwh=kwh,
        mining_usd=kwh * mining_usd_per_kwh,
        mean_mining_kw=kwh * 3600 / seconds if seconds else 0.0,
        gpu_hours=gpu_hours,
        gpu_usd=gpu_hours * gpu_usd_per_hour,
    )


def curtailment_response(
    snapshots: Sequence[Snapshot],
    world: str,
    *,
    event: str,
    site: str,
    real_start: float,
    real_end: float | None,
) -> CurtailmentResponse:
    """How the ``event`` at ``site`` was met in ``world``."""
    before = [s for s in snapshots if s.real_s <= real_start and site in s.sites]
    end = real_end if real_end is not None else float("inf")
    during = [s for s in snapshots if real_start < s.real_s <= end and site in s.sites]
    capacity = min((s.sites[site].capacity_kw for s in during), default=0.0)
    mined = {id(s): site_mining_kw(s.sites[site], world) for s in [*before[-1:], *during]}
    tolerance = max(TARGET_TOLERANCE_KW, TOLERANCE_SHARE * capacity)
    at_target = within = None
    for snap in during:
        sample = snap.sites[site]
        if sample.capacity_kw > capacity + TARGET_TOLERANCE_KW:
            continue  # the cut is not in the Site's status yet: no target for it either
        target = sample.mining_target_kw
        if (
            at_target is None
            and world != BASELINE_FLEET
            and target is not None
            and mined[id(snap)] <= target + tolerance
        ):
            at_target = snap.real_s - real_start
        gpu_kw = sum(
            r.power_w * sample.pue / 1000
            for r in snap.replicas_of(world)
            if r.serving and r.site == site
        )
        draw = mined[id(snap)] + gpu_kw + sample.reserve_kw
        if within is None and draw <= capacity + tolerance:
            within = snap.real_s - real_start
    return CurtailmentResponse(
        event=event,
        site=site,
        capacity_kw=capacity,
        mining_before_kw=mined[id(before[-1])] if before else None,
        mining_during_kw=min((mined[id(s)] for s in during), default=None),
        mining_at_target_s=at_target,
        site_within_s=within,
    )
