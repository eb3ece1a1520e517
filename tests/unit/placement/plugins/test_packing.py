"""Packing score: the share of the node in use once the replica is on it."""

from cango_operator.placement.plugins.packing import Packing
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_fuller_nodes_and_exact_fits_score_higher() -> None:
    b = bench(
        [site("a")],
        [
            node("empty8", "a"),
            node("half8", "a", allocated_gpus=4),
            node("empty2", "a", gpu_count=2),
        ],
        job("j", gpu_count=2),
    )
    scores = Packing().score(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.by_name(scores) == {"empty8": 25, "half8": 75, "empty2": 100}
