"""EnergyPrice score: cheapest power per IT watt (price x PUE) 100, dearest 0."""

from cango_operator.placement.plugins.energy_price import EnergyPrice
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_price_times_pue_is_ranked_cheapest_first() -> None:
    b = bench(
        [
            site("cheap", energy_price_usd_per_mwh=20.0),
            site("mid", energy_price_usd_per_mwh=25.0, pue=1.2),
            site("dear", energy_price_usd_per_mwh=40.0),
        ],
        [node("cheap-1", "cheap"), node("mid-1", "mid"), node("dear-1", "dear")],
        job("j"),
    )
    scores = EnergyPrice().score(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.by_name(scores) == {"cheap-1": 100, "mid-1": 50, "dear-1": 0}


def test_negative_prices_rank_best() -> None:
    b = bench(
        [
            site("paid", energy_price_usd_per_mwh=-10.0),
            site("normal", energy_price_usd_per_mwh=30.0),
        ],
        [node("paid-1", "paid"), node("normal-1", "normal")],
        job("j"),
    )
    assert b.by_name(EnergyPrice().score(b.turn, b.fleet, b.state, b.all_nodes)) == {
        "paid-1": 100,
        "normal-1": 0,
    }
