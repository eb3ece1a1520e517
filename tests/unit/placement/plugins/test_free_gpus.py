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


def test_a_node_too_small_for_a_replica_is_unresolvable_and_a_busy_one_is_not() -> None:
    b = bench(
        [site("a")],
        [node("small", "a", gpu_count=2), node("busy", "a")],
        job("j", gpu_count=4),
        [running("j", "busy", 1, gpus=4), running("other", "busy", 1, gpus=4)],
    )
    result = FreeGpus().filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.rejected(result) == {"not enough free GPUs": ["busy", "small"]}
    assert b.names(result.unresolvable_mask(2)) == ["small"]


def test_capacity_is_free_gpus_over_the_replica_and_preemption_frees_the_gpus_missing() -> None:
    b = bench(
        [site("a")],
        [node("n1", "a", allocated_gpus=3), node("n2", "a", allocated_gpus=7)],
        job("j", gpu_count=2),
    )
    rule = FreeGpus()
    assert [rule.capacity(b.turn, b.fleet, b.state, n) for n in (0, 1)] == [2, 0]
    short = rule.shortfall(b.turn, b.fleet, b.state, b.all_nodes)
    assert short.gpus.tolist() == [0, 1]
    assert short.watts.tolist() == [0, 0]
