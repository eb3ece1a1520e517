"""GpuMemory: each GPU needs at least minMemoryMiB."""

from cango_operator.placement import Code
from cango_operator.placement.plugins.gpu_memory import GpuMemory
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench

NODES = [node("big", "a", gpu_memory_mib=81559), node("small", "a", gpu_memory_mib=46068)]


def test_gpus_with_less_memory_are_ruled_out() -> None:
    b = bench([site("a")], NODES, job("j", min_memory_mib=48000))
    result = GpuMemory().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {"GPU memory < 48000MiB": ["small"]}


def test_exactly_enough_memory_fits() -> None:
    b = bench([site("a")], NODES, job("j", min_memory_mib=46068))
    assert GpuMemory().filter(b.turn.arrays, b.fleet, b.all_nodes).rejections == ()


def test_no_minimum_skips() -> None:
    b = bench([site("a")], NODES, job("j"))
    assert GpuMemory().filter(b.turn.arrays, b.fleet, b.all_nodes).status.code == Code.SKIP
