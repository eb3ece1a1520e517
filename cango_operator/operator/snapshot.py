"""The engine's input, from the round's fleet view, through the engine's own API mapping
(:func:`cango_operator.placement.from_api.snapshot_from_api`, the one adapter that
``plan -f`` uses too).

Each object is converted on its own: one that the engine refuses (or a name given twice)
is logged and left out, so a single bad object never stops the whole fleet from being
planned. The view has already applied what only the operator knows (stale heartbeats,
vanished Nodes, placements written but not yet watched).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from cango_operator.operator.view import FleetView
from cango_operator.placement import Snapshot, from_api

logger = logging.getLogger(__name__)


def build_snapshot(view: FleetView, replica_limits: Mapping[str, int] | None = None) -> Snapshot:
    """``replica_limits``: the replicas a tenant's quota admits, by job (``--kueue``)."""
    return from_api.snapshot_from_api(
        view.sites.values(),
        view.gpunodes.values(),
        view.jobs.values(),
        left_out=lambda why: logger.warning("left out of planning: %s", why),
        replica_limits=replica_limits,
    )
