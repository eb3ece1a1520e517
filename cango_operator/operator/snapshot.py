"""The engine's input, from the round's fleet view, through the engine's own API mapping
(:mod:`cango_operator.placement.from_api`).

Each object is converted on its own: one that the engine refuses (or a name given twice)
is logged and left out, so a single bad object never stops the whole fleet from being
planned. The view has already applied what only the operator knows (stale heartbeats,
vanished Nodes, placements written but not yet watched).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from cango_operator.api import Site
from cango_operator.operator.view import FleetView
from cango_operator.placement import ExistingPlacement, Snapshot, SnapshotError, from_api

logger = logging.getLogger(__name__)
In = TypeVar("In")
Out = TypeVar("Out")


def build_snapshot(view: FleetView) -> Snapshot:
    sites = sorted(view.sites.values(), key=lambda s: s.name)
    prices = [p for p in (_price(s) for s in sites) if p is not None]
    fallback = sum(prices) / len(prices) if prices else 0.0
    jobs = list(view.jobs.values())
    return Snapshot(
        sites=tuple(_each(sites, lambda s: from_api.site_state(s, fallback), lambda s: s.name)),
        nodes=tuple(
            _each(
                sorted(view.gpunodes.values(), key=lambda n: n.name),
                from_api.node_state,
                lambda n: n.name,
            )
        ),
        jobs=tuple(_each(jobs, from_api.job_request, lambda j: j.key)),
        placements=tuple(
            p
            for rows in _each(jobs, from_api.running_placements, _placement_rows_key)
            for p in rows
        ),
    )


def _price(site: Site) -> float | None:
    """The site's energy price, as the engine reads it (measured over declared)."""
    if site.status is not None and site.status.energy_price_usd_per_mwh is not None:
        return site.status.energy_price_usd_per_mwh
    return site.spec.energy_price_usd_per_mwh


def _placement_rows_key(rows: list[ExistingPlacement]) -> str:
    return rows[0].job if rows else ""


def _each(
    items: Iterable[In], convert: Callable[[In], Out], name_of: Callable[[Out], str]
) -> list[Out]:
    out = []
    seen: set[str] = set()
    for item in items:
        try:
            state = convert(item)
        except (SnapshotError, ValueError) as exc:
            logger.warning("left out of planning: %s", exc)
            continue
        name = name_of(state)
        if name and name in seen:
            logger.warning("left out of planning: %s appears twice", name)
            continue
        seen.add(name)
        out.append(state)
    return out
