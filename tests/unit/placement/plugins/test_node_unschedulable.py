"""NodeUnschedulable: a cordoned node takes no new replicas."""

from cango_operator.placement.plugins.node_unschedulable import NodeUnschedulable
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_only_the_cordoned_node_is_ruled_out() -> None:
    b = bench([site("a")], [node("open", "a"), node("cordoned", "a", unschedulable=True)], job("j"))
    result = NodeUnschedulable().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {"node unschedulable": ["cordoned"]}
