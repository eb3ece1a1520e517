"""Playing the scenario's events at their simulated times.

The power side of every event (capacity, curtailment flag, price) is in the feeds (see
:mod:`.conditions`); this module does what the feeds cannot:

- a storm cuts the power of its sites' nodes: their node agents stop (no heartbeat),
  and, because kwok keeps simulated Nodes Ready, the demo plays the node lifecycle
  controller for them at Kubernetes' default timings in simulated time: the Node is
  tainted ``NoSchedule`` after the node-monitor grace period (50 s) and ``NoExecute``
  after the default toleration of unreachable nodes (300 s) more, which evicts its pods.
  Both fleets get the same treatment. When the storm ends the taints go and the agents
  resume;
- a GPU failure injects the XID into the node agent's simulated GPU.

It keeps a log for the live view and an :class:`~.report.EventRecord` per event with
the simulated and real times it was applied.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from cango_operator.demo.clock import SimClock
from cango_operator.demo.fleet import BASELINE_FLEET, BASELINE_NODE_PREFIX, CANGO_FLEET, DemoNode
from cango_operator.demo.report import EventRecord
from cango_operator.demo.scenario import (
    CurtailmentEvent,
    GpuFailureEvent,
    PriceSpikeEvent,
    Scenario,
    StormEvent,
    format_time_of_day,
)

#: Kubernetes defaults: node-monitor-grace-period (v1.32+) and the toleration
#: DefaultTolerationSeconds gives every pod for unreachable nodes.
NODE_MONITOR_GRACE_S = 50.0
UNREACHABLE_TOLERATION_S = 300.0
POWER_LOST_TAINT = "demo.cango.io/power-lost"


class ClusterEffects(Protocol):
    """What events do to the cluster and the simulated agents (the runner implements it)."""

    async def set_dark(self, nodes: list[DemoNode], dark: bool) -> None:
        """Stop (or resume) the node agents of these nodes."""

    async def set_power(self, nodes: list[DemoNode], on: bool) -> None:
        """Mark the Nodes as powered off (or on again): the simulation's ground truth."""

    async def taint(self, nodes: list[DemoNode], effect: str | None) -> None:
        """Add the power-lost taint with ``effect`` (None: remove every power-lost taint)."""

    async def fail_gpu(self, node: str, gpu: int, xid: int) -> None:
        """The simulated GPU ``gpu`` of ``node`` reports XID ``xid``."""

    def busiest_node(self, fleet: str, site: str | None) -> str | None:
        """The node of ``fleet`` (at ``site``, or anywhere) whose pods hold most GPUs now."""


@dataclass(frozen=True)
class _Step:
    sim_t: float
    order: int
    text: str
    action: Callable[[], Awaitable[None]] | None
    event: str
    marks: str  # "start", "end" or "" (only logs / applies)


@dataclass(frozen=True)
class LogLine:
    sim_t: float
    text: str


class EventPlayer:
    """Applies the scenario's events as the clock passes their times."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        effects: ClusterEffects,
        nodes: dict[str, list[DemoNode]],
    ) -> None:
        self.clock = clock
        self.effects = effects
        self.log: list[LogLine] = []
        self._records: dict[str, EventRecord] = {}
        self._steps = sorted(self._plan(scenario, nodes), key=lambda s: (s.sim_t, s.order))
        self._next = 0

    @property
    def records(self) -> list[EventRecord]:
        """Events that have started, in order, with the real times they began and ended."""
        started = [r for r in self._records.values() if not math.isnan(r.real_start)]
        return sorted(started, key=lambda r: r.sim_start)

    def pending(self) -> int:
        return len(self._steps) - self._next

    def log_line(self, sim_t: float, text: str) -> None:
        """Add a line to the log that is no event of its own (a submission, say)."""
        self.log.append(LogLine(sim_t, text))

    async def play_due(self) -> list[LogLine]:
        """Apply every step whose simulated time has come; returns the new log lines."""
        new: list[LogLine] = []
        now = self.clock.now()
        while self._next < len(self._steps) and self._steps[self._next].sim_t <= now:
            step = self._steps[self._next]
            self._next += 1
            line = LogLine(step.sim_t, step.text)
            self.log.append(line)
            new.append(line)
            if step.action is not None:
                await step.action()
            # The real moment its simulated time came (the feeds changed then), even when
            # the step itself was applied a little later.
            real = self.clock.real_duration(step.sim_t)
            record = self._records.get(step.event)
            if step.marks == "start" and record is not None:
                self._records[step.event] = replace(record, real_start=real)
            elif step.marks == "end" and record is not None:
                self._records[step.event] = replace(record, real_end=real)
        return new

    # -- the plan -------------------------------------------------------------------------

    def _plan(self, scenario: Scenario, nodes: dict[str, list[DemoNode]]) -> list[_Step]:
        steps: list[_Step] = []
        for order, event in enumerate(scenario.events):
            if isinstance(event, StormEvent):
                steps += self._storm(order, event, nodes)
            elif isinstance(event, CurtailmentEvent):
                steps += self._curtailment(order, event)
            elif isinstance(event, PriceSpikeEvent):
                steps += self._price_spike(order, event)
            elif isinstance(event, GpuFailureEvent):
                steps += self._gpu_failure(order, event)
        return steps

    def _record(
        self,
        event: str,
        kind: str,
        start: float,
        end: float | None,
        *,
        sites: tuple[str, ...] = (),
        nodes: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._records[event] = EventRecord(
            name=event,
            kind=kind,
            sim_start=start,
            real_start=math.nan,
            sim_end=end,
            sites=sites,
            nodes=nodes or {},
        )

    def _storm(
        self, order: int, event: StormEvent, nodes: dict[str, list[DemoNode]]
    ) -> list[_Step]:
        dark = [n for fleet in nodes.values() for n in fleet if n.site in event.sites]
        cango = [n for n in dark if n.fleet == CANGO_FLEET]
        sites = ", ".join(event.sites)
        self._record(event.name, "storm", event.start, event.end, sites=tuple(event.sites))

        async def lose_power() -> None:
            await self.effects.set_power(dark, False)
            await self.effects.set_dark(cango, True)

        async def not_ready() -> None:
            await self.effects.taint(dark, "NoSchedule")

        async def evict() -> None:
            await self.effects.taint(dark, "NoExecute")

        async def restore() -> None:
            await self.effects.taint(dark, None)
            await self.effects.set_power(dark, True)
            await self.effects.set_dark(cango, False)

        until = format_time_of_day(event.end)
        return [
            _Step(
                event.start,
                order,
                f"storm {event.name}: {sites} lose grid power until {until}",
                lose_power,
                event.name,
                "start",
            ),
            _Step(
                event.start + NODE_MONITOR_GRACE_S,
                order,
                f"storm {event.name}: {len(dark)} nodes NotReady (tainted NoSchedule)",
                not_ready,
                event.name,
                "",
            ),
            _Step(
                event.start + NODE_MONITOR_GRACE_S + UNREACHABLE_TOLERATION_S,
                order,
                f"storm {event.name}: pods on unreachable nodes evicted (NoExecute)",
                evict,
                event.name,
                "",
            ),
            _Step(
                event.end,
                order,
                f"storm {event.name}: power back at {sites}",
                restore,
                event.name,
                "end",
            ),
        ]

    def _curtailment(self, order: int, event: CurtailmentEvent) -> list[_Step]:
        announce = event.start - event.announce_minutes * 60
        # Measured from the announcement: that is when the site first signals it.
        self._record(event.name, "curtailment", event.start, event.end, sites=(event.site,))
        start = format_time_of_day(event.start)
        return [
            _Step(
                announce,
                order,
                f"curtailment {event.name}: grid orders {event.site} down to "
                f"{event.capacity_kw:,.0f} kW from {start}",
                None,
                event.name,
                "start",
            ),
            _Step(
                event.start,
                order,
                f"curtailment {event.name}: {event.site} capacity now {event.capacity_kw:,.0f} kW",
                None,
                event.name,
                "",
            ),
            _Step(
                event.end,
                order,
                f"curtailment {event.name}: {event.site} back to full capacity",
                None,
                event.name,
                "end",
            ),
        ]

    def _price_spike(self, order: int, event: PriceSpikeEvent) -> list[_Step]:
        self._record(event.name, "priceSpike", event.start, event.end, sites=tuple(event.sites))
        sites = ", ".join(event.sites)
        return [
            _Step(
                event.start,
                order,
                f"price spike {event.name}: {sites} at ${event.price_usd_per_mwh:,.0f}/MWh",
                None,
                event.name,
                "start",
            ),
            _Step(
                event.end,
                order,
                f"price spike {event.name}: {sites} back to normal",
                None,
                event.name,
                "end",
            ),
        ]

    def _gpu_failure(self, order: int, event: GpuFailureEvent) -> list[_Step]:
        self._record(event.name, "gpuFailure", event.at, None)
        where = f"at {event.site}" if event.site else "in the fleet"
        text = (
            f"gpu failure {event.name}: GPU {event.gpu} of "
            f"{event.node or f'the busiest node {where}'} reports XID {event.xid}"
        )

        async def fail() -> None:
            nodes: dict[str, tuple[str, ...]] = {}
            for fleet in (CANGO_FLEET, BASELINE_FLEET):
                if event.node is not None:
                    prefix = BASELINE_NODE_PREFIX if fleet == BASELINE_FLEET else ""
                    nodes[fleet] = (prefix + event.node,)
                elif (busiest := self.effects.busiest_node(fleet, event.site)) is not None:
                    nodes[fleet] = (busiest,)
            record = self._records[event.name]
            self._records[event.name] = replace(record, nodes=nodes)
            if CANGO_FLEET in nodes:
                await self.effects.fail_gpu(nodes[CANGO_FLEET][0], event.gpu, event.xid)
            picked = ", ".join(f"{fleet}: {n[0]}" for fleet, n in nodes.items())
            self.log.append(LogLine(event.at, f"gpu failure {event.name}: {picked or 'no node'}"))

        return [_Step(event.at, order, text, fail, event.name, "start")]
