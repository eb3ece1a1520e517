"""A site's power budget as docs/api.md defines it: the one place for the formula.

The power model (``status.power`` from a feed sample), the engine's snapshot
(``SiteState.available_kw``), its plan state (per site, in whole watts) and meter first
(the room without shedding) all compute with these functions, in kW or in W alike:

- ``base = capacity - reserve - other load`` (the other load is mining, at these sites);
- ``gpu need = max(measured GPU draw, power committed to placed replicas)``;
- ``sheddable = min(curtailable, mining - (nominal mining - curtailable))``, at least 0:
  the mining that may still make room for GPUs. ``nominal mining`` is the Site's
  ``mining.loadKw``; the part of it beyond ``curtailableKw`` is never shed, so mining
  already shed (a meter showing less than nominal) is not counted a second time;
- ``available = base - gpu need + sheddable``; below 0, the GPU work that does not fit
  even when mining sheds all it may is the excess, ``min(gpu need, -available)``;
- ``mining target = mining - min(max(gpu need - base, 0), sheddable)``: present mining,
  lowered as far as the GPU work needs, never by more than it may shed.

Floors at 0 and the phases in which a site takes nothing are the callers' (the power
model's phases, the engine's filters).
"""

from __future__ import annotations

#: How close to their target driven miners count as at it, in kW: GPU draw moves by about
#: that much from one interval to the next, so the site-mining controller raises miners
#: only into more room than this, and the Site's MinersAtTarget allows this much above.
MINING_MARGIN_KW = 2.0


def base(capacity: float, reserve: float, other_load: float) -> float:
    """What the connection leaves beside the reserve and the non-GPU load."""
    return capacity - reserve - other_load


def gpu_need(gpu_draw: float, committed: float) -> float:
    """The GPU power the budget must carry: measured, or promised when that is more."""
    return max(gpu_draw, committed)


def sheddable(curtailable: float, mining: float, nominal: float) -> float:
    """The mining that may still be shed for GPU work, ``mining`` being what runs now."""
    return max(0.0, min(curtailable, mining, mining - (nominal - curtailable)))


def available(base_: float, gpu_need_: float, sheddable_: float) -> float:
    """What new GPU work may still use (not floored: below 0 the site is over)."""
    return base_ - gpu_need_ + sheddable_


def gpu_excess(base_: float, gpu_need_: float, sheddable_: float) -> float:
    """GPU power that does not fit even when mining sheds all it may."""
    return min(gpu_need_, max(0.0, -available(base_, gpu_need_, sheddable_)))


def mining_target(mining: float, base_: float, gpu_need_: float, sheddable_: float) -> float:
    """The mining load that leaves room for the GPU work."""
    return mining - min(max(gpu_need_ - base_, 0.0), sheddable_)
