"""SitePower: one more replica (estimated power x PUE) must fit in the site's headroom."""

from cango_operator.placement.plugins.site_power import SitePower
from tests.unit.placement.fleet import job, node, running, site
from tests.unit.placement.plugins.harness import bench


def test_a_site_without_room_for_power_times_pue_is_ruled_out() -> None:
    b = bench(
        [site("roomy", capacity_kw=1.4), site("tight", capacity_kw=1.4, pue=2.1)],
        [node("roomy-1", "roomy"), node("tight-1", "tight")],
        job("j", estimated_power_w=700.0),
    )
    result = SitePower().filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.rejected(result) == {"no power at site": ["tight-1"]}


def test_running_replicas_count_as_committed_power() -> None:
    b = bench(
        [site("a", capacity_kw=1.3)],
        [node("n", "a")],
        job("j", replicas=2),
        [running("j", "n", 1)],
    )
    result = SitePower().filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.rejected(result) == {"no power at site": ["n"]}


def test_sheddable_mining_counts_as_headroom() -> None:
    b = bench(
        [site("a", capacity_kw=10.0, other_load_kw=10.0, mining_load_kw=9.0, curtailable_kw=1.0)],
        [node("n", "a")],
        job("j"),
    )
    assert SitePower().filter(b.turn, b.fleet, b.state, b.all_nodes).rejections == ()


def test_capacity_counts_whole_replicas_in_the_power_left() -> None:
    b = bench([site("a", capacity_kw=2.5)], [node("n", "a")], job("j", estimated_power_w=700.0))
    assert SitePower().capacity(b.turn, b.fleet, b.state, 0) == 3


def test_preemption_must_free_the_watts_missing_at_the_site() -> None:
    b = bench(
        [site("a", capacity_kw=1.0)],
        [node("n", "a")],
        job("j", estimated_power_w=700.0, replicas=2),
        [running("j", "n", 1)],
    )
    rule = SitePower()
    result = rule.filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.names(result.unresolvable_mask(1)) == []
    assert rule.shortfall(b.turn, b.fleet, b.state, b.all_nodes).watts.tolist() == [400]


def test_power_only_mining_could_give_is_unresolvable_for_work_that_earns_less() -> None:
    # 10 kW, all of it mining that earns $0.10/kWh and may shed 5 kW; the job earns less.
    mining = {"other_load_kw": 10.0, "mining_load_kw": 10.0, "curtailable_kw": 5.0}
    b = bench(
        [site("a", capacity_kw=10.0, mining_usd_per_kwh=0.10, **mining)],
        [node("n", "a")],
        job("j", estimated_power_w=700.0, value_usd_per_gpu_hour=0.01),
    )
    result = SitePower().filter(b.turn, b.fleet, b.state, b.all_nodes)
    assert b.rejected(result) == {"the power left is mining's, which earns more per kWh": ["n"]}
    assert b.names(result.unresolvable_mask(1)) == ["n"]
