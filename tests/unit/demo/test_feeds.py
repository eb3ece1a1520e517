"""The simulated meters: a real HTTP server on 127.0.0.1 following the scenario clock."""

from __future__ import annotations

import aiohttp

from cango_operator.demo.feeds import FeedServer
from cango_operator.demo.scenario import parse_scenario

SCENARIO = parse_scenario(
    {
        "name": "f",
        "gpuModels": {"L40S-48GB": {"memoryMiB": 46068, "maxPowerW": 350}},
        "sites": [
            {
                "name": "tx-1",
                "region": "north-america",
                "capacityKw": 1200,
                "energyPriceUsdPerMwh": 31,
                "mining": {"loadKw": 1100},
                "latencyMs": {"north-america": 20},
            }
        ],
        "events": [
            {"type": "storm", "name": "s", "start": "04:00", "end": "10:00", "sites": ["tx-1"]}
        ],
    }
)


class TestFeedServer:
    async def test_each_site_is_served_as_the_clock_says_it_is_now(self) -> None:
        now = [3600.0]
        server = FeedServer(SCENARIO, lambda: now[0])
        await server.start()
        try:
            assert server.url_for("tx-1").startswith("http://127.0.0.1:")
            async with aiohttp.ClientSession() as session:
                async with session.get(server.url_for("tx-1")) as response:
                    before = await response.json()
                now[0] = 5 * 3600.0
                async with session.get(server.url_for("tx-1")) as response:
                    during = await response.json()
            assert (before["capacityKw"], before["loadKw"], before["curtailed"]) == (
                1200,
                1100,
                False,
            )
            assert (during["capacityKw"], during["loadKw"], during["curtailed"]) == (0, 0, True)
            assert server.requests["tx-1"] == 2
        finally:
            await server.stop()

    async def test_an_unknown_site_is_a_404_naming_it(self) -> None:
        server = FeedServer(SCENARIO, lambda: 0.0)
        await server.start()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{server.base_url}/sites/nowhere") as response,
            ):
                assert response.status == 404
                assert "nowhere" in (await response.json())["error"]
        finally:
            await server.stop()
