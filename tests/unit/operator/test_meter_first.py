"""Meter first: at a site with a live feed, replicas that need the mining being shed
start only once the meter shows the room; they are placed, and held, until then."""

from __future__ import annotations

from typing import Any

from tests.unit.operator.fleet import Fleet, Round, decide

FEED = {"type": "http", "url": "http://127.0.0.1:9/load", "jsonPath": "kw"}


def metered_fleet(other_load_kw: float, *, feed: bool = True) -> Fleet:
    """Site tx (1000 kW, 50 kW reserve, PUE 1.0, 200 kW of mining curtailable) whose meter
    reads ``other_load_kw`` of mining; one 8-GPU node; a job of 4 replicas of 20 kW."""
    fleet = Fleet()
    power: dict[str, Any] = {"capacityKw": 1000, "reserveKw": 50, "pue": 1.0}
    if feed:
        power["feed"] = FEED
    fleet.site("tx", power=power, mining={"loadKw": 900, "curtailableKw": 200})
    if feed:
        status = {
            "capacityKw": 1000,
            "otherLoadKw": other_load_kw,
            "gpuDrawKw": 0,
            "feed": {"healthy": True, "lastValueKw": other_load_kw},
        }
        fleet.get("Site", "tx")["status"] = {"phase": "Ready", "power": status}
    fleet.gpu_node("tx-n1", "tx")
    fleet.job("chat", replicas=4, estimatedPowerW=20_000)
    return fleet


def held(rnd: Round) -> list[tuple[str, int, int | None]]:
    return [(r.node, r.replicas, r.held_replicas) for r in rnd.jobs["t/chat"].rows]


def set_meter(fleet: Fleet, other_load_kw: float) -> None:
    fleet.get("Site", "tx")["status"]["power"]["otherLoadKw"] = other_load_kw


class TestHeldUntilTheMeterShowsTheRoom:
    async def test_replicas_beyond_the_metered_room_are_placed_but_not_started(self) -> None:
        # Room now: 1000 - 50 - 900 = 50 kW (+10 kW tolerance): 3 of the 4 replicas.
        fleet = metered_fleet(900)
        rnd = await decide(fleet)
        assert held(rnd) == [("tx-n1", 4, 1)]
        status = rnd.jobs["t/chat"].status
        assert status["replicas"] == 4
        assert "1 at tx wait for the meter" in status["message"]
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "WaitingForPower"
        # The plan still asks the miners for the whole job's power.
        assert rnd.plan.sites[0].mining_target_kw <= 900 - 80 + 50

    async def test_they_start_when_a_sample_shows_the_miners_down(self) -> None:
        fleet = metered_fleet(900)
        fleet.apply((await decide(fleet)).writes())
        set_meter(fleet, 850)  # 100 kW of room: enough for the last one
        rnd = await decide(fleet)
        assert held(rnd) == [("tx-n1", 4, None)]
        ready = next(c for c in rnd.jobs["t/chat"].status["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "ReplicasNotReady"

    async def test_held_replicas_stay_held_while_the_meter_has_not_moved(self) -> None:
        fleet = metered_fleet(900)
        fleet.apply((await decide(fleet)).writes())
        assert held(await decide(fleet)) == [("tx-n1", 4, 1)]

    async def test_held_ones_stay_held_while_the_sites_figures_cannot_be_trusted(
        self,
    ) -> None:
        fleet = metered_fleet(900)
        fleet.apply((await decide(fleet)).writes())
        fleet.get("Site", "tx")["status"]["phase"] = "Unknown"
        set_meter(fleet, 500)  # a figure that may be stale
        assert held(await decide(fleet)) == [("tx-n1", 4, 1)]

    async def test_the_job_of_highest_priority_starts_first(self) -> None:
        fleet = metered_fleet(930)  # 20 kW of room + 10 kW tolerance: one replica
        fleet.job("urgent", replicas=1, estimatedPowerW=20_000, priority=100)
        rnd = await decide(fleet)
        assert [(r.replicas, r.held_replicas) for r in rnd.jobs["t/urgent"].rows] == [(1, None)]
        assert held(rnd) == [("tx-n1", 4, 4)]


class TestEventsAboutTheJob:
    async def test_held_replicas_are_told_once_and_their_release_once(self) -> None:
        fleet = metered_fleet(900)
        first = await decide(fleet)
        (waiting,) = first.events()
        assert (waiting.reason, waiting.type) == ("WaitingForPower", "Normal")
        assert waiting.regarding.name == "chat" and waiting.regarding.kind == "InferenceJob"
        assert waiting.note == (
            "held at tx until its meter shows the mining shed for them (meter first): 1 replica"
        )
        fleet.apply(first.writes())
        assert (await decide(fleet)).events() == []  # still held: nothing new to tell
        set_meter(fleet, 850)
        (released,) = (await decide(fleet)).events()
        assert (released.reason, released.note) == (
            "PowerReleased",
            "the meter at tx shows the room; starting: 1 replica",
        )


class TestWithoutAMeter:
    async def test_a_site_without_a_live_feed_starts_everything_at_once(self) -> None:
        rnd = await decide(metered_fleet(900, feed=False))
        assert held(rnd) == [("tx-n1", 4, None)]
