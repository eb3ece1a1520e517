"""Meter first: new replicas that need the mining power being shed start only once the
site's meter shows the room.

The engine plans with the mining a site may shed (``curtailableKw``) counted as room, and
publishes the mining target that makes the plan fit. Miners take minutes to ramp down and
their own figures can be 5-20 % off, so the plan's new replicas at a site with a live feed
(the meter) are started only as far as the meter's figures leave room for them now:

    room = capacityKw - reserveKw - otherLoadKw - max(gpuDrawKw, running replicas' power)

where ``otherLoadKw`` is the meter's non-GPU load (the miners in it) and the running
replicas are those already started (everything but the new and the still held ones), all
at the meter (times PUE). Replicas are released whole, the job of highest priority first,
while their power fits ``room`` plus a tolerance of :data:`TOLERANCE_SHARE` of the site's
capacity (the meter's noise); the rest are *held*: placed (their power stays in the plan,
so the mining target keeps asking for it) but not started. Each round looks again; a
feed sample that shows the miners down releases them.

A site without a live feed has no meter: its replicas start at once, as before. A site
whose figures cannot be trusted (``Unknown``, ``Offline``) releases nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cango_operator.api import budget
from cango_operator.placement.plan import Placement, Plan
from cango_operator.placement.snapshot import SitePhase, SiteState, Snapshot

#: The meter's noise: released power may exceed the measured room by this share of the
#: site's capacity.
TOLERANCE_SHARE = 0.01
_UNTRUSTED = frozenset({SitePhase.UNKNOWN, SitePhase.OFFLINE})

#: (job, node): replicas held there.
Held = dict[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class _Pending:
    placement: Placement
    count: int  # replicas not yet started: new in this plan, or held before
    replica_w: float  # one replica's power at the meter


def hold_for_meter(
    plan: Plan,
    snapshot: Snapshot,
    metered: Collection[str],
    held_before: Mapping[tuple[str, str], int],
) -> Held:
    """The replicas of ``plan`` to hold, by (job, node); ``metered``: the sites with a live
    feed; ``held_before``: what the last round held (the jobs' statuses)."""
    sites = {s.name: s for s in snapshot.sites}
    priority = {j.key: j.priority for j in snapshot.jobs}
    held: Held = {}
    for name in sorted(set(metered)):
        site = sites.get(name)
        if site is None:
            continue
        here = [p for p in plan.placements if p.site == name and p.replicas > 0]
        pending = [
            _Pending(
                p,
                min(p.replicas, p.new_replicas + held_before.get((p.job, p.node), 0)),
                p.power_w / p.replicas * site.pue,
            )
            for p in here
        ]
        pending = [q for q in pending if q.count > 0]
        if not pending:
            continue
        running_w = sum(p.power_w * site.pue for p in here) - sum(
            q.count * q.replica_w for q in pending
        )
        room_w = _room_w(site, running_w)
        pending.sort(
            key=lambda q: (-priority.get(q.placement.job, 0), q.placement.job, q.placement.node)
        )
        for q in pending:
            released = 0
            while released < q.count and q.replica_w <= room_w:
                room_w -= q.replica_w
                released += 1
            if released < q.count:
                held[(q.placement.job, q.placement.node)] = q.count - released
    return held


def _room_w(site: SiteState, running_w: float) -> float:
    """What the meter leaves for replicas not started yet, tolerance included."""
    if site.phase in _UNTRUSTED:
        return 0.0
    need_w = budget.gpu_need(site.gpu_draw_kw * 1000, running_w)
    free = budget.available(site.base_kw * 1000, need_w, 0.0)  # nothing shed yet
    return free + TOLERANCE_SHARE * site.capacity_kw * 1000
