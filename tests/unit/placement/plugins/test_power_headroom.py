"""PowerHeadroom score: most power left after the replica 100, least 0."""

from cango_operator.placement.plugins.power_headroom import PowerHeadroom
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_sites_with_more_power_left_score_higher() -> None:
    b = bench(
        [
            site("big", capacity_kw=20.0),
            site("mid", capacity_kw=11.0),
            site("small", capacity_kw=2.0),
        ],
        [node("big-1", "big"), node("mid-1", "mid"), node("small-1", "small")],
        job("j"),
    )
    scores = PowerHeadroom().score(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.by_name(scores) == {"big-1": 100, "mid-1": 50, "small-1": 0}
