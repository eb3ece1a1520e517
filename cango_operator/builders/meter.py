"""The site meter against the parts it measures: the miners' own figures and the GPU
nodes' (NVML plus their declared overhead, times PUE).

The meter decides; the parts explain it. A gap is what the meter reads beyond (or
short of) the parts:

- a feed of ``loadScope: mining`` measures the miners alone: gap = meter - minersKw;
- ``loadScope: site`` measures the whole site: gap = meter - (minersKw + gpuDrawKw); the
  facility's own load (lights, offices) is in the gap, so keep it within the tolerance or
  meter the miners alone.

The gap counts when it is beyond both :data:`GAP_SHARE` of the meter's reading (miners'
figures are commonly 5-20 % off) and :data:`MIN_GAP_KW`. The Site condition
``MeterReconciled`` says so: ``True`` (within), ``Unknown`` with reason ``GapObserved``
from the moment a gap is seen, ``False`` with reason ``GapPersists`` once it has lasted
:data:`PERSIST` (a wrong meter scale, a miner reporting nonsense, a load nobody
declared). The alert ``CangoSiteMeterDisagrees`` fires on the same figures
(``cango_site_meter_gap_kw``, ``cango_site_meter_gap_ratio``) after as long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cango_operator.api import Condition, LoadScope, Site
from cango_operator.api.conditions import Observation

COND_METER_RECONCILED = "MeterReconciled"
GAP_SHARE = 0.2
MIN_GAP_KW = 5.0
PERSIST = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class MeterGap:
    meter_kw: float
    parts_kw: float

    @property
    def gap_kw(self) -> float:
        return self.meter_kw - self.parts_kw

    @property
    def ratio(self) -> float:
        """|gap| as a share of the meter's reading (1.0 when the meter reads 0)."""
        return abs(self.gap_kw) / self.meter_kw if self.meter_kw > 0 else 1.0

    @property
    def beyond(self) -> bool:
        return abs(self.gap_kw) > MIN_GAP_KW and self.ratio > GAP_SHARE


def meter_gap(site: Site) -> MeterGap | None:
    """The gap of a site whose meter and miners both reported; None otherwise."""
    feed = site.spec.power.feed
    status = site.status
    if feed is None or status is None or status.power is None or status.mining is None:
        return None
    reading = status.power.feed.last_value_kw if status.power.feed is not None else None
    miners_kw = status.mining.miners_kw
    if reading is None or miners_kw is None:
        return None
    parts = miners_kw
    if feed.load_scope is LoadScope.SITE:
        parts += status.power.gpu_draw_kw or 0.0
    return MeterGap(reading, parts)


def reconciled_observation(
    gap: MeterGap, stored: Sequence[Condition], now: datetime
) -> Observation:
    """``MeterReconciled`` now, from the gap and the condition as it stands."""
    text = (
        f"meter {gap.meter_kw:.1f} kW, its parts {gap.parts_kw:.1f} kW: "
        f"gap {gap.gap_kw:+.1f} kW ({gap.ratio:.0%})"
    )
    if not gap.beyond:
        return Observation(COND_METER_RECONCILED, True, "WithinTolerance", text)
    before = next((c for c in stored if c.type == COND_METER_RECONCILED), None)
    if before is not None and before.status == "False":
        return Observation(COND_METER_RECONCILED, False, "GapPersists", text)
    if (
        before is not None
        and before.status == "Unknown"
        and now - before.last_transition_time >= PERSIST
    ):
        minutes = PERSIST.total_seconds() / 60
        return Observation(
            COND_METER_RECONCILED, False, "GapPersists", f"{text}, for over {minutes:g} min"
        )
    return Observation(COND_METER_RECONCILED, None, "GapObserved", text)
