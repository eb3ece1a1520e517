"""SiteCordon: no new replicas at a cordoned site."""

from cango_operator.placement.plugins.site_cordon import SiteCordon
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_nodes_of_a_cordoned_site_are_ruled_out() -> None:
    b = bench(
        [site("open"), site("closed", cordoned=True)],
        [node("o1", "open"), node("c1", "closed"), node("c2", "closed")],
        job("j"),
    )
    result = SiteCordon().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {"site cordoned": ["c1", "c2"]}
