"""The site power model: spec + last good feed sample + GPU load -> phase and power budget.

A pure function of its inputs (no I/O, no clock of its own), so every number in
``status.power`` can be checked by hand. Definitions (docs/api.md, all kW):

- ``gpuDrawKw = measured GPU node power x pue``; ``committedKw = placed replicas' power x pue``.
- ``otherLoadKw``: everything but GPU nodes. A feed with ``loadScope: site`` measures the
  whole site, so ``otherLoadKw = site load - gpuDrawKw``; with ``loadScope: mining`` it is
  the mining load itself; with no live load it is the spec's ``mining.loadKw``. Non-GPU
  load is taken to be mining (these are mining sites), and what mining may still shed is
  ``min(mining.curtailableKw, otherLoadKw - (mining.loadKw - mining.curtailableKw))``
  (mining already shed is not counted twice).
- ``capacityKw``: the contracted capacity, lowered to the feed's capacity when it is
  lower (curtailment). A curtailment *signal* without a figure holds the site at its
  present draw (``otherLoadKw + gpuDrawKw``): nothing more from the grid, but mining may
  still make room for GPUs.
- ``availableKw = capacityKw - reserveKw - otherLoadKw - max(gpuDrawKw, committedKw)
  + sheddable mining``, floored at 0; 0 in every phase that takes no new placements.
- ``gpuExcessKw``: GPU power (``max(gpuDrawKw, committedKw)``) that does not fit even when
  mining sheds all it may; the operator moves work away (preemptible first) while it is > 0.
- ``miningTargetKw``: the mining load that leaves room for committed GPU work: present
  mining, lowered as far as needed but never below ``loadKw - curtailableKw``.

Phases, first match wins:

- ``Unknown``: no sample yet, the last poll failed, or the last sample is stale. No new
  placements (``availableKw`` 0), running work stays (``gpuExcessKw`` 0), mining is told to
  carry on as it is; the last known load is still shown.
- ``Offline``: the feed says capacity is 0. Nothing available; all GPU work is excess.
- ``Curtailed``: a curtailment signal, or a feed capacity below the contracted one. As
  the API defines it: no new placements (``availableKw`` 0); ``capacityKw`` shows the
  lowered budget, ``miningTargetKw`` how far mining must come down, and ``gpuExcessKw``
  the GPU work that must move even after mining sheds all it may.
- ``Degraded``: the load feed is healthy but its price source is broken; the spec's
  static price is used and placement goes on.
- ``Ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cango_operator.api import Condition, SitePhase, budget, rfc3339
from cango_operator.api.conditions import Observation, condition_json, settle_conditions
from cango_operator.power.feeds.base import FeedProblem, FeedReadError, FeedSample
from cango_operator.power.sanity import check_age
from cango_operator.power.spec import SitePowerSpec

PLACEABLE_PHASES = frozenset({SitePhase.READY, SitePhase.DEGRADED})

COND_POWER_FEED_HEALTHY = "PowerFeedHealthy"
COND_PRICE_FEED_HEALTHY = "PriceFeedHealthy"
COND_CURTAILED = "Curtailed"
COND_ACCEPTING = "AcceptingPlacements"
#: A condition message is cut to this many characters (a feed's error can be long).
MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class GpuLoad:
    """IT power of a site's GPU nodes (before PUE), from GpuNode status and placements."""

    node_power_kw: float = 0.0
    committed_kw: float = 0.0


@dataclass(frozen=True)
class FeedState:
    """What the runner knows about a site's feed: last good sample and last poll's fault."""

    description: str
    last_good: FeedSample | None = None
    problem: FeedProblem | None = None
    provides_price: bool = False


@dataclass(frozen=True)
class SitePowerState:
    """The site's power status, ready to be written as ``status.phase`` / ``status.power``."""

    phase: SitePhase
    capacity_kw: float
    other_load_kw: float
    gpu_draw_kw: float
    committed_kw: float
    available_kw: float
    mining_target_kw: float
    gpu_excess_kw: float
    energy_price_usd_per_mwh: float | None
    feed_healthy: bool
    feed_message: str
    last_sample_time: datetime | None
    last_value_kw: float | None = None
    conditions: tuple[Condition, ...] = field(default=())

    @property
    def accepting_placements(self) -> bool:
        return self.phase in PLACEABLE_PHASES

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def status(self) -> dict[str, Any]:
        """The JSON-ready ``status`` fragment: ``phase``, ``power``, ``conditions`` and
        ``energyPriceUsdPerMwh`` (when known); the caller adds the rest of the status."""
        feed: dict[str, Any] = {"healthy": self.feed_healthy, "message": self.feed_message}
        if self.last_sample_time is not None:
            feed["lastSampleTime"] = rfc3339(self.last_sample_time)
        if self.last_value_kw is not None:
            feed["lastValueKw"] = self.last_value_kw
        power: dict[str, Any] = {
            "capacityKw": self.capacity_kw,
            "otherLoadKw": self.other_load_kw,
            "gpuDrawKw": self.gpu_draw_kw,
            "committedKw": self.committed_kw,
            "availableKw": self.available_kw,
            "miningTargetKw": self.mining_target_kw,
            "gpuExcessKw": self.gpu_excess_kw,
            "feed": feed,
        }
        status: dict[str, Any] = {
            "phase": self.phase.value,
            "power": power,
            "conditions": [condition_json(c) for c in self.conditions],
        }
        if self.energy_price_usd_per_mwh is not None:
            status["energyPriceUsdPerMwh"] = self.energy_price_usd_per_mwh
        return status


@dataclass(frozen=True)
class _Loads:
    other_kw: float
    mining_kw: float
    capacity_kw: float
    capacity_reason: str  # "" (full), "CapacityReduced", "CurtailmentSignal", "CapacityZero"


def compute_site_power(
    spec: SitePowerSpec,
    feed: FeedState,
    gpu: GpuLoad,
    now: datetime,
    previous: Iterable[Condition] = (),
) -> SitePowerState:
    """The site's phase, power figures and conditions at ``now``; a condition whose status
    is the same as in ``previous`` (the last published, or the stored status) keeps its
    transition time."""
    problem = _feed_problem(spec, feed, now)
    gpu_draw = gpu.node_power_kw * spec.pue
    committed = gpu.committed_kw * spec.pue
    need = budget.gpu_need(gpu_draw, committed)
    loads = _loads(spec, feed.last_good, gpu_draw)
    room = budget.base(loads.capacity_kw, spec.reserve_kw, loads.other_kw)
    shed = budget.sheddable(spec.curtailable_kw, loads.mining_kw, spec.mining_load_kw)
    price_problem = feed.last_good.price_problem if feed.last_good else None
    healthy = problem is None and feed.last_good is not None
    phase = _phase(healthy, loads, price_problem)

    if phase is SitePhase.UNKNOWN:
        available, excess, target = 0.0, 0.0, loads.mining_kw
    elif phase is SitePhase.OFFLINE:
        available, excess, target = 0.0, need, 0.0
    else:
        raw = budget.available(room, need, shed)
        available = max(0.0, raw) if phase in PLACEABLE_PHASES else 0.0
        excess = budget.gpu_excess(room, need, shed)
        target = budget.mining_target(loads.mining_kw, room, need, shed)

    price = spec.energy_price_usd_per_mwh
    if feed.last_good is not None and feed.last_good.price_usd_per_mwh is not None:
        price = feed.last_good.price_usd_per_mwh
    feed_message = problem.message if problem else _sample_summary(feed)
    state = SitePowerState(
        phase=phase,
        capacity_kw=_kw(loads.capacity_kw),
        other_load_kw=_kw(loads.other_kw),
        gpu_draw_kw=_kw(gpu_draw),
        committed_kw=_kw(committed),
        available_kw=_kw(available),
        mining_target_kw=_kw(target),
        gpu_excess_kw=_kw(excess),
        energy_price_usd_per_mwh=price,
        feed_healthy=healthy,
        feed_message=feed_message,
        last_sample_time=feed.last_good.timestamp if feed.last_good else None,
        last_value_kw=_load_of(feed.last_good),
    )
    conditions = _conditions(
        spec=spec,
        feed=feed,
        state=state,
        loads=loads,
        problem=problem,
        price_problem=price_problem,
    )
    settled = settle_conditions(previous, conditions, now=now)
    return replace(state, conditions=tuple(settled))


def _feed_problem(spec: SitePowerSpec, feed: FeedState, now: datetime) -> FeedProblem | None:
    """The reason the feed cannot be trusted right now, or ``None``."""
    if feed.problem is not None:
        return feed.problem
    if feed.last_good is None:
        return None
    try:
        check_age(
            feed.last_good.timestamp, spec.feed.timing.stale_after_seconds, now, feed.description
        )
    except FeedReadError as fault:
        return fault.problem
    return None


def _loads(spec: SitePowerSpec, sample: FeedSample | None, gpu_draw: float) -> _Loads:
    if sample is not None and sample.total_load_kw is not None:
        other = max(0.0, sample.total_load_kw - gpu_draw)
    elif sample is not None and sample.mining_load_kw is not None:
        other = sample.mining_load_kw
    else:
        other = spec.mining_load_kw
    capacity, reason = spec.capacity_kw, ""
    feed_capacity = sample.capacity_kw if sample else None
    if feed_capacity is not None and feed_capacity < spec.capacity_kw:
        capacity, reason = feed_capacity, "CapacityReduced"
    elif sample is not None and sample.curtailed:
        reason = "CurtailmentSignal"
        if feed_capacity is None:
            capacity = min(spec.capacity_kw, other + gpu_draw)
    if capacity <= 0:
        capacity, reason = 0.0, "CapacityZero"
    return _Loads(other_kw=other, mining_kw=other, capacity_kw=capacity, capacity_reason=reason)


def _phase(healthy: bool, loads: _Loads, price_problem: FeedProblem | None) -> SitePhase:
    if not healthy:
        return SitePhase.UNKNOWN
    if loads.capacity_reason == "CapacityZero":
        return SitePhase.OFFLINE
    if loads.capacity_reason:
        return SitePhase.CURTAILED
    if price_problem is not None:
        return SitePhase.DEGRADED
    return SitePhase.READY


def _load_of(sample: FeedSample | None) -> float | None:
    if sample is None:
        return None
    return sample.total_load_kw if sample.total_load_kw is not None else sample.mining_load_kw


def _sample_summary(feed: FeedState) -> str:
    sample = feed.last_good
    if sample is None:
        return f"{feed.description}: no sample yet"
    parts = []
    if sample.total_load_kw is not None:
        parts.append(f"site load {sample.total_load_kw:g} kW")
    if sample.mining_load_kw is not None:
        parts.append(f"mining load {sample.mining_load_kw:g} kW")
    if sample.capacity_kw is not None:
        parts.append(f"capacity {sample.capacity_kw:g} kW")
    if sample.curtailed:
        parts.append("curtailment signal on")
    return f"{feed.description}: " + (", ".join(parts) if parts else "ok")


def _conditions(
    *,
    spec: SitePowerSpec,
    feed: FeedState,
    state: SitePowerState,
    loads: _Loads,
    problem: FeedProblem | None,
    price_problem: FeedProblem | None,
) -> list[Observation]:
    def cond(type_: str, status: bool | None, reason: str, message: str) -> Observation:
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 3] + "..."
        return Observation(type_, status, reason, message)

    unknown = state.phase is SitePhase.UNKNOWN
    conditions = []
    if problem is not None:
        conditions.append(
            cond(COND_POWER_FEED_HEALTHY, False, problem.kind.reason, problem.message)
        )
    elif feed.last_good is None:
        conditions.append(
            cond(COND_POWER_FEED_HEALTHY, None, "AwaitingFirstSample", state.feed_message)
        )
    else:
        conditions.append(cond(COND_POWER_FEED_HEALTHY, True, "SampleFresh", state.feed_message))

    if feed.provides_price:
        if price_problem is not None:
            conditions.append(
                cond(
                    COND_PRICE_FEED_HEALTHY,
                    False,
                    price_problem.kind.reason,
                    f"{price_problem.message}; using the spec's energyPriceUsdPerMwh",
                )
            )
        elif unknown:
            conditions.append(
                cond(COND_PRICE_FEED_HEALTHY, None, "FeedUnhealthy", state.feed_message)
            )
        else:
            conditions.append(
                cond(
                    COND_PRICE_FEED_HEALTHY,
                    True,
                    "PriceFresh",
                    f"{state.energy_price_usd_per_mwh:g} USD/MWh",
                )
            )

    if unknown:
        conditions.append(cond(COND_CURTAILED, None, "FeedUnhealthy", state.feed_message))
    elif loads.capacity_reason:
        conditions.append(
            cond(
                COND_CURTAILED,
                True,
                loads.capacity_reason,
                f"capacity now {state.capacity_kw:g} kW of {spec.capacity_kw:g} kW contracted",
            )
        )
    else:
        conditions.append(
            cond(COND_CURTAILED, False, "FullCapacity", f"{spec.capacity_kw:g} kW contracted")
        )

    if unknown:
        conditions.append(
            cond(
                COND_ACCEPTING,
                False,
                "FeedUnhealthy",
                f"no new placements, running work stays: {state.feed_message}",
            )
        )
    elif state.phase is SitePhase.OFFLINE:
        conditions.append(cond(COND_ACCEPTING, False, "Offline", "the site has no capacity"))
    elif state.phase is SitePhase.CURTAILED:
        message = f"curtailed to {state.capacity_kw:g} kW: no new placements"
        if state.gpu_excess_kw > 0:
            message += f"; {state.gpu_excess_kw:g} kW of GPU work must move"
        conditions.append(cond(COND_ACCEPTING, False, "Curtailed", message))
    else:
        message = f"{state.available_kw:g} kW available"
        if state.gpu_excess_kw > 0:
            message += f"; {state.gpu_excess_kw:g} kW of GPU work does not fit"
        conditions.append(cond(COND_ACCEPTING, True, state.phase.value, message))
    return conditions


def _kw(value: float) -> float:
    """Rounded to watts: enough for a budget, and no float noise in status diffs."""
    return round(value, 3)
