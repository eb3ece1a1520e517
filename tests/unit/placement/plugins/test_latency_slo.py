"""LatencySLO: never above maxLatencyMs; a site with no declared latency cannot prove it."""

from cango_operator.placement import Code
from cango_operator.placement.plugins.latency_slo import LatencySLO
from tests.unit.placement.fleet import NA, job, node, site
from tests.unit.placement.plugins.harness import bench

SITES = [
    site("at-limit", latency_ms={NA: 50.0}),
    site("over", latency_ms={NA: 50.5}),
    site("silent", latency_ms={}),
]
NODES = [node("at-limit-1", "at-limit"), node("over-1", "over"), node("silent-1", "silent")]


def test_latency_above_the_slo_or_unknown_is_ruled_out_and_equal_is_fine() -> None:
    b = bench(SITES, NODES, job("j", max_latency_ms=50.0))
    result = LatencySLO().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {
        "no latency to north-america": ["silent-1"],
        "latency > 50ms": ["over-1"],
    }


def test_no_slo_skips() -> None:
    b = bench(SITES, NODES, job("j"))
    assert LatencySLO().filter(b.turn.arrays, b.fleet, b.all_nodes).status.code == Code.SKIP


def test_reads_only_the_region_and_the_slo() -> None:
    b = bench(SITES, NODES, job("j", max_latency_ms=50.0, gpu_count=4))
    assert LatencySLO().reads(b.turn.arrays.shape) == (NA, 50.0)
