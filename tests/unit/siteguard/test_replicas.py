"""What the guard reads from the Deployments at its site."""

from __future__ import annotations

from cango_operator.siteguard import committed_kw, of_site
from tests.unit.siteguard.factories import PUE, SITE, deployment


class TestReading:
    def test_priority_preemptibility_and_power_with_the_sites_pue(self) -> None:
        (dep,) = of_site([deployment("chat", 2, priority=7, preemptible=True)], SITE, PUE)
        assert (dep.namespace, dep.gpunode, dep.replicas) == ("ns", "gpu-1", 2)
        row = dep.running
        assert (row.job, row.priority, row.preemptible, row.need_w) == ("ns/chat", 7, True, 771)

    def test_only_the_deployments_of_the_site(self) -> None:
        found = of_site([deployment("a"), deployment("b", site="other")], SITE, PUE)
        assert [d.running.job for d in found] == ["ns/a"]

    def test_without_a_replica_power_it_draws_nothing_and_is_never_stopped(self) -> None:
        (dep,) = of_site([deployment("old", 2, power_w=None)], SITE, PUE)
        assert dep.running.need_w == 0
        assert committed_kw([dep]) == 0


class TestCommitted:
    def test_power_placed_with_before_pue(self) -> None:
        deps = of_site([deployment("a", 2), deployment("b", 1, power_w=350)], SITE, PUE)
        assert committed_kw(deps) == (2 * 700 + 350) / 1000
