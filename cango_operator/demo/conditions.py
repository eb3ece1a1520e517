"""What a site's meter and price feed say at a moment of the simulated day.

A pure function of the scenario and the simulated time, so the feed server, the view
and the tests agree on it:

- normally: the spec's capacity, mining load and price;
- a storm: no grid at all: capacity 0, load 0, the curtailment flag up (the site is
  dark and its nodes stop);
- a grid curtailment: the flag goes up ``announceMinutes`` before ``start`` (the order
  arrives ahead), and from ``start`` to ``end`` the capacity is the lowered one; the
  miners keep their contracted load (only ``curtailableKw`` of it may be shed), so the
  GPUs must make up the difference;
- a price spike: the price from ``start`` to ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cango_operator.demo.scenario import (
    CurtailmentEvent,
    PriceSpikeEvent,
    Scenario,
    SiteScenario,
    StormEvent,
)


@dataclass(frozen=True)
class SiteConditions:
    """One site's feed values at one moment."""

    site: str
    capacity_kw: float
    mining_load_kw: float
    curtailed: bool
    price_usd_per_mwh: float
    powered: bool

    def as_feed_document(self) -> dict[str, object]:
        """The JSON the site's mining meter serves (paths named in ``spec.power.feed``).

        ``loadKw`` is the mining load (the Site says ``loadScope: mining``): GPU draw is
        the agents' to report, so the budget does not move with when each was sampled.
        """
        return {
            "site": self.site,
            "loadKw": round(self.mining_load_kw, 3),
            "capacityKw": round(self.capacity_kw, 3),
            "curtailed": self.curtailed,
            "priceUsdPerMwh": round(self.price_usd_per_mwh, 3),
        }


def _active(start: float, end: float, t: float) -> bool:
    return start <= t < end


def site_conditions(scenario: Scenario, site: SiteScenario, t: float) -> SiteConditions:
    """The feed values of ``site`` at simulated time ``t`` (seconds from the day's start)."""
    capacity = site.capacity_kw
    mining = site.mining.load_kw
    price = site.energy_price_usd_per_mwh
    curtailed = False
    powered = True
    for event in scenario.events:
        if isinstance(event, StormEvent) and site.name in event.sites:
            if _active(event.start, event.end, t):
                powered = False
        elif isinstance(event, CurtailmentEvent) and event.site == site.name:
            if _active(event.start - event.announce_minutes * 60, event.end, t):
                curtailed = True
            if _active(event.start, event.end, t):
                capacity = min(capacity, event.capacity_kw)
        elif (
            isinstance(event, PriceSpikeEvent)
            and site.name in event.sites
            and _active(event.start, event.end, t)
        ):
            price = event.price_usd_per_mwh
    if not powered:
        return SiteConditions(site.name, 0.0, 0.0, True, price, False)
    return SiteConditions(site.name, capacity, mining, curtailed, price, True)


def fleet_conditions(scenario: Scenario, t: float) -> dict[str, SiteConditions]:
    return {site.name: site_conditions(scenario, site, t) for site in scenario.sites}
