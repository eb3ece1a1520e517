"""AllowedRegions: with allowedRegions set, sites elsewhere are out; unset, it does not apply."""

from cango_operator.placement import Code
from cango_operator.placement.plugins.allowed_regions import AllowedRegions
from tests.unit.placement.fleet import SA, job, node, site
from tests.unit.placement.plugins.harness import bench

SITES = [site("na"), site("sa", region=SA), site("me", region="middle-east")]
NODES = [node("na-1", "na"), node("sa-1", "sa"), node("me-1", "me")]


def test_sites_outside_the_allowed_regions_are_ruled_out() -> None:
    b = bench(SITES, NODES, job("j", allowed_regions=(SA, "middle-east")))
    result = AllowedRegions().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {"region not allowed": ["na-1"]}


def test_no_allowed_regions_means_any_and_the_plugin_skips() -> None:
    b = bench(SITES, NODES, job("j"))
    assert AllowedRegions().filter(b.turn.arrays, b.fleet, b.all_nodes).status.code == Code.SKIP


def test_running_replicas_outside_the_allowed_regions_are_moved() -> None:
    assert AllowedRegions.evicts_running
