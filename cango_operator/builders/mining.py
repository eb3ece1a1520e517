"""The Site condition ``MinersAtTarget``: whether the site-mining controller has its miners
where the operator's mining target wants them, from its ``status.mining``.

- ``True``, reason ``AtTarget``: the miners draw no more than their target (within the
  controller's 2 kW margin);
- ``False``, reason ``Ramping``: above it, and nothing stands in the way (the next ramp
  brings them down);
- ``False``, reason ``Shortfall``: above it at best (miners that do not answer or refuse
  cannot be acted on): GPU work must give way for the rest;
- ``Unknown``, reason ``NotDriven``: the controller says it cannot act (its message).

Absent at a site that lists no miners or whose controller has not reported yet.
"""

from __future__ import annotations

from cango_operator.api import Site, budget
from cango_operator.api.conditions import Observation

COND_MINERS_AT_TARGET = "MinersAtTarget"


def miners_observation(site: Site) -> Observation | None:
    mining = site.status.mining if site.status is not None else None
    if not site.spec.mining.miners or mining is None:
        return None
    if mining.message and mining.miners_kw is None:
        return Observation(COND_MINERS_AT_TARGET, None, "NotDriven", mining.message)
    if mining.miners_kw is None or mining.target_kw is None:
        return None
    drawn, target = mining.miners_kw, mining.target_kw
    counts = mining.miners
    unreachable = counts.unreachable if counts is not None and counts.unreachable else 0
    silent = f"; {unreachable} not answering" if unreachable else ""
    figures = f"the miners draw {drawn:g} kW, their target is {target:g} kW{silent}"
    if mining.shortfall_kw:
        note = f"{figures}: {mining.shortfall_kw:g} kW above it at best"
        return Observation(COND_MINERS_AT_TARGET, False, "Shortfall", note)
    if drawn > target + budget.MINING_MARGIN_KW:
        return Observation(COND_MINERS_AT_TARGET, False, "Ramping", figures)
    return Observation(COND_MINERS_AT_TARGET, True, "AtTarget", figures)
