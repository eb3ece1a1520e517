"""A round whose snapshot is the last one's reuses the last plan instead of planning again
(the engine is pure): rounds woken by what the engine does not read cost no planning."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cango_operator.operator.applier import ApplyReport, JobIntent
from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.round import Reconciler
from cango_operator.operator.world import World
from cango_operator.placement import Plan, Snapshot, plan
from tests.unit.operator.fleet import Fleet, decide

T = TypeVar("T")


class Writer:
    """Takes every write (the fleet stays as it is: the next round sees the same inputs)."""

    async def call(self, kind: str, verb: str, fn: Callable[[], T]) -> T:
        return fn()

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        return lambda *args, **kwargs: {}


class Applier:
    def ready_replicas(self, job: Any, rows: Sequence[Any], world: World) -> int:
        return 0

    async def realize(self, intents: Sequence[JobIntent], world: World) -> ApplyReport:
        return ApplyReport()


class CountingPlanner:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, snapshot: Snapshot) -> Plan:
        self.calls += 1
        return plan(snapshot)


async def reconciler(fleet: Fleet, planner: CountingPlanner) -> Reconciler:
    made = Reconciler(
        Writer(),  # type: ignore[arg-type]
        Applier(),
        WriteMemory(),
        planner,
        node_stale_seconds=3600,
    )
    made.indexes = await fleet.indexes()
    return made


def small_fleet() -> Fleet:
    fleet = Fleet()
    fleet.site("tx")
    fleet.gpu_node("tx-n1", "tx", status={"phase": "Ready"})
    fleet.job("chat", replicas=2)
    return fleet


class TestPlanReuse:
    async def test_the_same_inputs_are_planned_once(self) -> None:
        planner = CountingPlanner()
        fleet = small_fleet()
        rounds = await reconciler(fleet, planner)
        await rounds.run_once(frozenset({"test"}))
        # What that round wrote reaches the indexes (the jobs' statuses record the plan).
        fleet.apply((await decide(fleet)).writes())
        rounds.indexes = await fleet.indexes()
        await rounds.run_once(frozenset({"the statuses came back"}))
        assert planner.calls == 2
        await rounds.run_once(frozenset({"a Deployment's ready count"}))
        await rounds.run_once(frozenset({"a heartbeat that changes nothing planned"}))
        assert planner.calls == 2

    async def test_a_change_the_engine_reads_is_planned_again(self) -> None:
        planner = CountingPlanner()
        fleet = small_fleet()
        rounds = await reconciler(fleet, planner)
        await rounds.run_once(frozenset({"test"}))
        fleet.job("chat", replicas=3)
        rounds.indexes = await fleet.indexes()
        await rounds.run_once(frozenset({"test"}))
        assert planner.calls == 2
