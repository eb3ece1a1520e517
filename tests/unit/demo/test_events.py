"""Events applied at their simulated times, with the node lifecycle played for dark nodes."""

from __future__ import annotations

from datetime import UTC, datetime

from cango_operator.demo.clock import SimClock
from cango_operator.demo.events import EventPlayer
from cango_operator.demo.fleet import DemoNode, demo_nodes
from cango_operator.demo.scenario import parse_scenario

SCENARIO = parse_scenario(
    {
        "name": "e",
        "gpuModels": {"L40S-48GB": {"memoryMiB": 46068, "maxPowerW": 350}},
        "sites": [
            {
                "name": name,
                "region": "north-america",
                "capacityKw": 1200,
                "energyPriceUsdPerMwh": 31,
                "mining": {"loadKw": 1100},
                "latencyMs": {"north-america": 20},
                "nodes": [{"model": "L40S-48GB", "count": 1, "gpusPerNode": 4}],
            }
            for name in ("a", "b")
        ],
        "events": [
            {"type": "storm", "name": "s", "start": "01:00", "end": "02:00", "sites": ["a"]},
            {"type": "gpuFailure", "name": "x", "at": "03:00", "node": "b-n001", "gpu": 2},
            {"type": "gpuFailure", "name": "y", "at": "06:00", "site": "a", "gpu": 1},
            {
                "type": "curtailment",
                "name": "c",
                "start": "04:00",
                "end": "05:00",
                "site": "b",
                "capacityKw": 100,
                "announceMinutes": 30,
            },
        ],
    }
)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object, object]] = []

    async def set_dark(self, nodes: list[DemoNode], dark: bool) -> None:
        self.calls.append(("dark", sorted(n.name for n in nodes), dark))

    async def set_power(self, nodes: list[DemoNode], on: bool) -> None:
        self.calls.append(("power", sorted(n.name for n in nodes), on))

    async def taint(self, nodes: list[DemoNode], effect: str | None) -> None:
        self.calls.append(("taint", sorted(n.name for n in nodes), effect))

    async def fail_gpu(self, node: str, gpu: int, xid: int) -> None:
        self.calls.append(("xid", node, (gpu, xid)))

    def busiest_node(self, fleet: str, site: str | None) -> str | None:
        self.calls.append(("busiest", fleet, site))
        return "a-n001" if fleet == "cango" else None


def player() -> tuple[EventPlayer, Recorder, FakeMonotonic]:
    real = FakeMonotonic()
    clock = SimClock(3600, 86400, datetime(2025, 1, 20, tzinfo=UTC), real)  # 1 s = 1 h
    clock.start()
    nodes = {"cango": demo_nodes(SCENARIO), "baseline": demo_nodes(SCENARIO, "baseline")}
    effects = Recorder()
    return EventPlayer(SCENARIO, clock, effects, nodes), effects, real


class TestStorm:
    async def test_nodes_go_dark_then_not_ready_then_evicted_then_back(self) -> None:
        events, effects, real = player()
        real.t = 1.0  # 01:00
        await events.play_due()
        assert effects.calls == [
            ("power", ["a-n001", "base-a-n001"], False),
            ("dark", ["a-n001"], True),
        ]
        real.t = 1.0 + 50 / 3600
        await events.play_due()
        assert effects.calls[-1] == ("taint", ["a-n001", "base-a-n001"], "NoSchedule")
        real.t = 1.0 + 350 / 3600
        await events.play_due()
        assert effects.calls[-1] == ("taint", ["a-n001", "base-a-n001"], "NoExecute")
        real.t = 2.0
        await events.play_due()
        assert effects.calls[-3:] == [
            ("taint", ["a-n001", "base-a-n001"], None),
            ("power", ["a-n001", "base-a-n001"], True),
            ("dark", ["a-n001"], False),
        ]

    async def test_the_record_holds_the_real_moments_its_times_came_even_if_late(self) -> None:
        events, _, real = player()
        assert events.records == []
        real.t = 2.5
        await events.play_due()
        (storm,) = events.records
        assert (storm.name, storm.sites, storm.sim_start, storm.sim_end) == (
            "s",
            ("a",),
            3600,
            7200,
        )
        assert (storm.real_start, storm.real_end) == (1.0, 2.0)  # applied late, at 2.5


class TestGpuFailureAndCurtailment:
    async def test_the_xid_goes_to_the_nodes_agent_and_names_both_fleets_nodes(self) -> None:
        events, effects, real = player()
        real.t = 3.0
        await events.play_due()
        assert effects.calls[-1] == ("xid", "b-n001", (2, 79))
        failure = next(r for r in events.records if r.name == "x")
        assert failure.nodes == {"cango": ("b-n001",), "baseline": ("base-b-n001",)}

    async def test_without_a_node_the_busiest_one_at_the_site_fails_in_each_world(self) -> None:
        events, effects, real = player()
        real.t = 6.0
        await events.play_due()
        assert effects.calls[-3:] == [
            ("busiest", "cango", "a"),
            ("busiest", "baseline", "a"),
            ("xid", "a-n001", (1, 79)),
        ]
        failure = next(r for r in events.records if r.name == "y")
        assert failure.nodes == {"cango": ("a-n001",)}  # nothing ran there in the baseline
        assert events.log[-1].text == "gpu failure y: cango: a-n001"

    async def test_a_curtailment_is_measured_from_its_announcement_and_only_logged(self) -> None:
        events, effects, real = player()
        real.t = 3.4
        await events.play_due()
        calls = len(effects.calls)
        real.t = 3.5  # 03:30, announced
        lines = await events.play_due()
        assert "grid orders b down to 100 kW from 04:00" in lines[-1].text
        curtailment = next(r for r in events.records if r.name == "c")
        assert curtailment.real_start == 3.5 and curtailment.real_end is None
        real.t = 5.0
        await events.play_due()
        assert len(effects.calls) == calls
        assert events.pending() == 1  # the GPU failure at 06:00
