"""The snapshot: bad values are refused with the object and the API field named; a site's
available power follows docs/api.md."""

from __future__ import annotations

import pytest

from cango_operator import api, placement
from cango_operator.errors import CangoError
from cango_operator.placement import ExistingPlacement, Snapshot, SnapshotError
from cango_operator.placement.plugins import REGISTRY
from cango_operator.placement.plugins.site_phase import SitePhaseFilter
from tests.unit.placement.fleet import job, node, site


class TestBadValuesAreRefusedNamingTheField:
    @pytest.mark.parametrize(
        ("make", "message"),
        [
            (lambda: site("a", pue=0.9), "site 'a': pue: must be a number >= 1"),
            (lambda: site("a", pue=3.5), "site 'a': pue: must be 1.0..3.0"),
            (lambda: site("a", capacity_kw=-1.0), "site 'a': capacityKw: must be a number >= 0"),
            (lambda: site("a", other_load_kw=float("nan")), "site 'a': otherLoadKw"),
            (lambda: site("a", latency_ms={"eu": -3.0}), "site 'a': latencyMs.eu"),
            (
                lambda: node("n", "a", gpu_count=0),
                "GpuNode 'n': gpu.count: must be an integer 1..16",
            ),
            (
                lambda: node("n", "a", healthy_gpus=9),
                "GpuNode 'n': healthy GPUs: must be an integer 0..8",
            ),
            (
                lambda: node("n", "a", phase="Sick"),
                "GpuNode 'n': phase: must be one of Ready, Degraded, Unhealthy, Unknown",
            ),
            (lambda: job("j", objective="fast"), "InferenceJob t/j: placement.objective"),
            (lambda: job("j", replicas=-1), "InferenceJob t/j: replicas"),
            (lambda: job("j", gpu_count=17), "InferenceJob t/j: gpu.count"),
            (lambda: job("j", min_sites=0), "InferenceJob t/j: placement.minSites"),
            (
                lambda: job("j", client_region=None, max_latency_ms=50.0),
                "InferenceJob t/j: placement.clientRegion: required when maxLatencyMs is set",
            ),
            (
                lambda: ExistingPlacement(job="t/j", node="n", replicas=2, gpus=3),
                "placement of t/j on n: gpus: 3 GPUs do not split evenly over 2 replicas",
            ),
        ],
    )
    def test_the_error_names_the_object_and_field(self, make, message: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(SnapshotError) as exc:
            make()
        assert message in str(exc.value)

    def test_names_given_twice_are_refused(self) -> None:
        with pytest.raises(SnapshotError, match="GpuNode n: given more than once"):
            Snapshot(sites=(site("a"),), nodes=(node("n", "a"), node("n", "a")))

    def test_a_snapshot_error_is_a_cango_error_so_the_cli_reports_it(self) -> None:
        assert issubclass(SnapshotError, CangoError)


class TestAvailablePower:
    def test_follows_the_api_formula(self) -> None:
        s = site(
            "a",
            capacity_kw=20000.0,
            reserve_kw=500.0,
            other_load_kw=15800.0,
            gpu_draw_kw=310.0,
            committed_kw=420.0,
            mining_load_kw=16000.0,
            curtailable_kw=8000.0,
        )
        assert s.available_kw == 20000 - 500 - 15800 - 420 + 8000

    def test_sheddable_mining_is_at_most_what_runs(self) -> None:
        s = site("a", capacity_kw=10.0, other_load_kw=9.0, mining_load_kw=2.0, curtailable_kw=5.0)
        assert s.available_kw == 3.0

    def test_never_negative(self) -> None:
        assert site("a", capacity_kw=10.0, other_load_kw=30.0).available_kw == 0.0


class TestOneDefinitionOfEachEnum:
    def test_the_engines_phases_and_objectives_are_the_apis(self) -> None:
        assert placement.SitePhase is api.SitePhase
        assert placement.NodePhase is api.GpuNodePhase
        assert placement.Objective is api.Objective

    def test_the_site_phase_filter_is_registered_under_its_profile_name(self) -> None:
        assert REGISTRY["SitePhase"] is SitePhaseFilter
