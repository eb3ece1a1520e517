"""The round tells from the site-mining controller's report whether the miners are where
the mining target wants them: Site condition MinersAtTarget."""

from __future__ import annotations

from typing import Any

from tests.unit.operator.fleet import Fleet, decide
from tests.unit.operator.test_meter_first import metered_fleet

MINERS = [{"firmware": "luxos", "addresses": ["127.0.0.1"]}]


def driven_fleet(**mining: Any) -> Fleet:
    fleet = metered_fleet(900)
    fleet.get("Site", "tx")["spec"]["mining"]["miners"] = MINERS
    fleet.get("Site", "tx")["status"]["mining"] = mining
    return fleet


async def condition(fleet: Fleet) -> dict[str, Any] | None:
    fleet.apply((await decide(fleet)).writes())
    found = fleet.get("Site", "tx")["status"]["conditions"]
    return next((c for c in found if c["type"] == "MinersAtTarget"), None)


class TestMinersAtTarget:
    async def test_miners_at_their_target(self) -> None:
        got = await condition(driven_fleet(minersKw=181.0, targetKw=180.0, shortfallKw=0))
        assert got is not None
        assert (got["status"], got["reason"]) == ("True", "AtTarget")
        assert got["message"] == "the miners draw 181 kW, their target is 180 kW"

    async def test_above_it_while_a_ramp_brings_them_down(self) -> None:
        got = await condition(driven_fleet(minersKw=240.0, targetKw=180.0, shortfallKw=0))
        assert got is not None and (got["status"], got["reason"]) == ("False", "Ramping")

    async def test_above_it_at_best_says_by_how_much_and_who_is_silent(self) -> None:
        mining = {
            "minersKw": 240.0,
            "targetKw": 180.0,
            "shortfallKw": 7.5,
            "miners": {"mining": 3, "asleep": 0, "unreachable": 2},
        }
        got = await condition(driven_fleet(**mining))
        assert got is not None and (got["status"], got["reason"]) == ("False", "Shortfall")
        assert got["message"] == (
            "the miners draw 240 kW, their target is 180 kW; 2 not answering: "
            "7.5 kW above it at best"
        )

    async def test_a_controller_that_cannot_act_leaves_it_unknown(self) -> None:
        got = await condition(driven_fleet(message="Site tx is not valid: ..."))
        assert got is not None and (got["status"], got["reason"]) == ("Unknown", "NotDriven")

    async def test_a_later_round_replaces_it_rather_than_adding_a_second(self) -> None:
        fleet = driven_fleet(minersKw=240.0, targetKw=180.0, shortfallKw=0)
        await condition(fleet)
        fleet.get("Site", "tx")["status"]["mining"]["minersKw"] = 180.0
        got = await condition(fleet)
        types = [c["type"] for c in fleet.get("Site", "tx")["status"]["conditions"]]
        assert types.count("MinersAtTarget") == 1
        assert got is not None and got["reason"] == "AtTarget"

    async def test_no_such_condition_where_no_miners_are_driven(self) -> None:
        fleet = metered_fleet(900)
        fleet.get("Site", "tx")["status"]["mining"] = {"minersKw": 10.0, "targetKw": 5.0}
        assert await condition(fleet) is None
