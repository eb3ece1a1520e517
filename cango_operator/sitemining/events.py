"""What an interval of the site-mining controller did, as Events about its Site.

A ramp that acted says so (``MinersShed`` or ``MinersRaised``: miners, batches, kW before
and after, seconds); failed actions, a shortfall and miners that stop answering are
Warnings. Only changes are told: a fleet that stays as it is, stays unreachable or stays
short (within 1 kW) makes no new Event every interval.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cango_operator.builders.events import EventRecord, Regarding
from cango_operator.mining.controller import FleetState, RampReport

#: Failed miners named in one Event; the rest are counted.
NAMED_FAILURES = 3


@dataclass(frozen=True)
class Interval:
    """What one interval ended with: what the next one's Events compare against."""

    fleet: FleetState | None
    message: str
    shortfall_w: float


def interval_events(
    site: str, report: RampReport | None, fleet: FleetState | None, message: str, last: Interval
) -> list[EventRecord]:
    """Events for one interval, given how the ``last`` one ended."""
    about = Regarding("Site", site)
    out: list[EventRecord] = []
    if message and message != last.message:
        out.append(EventRecord(about, "MiningNotDriven", "Read", message, "Warning"))
    if report is not None:
        out += _ramp_events(about, report, last.shortfall_w)
    if fleet is not None:
        was = last.fleet.unreachable if last.fleet is not None else 0
        if fleet.unreachable > was:
            note = (
                f"{fleet.unreachable} of {fleet.total} miners do not answer; each counts at "
                "the draw it last reported, and is not acted on"
            )
            out.append(EventRecord(about, "MinersUnreachable", "Read", note, "Warning"))
        elif fleet.unreachable == 0 < was:
            note = f"all {fleet.total} miners answer again"
            out.append(EventRecord(about, "MinersReachable", "Read", note))
    return out


def _ramp_events(
    about: Regarding, report: RampReport, last_shortfall_w: float
) -> list[EventRecord]:
    out: list[EventRecord] = []
    actions = [r.action for b in report.batches for r in b.results]
    done = len(actions) - len(report.failed)
    if done:
        shed = report.expected_w < report.before_w
        kinds = Counter(a.kind.value for a in actions)
        what = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        note = (
            f"{what} in {len(report.batches)} batches over {report.seconds:.1f} s: "
            f"{report.before_w / 1000:.1f} kW -> {report.fleet.mining_w / 1000:.1f} kW "
            f"(target {report.target_w / 1000:.1f} kW)"
        )
        reason = "MinersShed" if shed else "MinersRaised"
        out.append(EventRecord(about, reason, "Ramp", note))
    if report.failed:
        named = "; ".join(
            f"{r.action.address}: {r.error.kind.value}"
            for r in report.failed[:NAMED_FAILURES]
            if r.error is not None
        )
        more = len(report.failed) - NAMED_FAILURES
        note = f"{len(report.failed)} of {len(actions)} actions failed: {named}"
        if more > 0:
            note += f" and {more} more"
        out.append(EventRecord(about, "MinerActionsFailed", "Ramp", note, "Warning"))
    if report.shortfall_w > 0 and abs(report.shortfall_w - last_shortfall_w) >= 1000:
        note = (
            f"the miners stay {report.shortfall_w / 1000:.1f} kW above the target "
            f"{report.target_w / 1000:.1f} kW at best; GPU work must give way for the rest"
        )
        out.append(EventRecord(about, "MiningShortfall", "Ramp", note, "Warning"))
    return out
