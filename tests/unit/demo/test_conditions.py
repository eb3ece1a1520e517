"""What each site's meter says over the day: normal values, storms, curtailments, price spikes."""

from __future__ import annotations

from cango_operator.demo.conditions import fleet_conditions, site_conditions
from cango_operator.demo.scenario import parse_scenario

SCENARIO = parse_scenario(
    {
        "name": "c",
        "gpuModels": {"L40S-48GB": {"memoryMiB": 46068, "maxPowerW": 350}},
        "sites": [
            {
                "name": name,
                "region": "north-america",
                "capacityKw": 1800,
                "reserveKw": 60,
                "energyPriceUsdPerMwh": 36,
                "mining": {"loadKw": 1700, "curtailableKw": 35},
                "latencyMs": {"north-america": 20},
            }
            for name in ("a", "b")
        ],
        "events": [
            {"type": "storm", "name": "s", "start": "04:00", "end": "10:00", "sites": ["a"]},
            {
                "type": "curtailment",
                "name": "c",
                "start": "17:00",
                "end": "20:00",
                "site": "b",
                "capacityKw": 1500,
                "announceMinutes": 30,
            },
            {
                "type": "priceSpike",
                "name": "p",
                "start": "16:00",
                "end": "21:00",
                "sites": ["b"],
                "priceUsdPerMwh": 950,
            },
        ],
    }
)
A, B = SCENARIO.sites
H = 3600.0


class TestNormalTimes:
    def test_the_meter_reads_the_spec(self) -> None:
        now = site_conditions(SCENARIO, B, 1 * H)
        assert (now.capacity_kw, now.mining_load_kw, now.price_usd_per_mwh) == (1800, 1700, 36)
        assert now.powered and not now.curtailed

    def test_the_feed_document_is_the_mining_meter(self) -> None:
        assert site_conditions(SCENARIO, B, 0).as_feed_document() == {
            "site": "b",
            "loadKw": 1700,
            "capacityKw": 1800,
            "curtailed": False,
            "priceUsdPerMwh": 36,
        }


class TestAStorm:
    def test_a_site_in_the_storm_has_no_power_from_start_to_end(self) -> None:
        during = site_conditions(SCENARIO, A, 4 * H)
        assert (during.capacity_kw, during.mining_load_kw) == (0, 0)
        assert not during.powered and during.curtailed
        assert site_conditions(SCENARIO, A, 10 * H - 1).capacity_kw == 0

    def test_power_is_back_at_the_end_and_other_sites_never_lost_it(self) -> None:
        assert site_conditions(SCENARIO, A, 10 * H).powered
        assert site_conditions(SCENARIO, A, 4 * H - 1).capacity_kw == 1800
        assert fleet_conditions(SCENARIO, 5 * H)["b"].powered


class TestACurtailment:
    def test_the_flag_goes_up_when_it_is_announced_with_capacity_unchanged(self) -> None:
        announced = site_conditions(SCENARIO, B, 16.5 * H)
        assert announced.curtailed and announced.capacity_kw == 1800
        assert not site_conditions(SCENARIO, B, 16.5 * H - 1).curtailed

    def test_the_capacity_is_lowered_during_the_window_and_mining_keeps_its_load(self) -> None:
        during = site_conditions(SCENARIO, B, 18 * H)
        assert (during.capacity_kw, during.mining_load_kw, during.curtailed) == (1500, 1700, True)
        after = site_conditions(SCENARIO, B, 20 * H)
        assert (after.capacity_kw, after.curtailed) == (1800, False)


class TestAPriceSpike:
    def test_the_price_jumps_for_the_window_only(self) -> None:
        assert site_conditions(SCENARIO, B, 16 * H).price_usd_per_mwh == 950
        assert site_conditions(SCENARIO, B, 21 * H).price_usd_per_mwh == 36
        assert site_conditions(SCENARIO, A, 17 * H).price_usd_per_mwh == 36
