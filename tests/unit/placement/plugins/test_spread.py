"""Spread score: 100 at a site without the job's replicas, then 50, 33, 25, ..."""

from cango_operator.placement.plugins.spread import Spread
from tests.unit.placement.fleet import job, node, running, site
from tests.unit.placement.plugins.harness import bench


def test_sites_already_running_the_job_score_lower() -> None:
    b = bench(
        [site("none"), site("one"), site("two")],
        [node("none-1", "none"), node("one-1", "one"), node("two-1", "two")],
        job("j", replicas=4),
        [running("j", "one-1", 1), running("j", "two-1", 2)],
    )
    scores = Spread().score(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.by_name(scores) == {"none-1": 100, "one-1": 50, "two-1": 33}
