"""NodeHealth: Ready and Degraded nodes take work; Unhealthy and Unknown do not."""

from cango_operator.placement import Code
from cango_operator.placement.plugins.node_health import NodeHealth
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_unhealthy_and_unknown_nodes_are_ruled_out_each_with_its_phase() -> None:
    b = bench(
        [site("a")],
        [
            node("ready", "a"),
            node("degraded", "a", phase="Degraded"),
            node("sick", "a", phase="Unhealthy"),
            node("silent", "a", phase="Unknown"),
        ],
        job("j"),
    )
    result = NodeHealth().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert result.status.code == Code.UNSCHEDULABLE
    assert b.rejected(result) == {"node Unhealthy": ["sick"], "node Unknown": ["silent"]}


def test_all_healthy_is_success() -> None:
    b = bench([site("a")], [node("n", "a")], job("j"))
    assert NodeHealth().filter(b.turn.arrays, b.fleet, b.all_nodes).status.code == Code.SUCCESS
