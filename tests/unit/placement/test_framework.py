"""The framework: the registry, profiles built from names, and plugins from outside."""

from __future__ import annotations

from collections.abc import Hashable
from typing import ClassVar

import numpy as np
import pytest

from cango_operator.placement import (
    DEFAULT_PROFILE,
    REGISTRY,
    FilterResult,
    JobShape,
    JobTurn,
    Objective,
    PlacementEngine,
    PluginKind,
    ShapeArrays,
    Snapshot,
    build_profile,
)
from cango_operator.placement.framework import min_max_score
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import FleetTable, IntArray
from tests.unit.placement.fleet import job, node, site


class Broken:
    """A static filter that cannot judge: it answers Error."""

    name: ClassVar[str] = "Broken"
    kind: ClassVar[PluginKind] = PluginKind.STATIC_FILTER
    evicts_running: ClassVar[bool] = False

    def reads(self, shape: JobShape) -> Hashable:
        return None

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult:
        return FilterResult.error("inventory unavailable")


class Undeclared:
    """Has a dynamic filter's method but does not say what it is."""

    name: ClassVar[str] = "Undeclared"

    def filter(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> None:
        return None


class PreferLastNode:
    """A score plugin from outside: the node whose name sorts last wins."""

    name: ClassVar[str] = "PreferLastNode"
    kind: ClassVar[PluginKind] = PluginKind.SCORE

    def score(self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray) -> IntArray:
        return min_max_score(nodes.astype(np.float64), higher_is_better=True)


SNAPSHOT = Snapshot(sites=(site("a"),), nodes=(node("n1", "a"), node("n2", "a")), jobs=(job("j"),))


class TestRegistry:
    def test_every_plugin_of_the_default_profile_is_registered(self) -> None:
        names = {
            *(f.name for f in DEFAULT_PROFILE.static_filters),
            *(f.name for f in DEFAULT_PROFILE.dynamic_filters),
            *(s.name for s in DEFAULT_PROFILE.scores),
        }
        assert names == set(REGISTRY)

    def test_an_unknown_name_is_refused_listing_the_known_ones(self) -> None:
        with pytest.raises(KeyError, match=r"no placement plugin named 'Nope'.*NodeHealth"):
            build_profile(static_filters=("Nope",))

    def test_a_plugin_of_the_wrong_kind_is_refused(self) -> None:
        with pytest.raises(TypeError, match="'Packing' is not a static filter"):
            build_profile(static_filters=("Packing",))

    def test_a_plugin_is_the_kind_it_declares_whatever_methods_it_has(self) -> None:
        registry = {**REGISTRY, "Undeclared": Undeclared, "PreferLastNode": PreferLastNode}
        with pytest.raises(TypeError, match=r"'Undeclared' is not a dynamic filter .*no kind"):
            build_profile(dynamic_filters=("Undeclared",), registry=registry)
        with pytest.raises(TypeError, match="'PreferLastNode' is not a dynamic filter"):
            build_profile(dynamic_filters=("PreferLastNode",), registry=registry)

    def test_every_registered_plugin_declares_its_kind(self) -> None:
        assert {plugin().kind for plugin in REGISTRY.values()} == set(PluginKind)

    def test_weights_must_name_listed_scores(self) -> None:
        with pytest.raises(ValueError, match="not a listed score"):
            build_profile(scores=("Latency",), weights={Objective.COST: {"Packing": 1}})


class TestPluginsFromOutside:
    def test_a_filter_that_errors_rules_out_every_node_with_its_reason(self) -> None:
        profile = build_profile(
            static_filters=("NodeHealth", "Broken"), registry={**REGISTRY, "Broken": Broken}
        )
        result = PlacementEngine(profile).plan(SNAPSHOT)
        assert result.placements == ()
        assert result.unschedulable[0].reasons == {"Broken: inventory unavailable": 2}

    def test_a_score_plugin_with_all_the_weight_decides(self) -> None:
        weights = {o: {"PreferLastNode": 1} for o in Objective}
        profile = build_profile(
            scores=("PreferLastNode",),
            weights=weights,
            registry={**REGISTRY, "PreferLastNode": PreferLastNode},
        )
        result = PlacementEngine(profile).plan(SNAPSHOT)
        assert [p.node for p in result.placements] == ["n2"]
        assert [p.node for p in PlacementEngine().plan(SNAPSHOT).placements] == ["n1"]


class TestScoreScale:
    def test_min_max_maps_onto_0_to_100_and_equal_values_all_get_100(self) -> None:
        assert min_max_score(np.array([1.0, 2.0, 3.0]), higher_is_better=True).tolist() == [
            0,
            50,
            100,
        ]
        assert min_max_score(np.array([7.0, 7.0]), higher_is_better=False).tolist() == [100, 100]
