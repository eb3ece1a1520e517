"""Latency score: lowest latency 100, highest 0, linear between; unknown latency 0."""

from cango_operator.placement.plugins.latency import Latency
from tests.unit.placement.fleet import NA, job, node, site
from tests.unit.placement.plugins.harness import bench

SITES = [
    site("a", latency_ms={NA: 10.0}),
    site("b", latency_ms={NA: 30.0}),
    site("c", latency_ms={NA: 50.0}),
    site("d", latency_ms={}),
]
NODES = [node("a1", "a"), node("b1", "b"), node("c1", "c"), node("d1", "d")]


def test_scores_spread_linearly_from_closest_to_farthest() -> None:
    b = bench(SITES, NODES, job("j"))
    scores = Latency().score(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.by_name(scores) == {"a1": 100, "b1": 50, "c1": 0, "d1": 0}


def test_a_job_without_client_region_scores_every_node_the_same() -> None:
    b = bench(SITES, NODES, job("j", client_region=None))
    assert set(Latency().score(b.turn, b.fleet, b.state, b.all_nodes).tolist()) == {100}
