"""GpuModel: only the models the job lists (none listed: any)."""

from cango_operator.placement import Code
from cango_operator.placement.plugins.gpu_model import GpuModel
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench

NODES = [
    node("h100", "a"),
    node("a100", "a", gpu_model="A100-80GB"),
    node("l40s", "a", gpu_model="L40S-48GB"),
]


def test_other_models_are_ruled_out_and_the_reason_names_the_wanted_ones() -> None:
    b = bench([site("a")], NODES, job("j", gpu_models=("H200-141GB", "H100-80GB")))
    result = GpuModel().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {"no H100-80GB or H200-141GB": ["a100", "l40s"]}


def test_a_model_no_node_has_rules_out_every_node() -> None:
    b = bench([site("a")], NODES, job("j", gpu_models=("B200-180GB",)))
    result = GpuModel().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {"no B200-180GB": ["a100", "h100", "l40s"]}


def test_no_models_listed_skips() -> None:
    b = bench([site("a")], NODES, job("j"))
    assert GpuModel().filter(b.turn.arrays, b.fleet, b.all_nodes).status.code == Code.SKIP
