"""FreeGpus: a replica's GPUs must be free: healthy, not allocated, not held by running work."""

from cango_operator.placement.plugins.free_gpus import FreeGpus
from tests.unit.placement.fleet import job, node, running, site
from tests.unit.placement.plugins.harness import bench


def test_allocated_unhealthy_and_running_gpus_are_not_free() -> None:
    b = bench(
        [site("a")],
        [
            node("empty", "a"),
            node("allocated", "a", allocated_gpus=7),
            node("degraded", "a", healthy_gpus=1),
            node("busy", "a"),
        ],
        job("j", gpu_count=2),
        [running("j", "busy", 4)],
    )
    result = FreeGpus().filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.rejected(result) == {"not enough free GPUs": ["allocated", "busy", "degraded"]}


def test_allocated_gpus_and_listed_placements_are_not_counted_twice() -> None:
    # status says 4 allocated, and they are the 4 the listed placement holds: 4 free.
    b = bench(
        [site("a")],
        [node("n", "a", allocated_gpus=4)],
        job("j", gpu_count=4),
        [running("j", "n", 1)],
    )
    assert FreeGpus().filter(b.turn, b.fleet, b.state, b.all_nodes).rejections == ()
