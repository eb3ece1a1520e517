"""What the guard does after a sample: only while the hub is away, only down, in the
engine's order, and only as much as the budget asks."""

from __future__ import annotations

from datetime import timedelta

from cango_operator.siteguard import Decision, decide
from tests.unit.siteguard.factories import T0, at_site, deployment, power, short_by

FLEET = at_site(
    deployment("vip", priority=100),
    deployment("batch", priority=10),
    deployment("spare", priority=50, preemptible=True),
    deployment("cheap", 2, priority=0, preemptible=True),
)


def scaled(decision: Decision) -> list[tuple[str, int, int]]:
    return [(a.deployment.running.job, a.deployment.replicas, a.to) for a in decision.actions]


class TestOnlyWhileTheHubIsAway:
    def test_with_the_hub_reachable_it_only_watches_however_short_the_budget(self) -> None:
        decision = decide(hub_reachable=True, power=short_by(FLEET, 3.0), deployments=FLEET)
        assert decision.actions == ()
        assert "hub is reachable" in decision.why

    def test_with_the_hub_away_it_sheds(self) -> None:
        decision = decide(hub_reachable=False, power=short_by(FLEET, 0.5), deployments=FLEET)
        assert scaled(decision) == [("ns/cheap", 2, 1)]
        assert "unreachable" in decision.actions[0].reason


class TestTheEnginesOrder:
    def test_preemptible_lowest_priority_first_then_the_rest(self) -> None:
        decision = decide(hub_reachable=False, power=short_by(FLEET, 3.0), deployments=FLEET)
        assert scaled(decision) == [
            ("ns/cheap", 2, 0),
            ("ns/spare", 1, 0),
            ("ns/batch", 1, 0),
        ]

    def test_only_as_many_as_the_shortfall_asks(self) -> None:
        decision = decide(hub_reachable=False, power=short_by(FLEET, 0.8), deployments=FLEET)
        assert scaled(decision) == [("ns/cheap", 2, 0)]


class TestNeverStartsAnything:
    def test_inside_the_budget_nothing_happens(self) -> None:
        decision = decide(hub_reachable=False, power=power(FLEET), deployments=FLEET)
        assert decision.actions == ()
        assert decision.why == "inside the power budget"

    def test_a_recovered_feed_after_a_shed_stops_the_shedding_and_restarts_nothing(
        self,
    ) -> None:
        after = at_site(
            deployment("vip", priority=100),
            deployment("batch", priority=10),
            deployment("spare", 0, priority=50, preemptible=True),
            deployment("cheap", 0, priority=0, preemptible=True),
        )
        recovered = power(after, sampled=T0 + timedelta(seconds=5))
        decision = decide(hub_reachable=False, power=recovered, deployments=after, last_shed_at=T0)
        assert decision.actions == ()

    def test_every_action_scales_down(self) -> None:
        for kw in (0.1, 0.9, 1.7, 2.5, 3.3, 100.0):
            decision = decide(hub_reachable=False, power=short_by(FLEET, kw), deployments=FLEET)
            assert all(a.to < a.deployment.replicas and a.to >= 0 for a in decision.actions)


class TestWhenNotToTrustTheNumbers:
    def test_a_stale_feed_makes_the_figures_unknown_and_nothing_moves(self) -> None:
        stale = short_by(FLEET, 3.0, now=T0 + timedelta(hours=1))
        decision = decide(hub_reachable=False, power=stale, deployments=FLEET)
        assert decision.actions == ()
        assert "not current" in decision.why

    def test_after_a_shed_it_waits_for_a_sample_taken_after_it(self) -> None:
        old = short_by(FLEET, 0.5, sampled=T0)
        waiting = decide(hub_reachable=False, power=old, deployments=FLEET, last_shed_at=T0)
        assert waiting.actions == ()
        fresh = short_by(FLEET, 0.5, sampled=T0 + timedelta(seconds=2))
        acting = decide(hub_reachable=False, power=fresh, deployments=FLEET, last_shed_at=T0)
        assert scaled(acting) == [("ns/cheap", 2, 1)]

    def test_a_site_with_no_capacity_sheds_everything(self) -> None:
        dark = power(FLEET, capacity_kw=0)
        decision = decide(hub_reachable=False, power=dark, deployments=FLEET)
        assert sorted(to for _, _, to in scaled(decision)) == [0, 0, 0, 0]
