"""How to bring a site's miners to a mining power target: which miner does what, in
which batch. Pure: the controller reads the miners, asks for a ramp, and runs it.

Shedding (the fleet draws more than the target), in the order the Site asks for:

- ``LowerThenSleep`` (the default): lower profiles first, since a miner on a lower
  profile still earns; the least efficient miners (most J/TH where they run now) first.
  When lowering every miner would not be enough, the least efficient miners are put to
  sleep instead and only the others are lowered, as many as needed: no miner is lowered
  and then slept in the same ramp.
- ``SleepFirst``: sleep the least efficient miners, never touch profiles (firmware whose
  profile change reboots the machine, or stock firmware with modes only).

Restoring (the fleet draws less than the target by more than the dead band): wake the
most efficient sleeping miners first, then raise profiles, most efficient first, each
only when it fits under the target: a restore never overshoots.

What a miner draws is its own figure, or, when it does not answer, the last figure it
gave (a miner never seen counts at its highest profile): never zero. Such a miner is
counted and not acted on; when the reachable ones cannot bring the fleet under the target,
the ramp says by how much (``shortfall_w``), for the operator to shed GPU work instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cango_operator.api import ShedOrder
from cango_operator.mining.driver import MinerProfile

#: What a sleeping miner draws by the ramp's reckoning (its control board).
SLEEP_W = 15.0


class ActionKind(StrEnum):
    SET_PROFILE = "SetProfile"
    SLEEP = "Sleep"
    WAKE = "Wake"


@dataclass(frozen=True)
class RampLimits:
    """How fast the fleet may change: at most ``batch_size`` miners per batch, batches
    ``batch_interval_s`` apart (the feeder and the grid see a ramp, not a step)."""

    batch_size: int = 20
    batch_interval_s: float = 30.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"ramp.batchSize must be >= 1, got {self.batch_size}")
        if self.batch_interval_s < 0:
            raise ValueError(f"ramp.batchIntervalSeconds must be >= 0, got {self.batch_interval_s}")


@dataclass(frozen=True)
class MinerView:
    """What the planner knows of one miner."""

    address: str
    watts: float
    reachable: bool
    asleep: bool
    profile: str
    profiles: tuple[MinerProfile, ...]
    #: Firmware without profiles (sleep and wake only): what it draws and its J/TH while
    #: mining, as last seen (None: never seen mining).
    mining_w: float | None = None
    mining_j_per_th: float | None = None

    def active(self) -> MinerProfile | None:
        return next((p for p in self.profiles if p.name == self.profile), None)

    def lowest(self) -> MinerProfile | None:
        return min(self.profiles, key=lambda p: p.watts, default=None)

    def joules_per_th(self) -> float:
        active = self.active()
        if active is not None:
            return active.joules_per_th
        return self.mining_j_per_th if self.mining_j_per_th is not None else float("inf")

    def awake_w(self) -> float | None:
        """What it draws once woken: its active profile, or its last mining draw."""
        active = self.active()
        return active.watts if active is not None else self.mining_w


@dataclass(frozen=True)
class Action:
    address: str
    kind: ActionKind
    profile: MinerProfile | None  # SET_PROFILE: the profile to switch to
    delta_w: float  # the expected change of the fleet's draw


@dataclass(frozen=True)
class Ramp:
    batches: tuple[tuple[Action, ...], ...]
    before_w: float
    expected_w: float  # the fleet's draw once every batch is done and settled
    shortfall_w: float  # how far above the target the fleet stays, at best (0: none)

    @property
    def actions(self) -> list[Action]:
        return [a for batch in self.batches for a in batch]


def plan_ramp(
    miners: Sequence[MinerView],
    target_w: float,
    limits: RampLimits,
    order: ShedOrder = ShedOrder.LOWER_THEN_SLEEP,
    *,
    deadband_w: float = 0.0,
) -> Ramp:
    """The batches that bring ``miners`` to ``target_w`` (see the module's docstring)."""
    before = sum(m.watts for m in miners)
    if before > target_w:
        actions = _shed(miners, before - target_w, order)
    elif before < target_w - deadband_w:
        actions = _restore(miners, target_w - before)
    else:
        actions = []
    expected = before + sum(a.delta_w for a in actions)
    size = limits.batch_size
    batches = tuple(tuple(actions[i : i + size]) for i in range(0, len(actions), size))
    return Ramp(batches, before, expected, max(0.0, expected - target_w))


def _shed(miners: Sequence[MinerView], excess_w: float, order: ShedOrder) -> list[Action]:
    awake = sorted(
        (m for m in miners if m.reachable and not m.asleep),
        key=lambda m: (-m.joules_per_th(), m.address),
    )
    if order is ShedOrder.SLEEP_FIRST:
        return _sleep_until(awake, excess_w)
    lowering = [(m, a) for m in awake if (a := _lower(m)) is not None]
    if sum(-a.delta_w for _, a in lowering) >= excess_w:
        return _take_until([a for _, a in lowering], excess_w)
    # Lowering everyone is not enough: sleep the least efficient (each one's whole draw
    # instead of its lowering), until lowering the rest closes the gap.
    gain_of_lowering = {m.address: -a.delta_w for m, a in lowering}
    lowering_left = sum(gain_of_lowering.values())
    slept: list[Action] = []
    shed = 0.0
    for miner in awake:
        if shed + lowering_left >= excess_w:
            break
        lowering_left -= gain_of_lowering.get(miner.address, 0.0)
        slept.append(_sleep(miner))
        shed -= slept[-1].delta_w
    asleep = {a.address for a in slept}
    rest = [a for m, a in lowering if m.address not in asleep]
    return slept + _take_until(rest, excess_w - shed)


def _take_until(actions: Sequence[Action], needed_w: float) -> list[Action]:
    taken: list[Action] = []
    for action in actions:
        if needed_w <= 0:
            break
        taken.append(action)
        needed_w += action.delta_w
    return taken


def _sleep_until(awake: Sequence[MinerView], excess_w: float) -> list[Action]:
    return _take_until([_sleep(m) for m in awake], excess_w)


def _sleep(miner: MinerView) -> Action:
    return Action(miner.address, ActionKind.SLEEP, None, SLEEP_W - miner.watts)


def _lower(miner: MinerView) -> Action | None:
    lowest = miner.lowest()
    if lowest is None or lowest.watts >= miner.watts or lowest.name == miner.profile:
        return None
    return Action(miner.address, ActionKind.SET_PROFILE, lowest, lowest.watts - miner.watts)


def _restore(miners: Sequence[MinerView], room_w: float) -> list[Action]:
    reachable = sorted(
        (m for m in miners if m.reachable), key=lambda m: (m.joules_per_th(), m.address)
    )
    actions: list[Action] = []
    for miner in (m for m in reachable if m.asleep):
        awake = miner.awake_w()
        if awake is not None and awake - miner.watts <= room_w:
            actions.append(Action(miner.address, ActionKind.WAKE, None, awake - miner.watts))
            room_w -= awake - miner.watts
    for miner in (m for m in reachable if not m.asleep):
        higher = [p for p in miner.profiles if miner.watts < p.watts <= miner.watts + room_w]
        if higher:
            best = max(higher, key=lambda p: p.watts)
            actions.append(
                Action(miner.address, ActionKind.SET_PROFILE, best, best.watts - miner.watts)
            )
            room_w -= best.watts - miner.watts
    return actions
