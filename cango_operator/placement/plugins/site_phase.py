"""SitePhase (:class:`SitePhaseFilter`): only Ready and Degraded sites take new replicas.

Curtailed, Offline and Unknown sites (a stale or broken power feed) take none; a node whose
site the snapshot does not have takes none either.
"""

from __future__ import annotations

from typing import ClassVar

from cango_operator.placement.framework import FilterResult, JobShape, ShapeArrays, StaticFilterKind
from cango_operator.placement.snapshot import SitePhase
from cango_operator.placement.table import SITE_MISSING, SITE_PHASES, FleetTable, IntArray


class SitePhaseFilter(StaticFilterKind):
    name: ClassVar[str] = "SitePhase"
    evicts_running: ClassVar[bool] = False

    def reads(self, shape: JobShape) -> None:
        return None

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        phase = fleet.site_phase[fleet.node_site[nodes]]
        return FilterResult.reject(
            *(
                (phase == SITE_PHASES.index(p), f"site {p.value}")
                for p in (SitePhase.OFFLINE, SitePhase.CURTAILED, SitePhase.UNKNOWN)
            ),
            (phase == SITE_MISSING, "site not found"),
        )
