"""Properties over random fleets: the hard promises always hold (improvement stage
included), the greedy stage decides exactly what the plain-Python reference decides, and
input order never matters.

Hypothesis runs derandomized (the same examples every run) with no example database, so
CI sees the same cases every time. Search harder locally with, e.g.,
``CANGO_PROPERTY_EXAMPLES=3000 pytest tests/unit/placement/test_properties.py``.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cango_operator.placement import OFF, Snapshot, plan
from tests.unit.placement.invariants import broken_promises
from tests.unit.placement.reference import reference_plan
from tests.unit.placement.strategies import crowded_snapshots, snapshots

PROPERTY = settings(
    max_examples=int(os.environ.get("CANGO_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class TestHardPromises:
    """Never over a site's power budget, never more GPUs than a node has free, never above
    maxLatencyMs, never outside allowedRegions, minSites met or reported, preemption only
    of lower-priority preemptible work, running replicas moved only with a reason."""

    @PROPERTY
    @given(snapshots())
    def test_hold_on_random_fleets(self, snapshot: Snapshot) -> None:
        assert broken_promises(snapshot, plan(snapshot)) == []

    @PROPERTY
    @given(crowded_snapshots())
    def test_hold_on_crowded_fleets_where_work_is_preempted(self, snapshot: Snapshot) -> None:
        assert broken_promises(snapshot, plan(snapshot)) == []


class TestSameDecisionsAsTheReference:
    """The greedy stage (the improvement stage off) against the reference."""

    @PROPERTY
    @given(snapshots())
    def test_on_random_fleets(self, snapshot: Snapshot) -> None:
        assert plan(snapshot, budget=OFF).to_json() == reference_plan(snapshot).to_json()

    @PROPERTY
    @given(crowded_snapshots())
    def test_on_crowded_fleets(self, snapshot: Snapshot) -> None:
        assert plan(snapshot, budget=OFF).to_json() == reference_plan(snapshot).to_json()


class TestDeterminism:
    @PROPERTY
    @given(snapshots(), st.randoms(use_true_random=False))
    def test_the_order_of_the_input_does_not_matter(
        self, snapshot: Snapshot, rng: random.Random
    ) -> None:
        def shuffled(items: tuple) -> tuple:  # type: ignore[type-arg]
            out = list(items)
            rng.shuffle(out)
            return tuple(out)

        reordered = Snapshot(
            sites=shuffled(snapshot.sites),
            nodes=shuffled(snapshot.nodes),
            jobs=shuffled(snapshot.jobs),
            placements=shuffled(snapshot.placements),
        )
        assert plan(reordered) == plan(snapshot)
