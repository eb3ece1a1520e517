"""What the guard does after a feed sample: nothing, or stop some replicas.

A pure function of what the guard knows, so every rule can be checked by hand:

- while the hub is reachable, nothing: the hub plans, and its operator sheds work itself
  when the site's budget falls (the guard only watches);
- while the site's power figures cannot be trusted (phase ``Unknown``: no sample, a dead
  or stale feed), nothing: the engine moves nothing at such a site either;
- after the guard stopped replicas, nothing until a sample taken after that: the load
  read before it still holds the power of what was stopped;
- otherwise, when the power model says GPU work does not fit (``gpuExcessKw`` > 0), the
  replicas :func:`placement.shed_order` names, each Deployment scaled down by as many.

Nothing is ever scaled up or created: a guard that stopped too much leaves it to the hub.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cango_operator.api import SitePhase
from cango_operator.placement import shed_order
from cango_operator.power import SitePowerState
from cango_operator.siteguard.replicas import SiteDeployment


@dataclass(frozen=True, slots=True)
class ScaleDown:
    """Scale ``deployment`` from ``replicas`` down to ``to``."""

    deployment: SiteDeployment
    to: int
    reason: str

    @property
    def stopped(self) -> int:
        return self.deployment.replicas - self.to


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's answer to one sample: the scale-downs (maybe none) and why."""

    actions: tuple[ScaleDown, ...]
    why: str


def decide(
    *,
    hub_reachable: bool,
    power: SitePowerState,
    deployments: Sequence[SiteDeployment],
    last_shed_at: datetime | None = None,
) -> Decision:
    """The guard's decision for one site after a sample (see the module docstring)."""
    if hub_reachable:
        return Decision((), "the hub is reachable: it decides")
    if power.phase is SitePhase.UNKNOWN:
        return Decision((), f"power figures not current: {power.feed_message}")
    sampled = power.last_sample_time
    if last_shed_at is not None and (sampled is None or sampled <= last_shed_at):
        return Decision((), "waiting for a sample taken after the last shed")
    short_w = math.ceil(power.gpu_excess_kw * 1000 - 1e-6)
    if short_w <= 0:
        return Decision((), "inside the power budget")
    by_row = {d.running: d for d in deployments}
    reason = (
        f"site {power.phase.value}, {power.gpu_excess_kw:g} kW of GPU work over its budget "
        "while the hub is unreachable"
    )
    actions = tuple(
        ScaleDown(by_row[s.row], s.row.replicas - s.replicas, reason)
        for s in shed_order(by_row, short_w)
    )
    return Decision(actions, reason if actions else "over budget, but nothing to stop")
