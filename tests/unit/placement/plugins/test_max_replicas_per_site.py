"""MaxReplicasPerSite: at the cap, the site's nodes are out for this job."""

from cango_operator.placement import Code
from cango_operator.placement.plugins.max_replicas_per_site import MaxReplicasPerSite
from tests.unit.placement.fleet import job, node, running, site
from tests.unit.placement.plugins.harness import bench


def test_a_site_at_the_cap_is_ruled_out() -> None:
    b = bench(
        [site("full"), site("room")],
        [node("full-1", "full"), node("full-2", "full"), node("room-1", "room")],
        job("j", replicas=5, max_replicas_per_site=2),
        [running("j", "full-1", 2), running("j", "room-1", 1)],
    )
    result = MaxReplicasPerSite().filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.rejected(result) == {"maxReplicasPerSite 2 reached": ["full-1", "full-2"]}


def test_zero_means_no_cap() -> None:
    b = bench([site("a")], [node("n", "a")], job("j"))
    assert (
        MaxReplicasPerSite().filter(b.turn, b.fleet, b.state, b.all_nodes).status.code == Code.SKIP
    )


def test_a_full_site_is_unresolvable_and_capacity_is_what_the_cap_leaves() -> None:
    b = bench(
        [site("full"), site("room")],
        [node("full-1", "full"), node("room-1", "room")],
        job("j", replicas=5, max_replicas_per_site=3),
        [running("j", "full-1", 3), running("j", "room-1", 1)],
    )
    rule = MaxReplicasPerSite()
    result = rule.filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.names(result.unresolvable_mask(2)) == ["full-1"]
    assert [rule.capacity(b.turn, b.fleet, b.state, n) for n in (0, 1)] == [0, 2]
