"""Snapshots from the API models: status where the operator observed it, spec otherwise."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cango_operator.api import GpuNode, InferenceJob, Site, parse_resource
from cango_operator.placement import NodePhase, Objective, SitePhase, SnapshotError
from cango_operator.placement.from_api import (
    job_request,
    node_state,
    running_placements,
    site_state,
    snapshot_from_api,
)


def model(text: str) -> Any:
    return parse_resource(yaml.safe_load(text), "test.yaml")


SITE = """
apiVersion: compute.cango.io/v1alpha1
kind: Site
metadata: {name: tx-1}
spec:
  region: north-america
  power: {capacityKw: 20000, reserveKw: 500, pue: 1.15}
  energyPriceUsdPerMwh: 38
  mining: {loadKw: 16000, curtailableKw: 8000}
  latencyMs: {north-america: 25, south-america: 140}
"""
SITE_STATUS = """
status:
  phase: Degraded
  power: {capacityKw: 18000, otherLoadKw: 15800, gpuDrawKw: 310, committedKw: 420}
  latencyMs: {north-america: 24}
  energyPriceUsdPerMwh: 55
"""
NODE = """
apiVersion: compute.cango.io/v1alpha1
kind: GpuNode
metadata: {name: tx-1-n001}
spec:
  site: tx-1
  nodeName: tx-1-n001
  gpu: {model: H100-80GB, count: 8, memoryMiB: 81559, maxPowerW: 700}
  unschedulable: true
"""
NODE_STATUS = """
status:
  phase: Degraded
  allocatedGpus: 3
  gpus:
  - {index: 0, healthy: true}
  - {index: 1, healthy: false, lastXid: 79}
  - {index: 2, healthy: false}
"""
JOB = """
apiVersion: compute.cango.io/v1alpha1
kind: InferenceJob
metadata: {name: chat, namespace: acme}
spec:
  replicas: 4
  container: {image: example/chat:1}
  gpu: {count: 2, models: [H100-80GB], minMemoryMiB: 40000}
  estimatedPowerW: 1300
  placement:
    clientRegion: north-america
    maxLatencyMs: 50
    allowedRegions: [north-america]
    minSites: 2
    maxReplicasPerSite: 3
    maxMovesPerRound: 2
    objective: cost
  priority: 100
  preemptible: true
status:
  placements:
  - {site: tx-1, node: tx-1-n001, replicas: 1, gpus: 2, powerW: 1300}
  - {site: tx-1, node: tx-1-n001, replicas: 1, gpus: 2, powerW: 1300}
  - {site: tx-2, node: tx-2-n001, replicas: 0}
"""


class TestSite:
    def test_without_status_the_spec_describes_a_ready_site_loaded_by_its_miners(self) -> None:
        s = site_state(model(SITE))
        assert (s.phase, s.capacity_kw, s.other_load_kw, s.gpu_draw_kw) == (
            SitePhase.READY,
            20000,
            16000,
            0,
        )
        assert (s.mining_load_kw, s.curtailable_kw, s.pue, s.reserve_kw) == (16000, 8000, 1.15, 500)
        assert s.latency_ms == {"north-america": 25.0, "south-america": 140.0}
        assert s.energy_price_usd_per_mwh == 38

    def test_status_values_win_where_given(self) -> None:
        s = site_state(model(SITE + SITE_STATUS))
        assert (s.phase, s.capacity_kw, s.other_load_kw, s.gpu_draw_kw, s.committed_kw) == (
            SitePhase.DEGRADED,
            18000,
            15800,
            310,
            420,
        )
        assert s.latency_ms == {"north-america": 24.0, "south-america": 140.0}
        assert s.energy_price_usd_per_mwh == 55
        assert s.mining_load_kw == 15800  # the other load, as the power model reads it

    def test_an_unknown_price_counts_as_the_fleet_average(self) -> None:
        priced = model(SITE)
        other = model(SITE.replace("tx-1", "tx-2").replace("energyPriceUsdPerMwh: 38", ""))
        third = model(SITE.replace("tx-1", "tx-3").replace("38", "42"))
        snapshot = snapshot_from_api([priced, other, third], [], [])
        assert [s.energy_price_usd_per_mwh for s in snapshot.sites] == [38, 40, 42]


class TestGpuNode:
    def test_without_status_all_gpus_are_usable_and_free(self) -> None:
        n = node_state(model(NODE))
        assert (n.name, n.site, n.gpu_model, n.gpu_count, n.usable_gpus) == (
            "tx-1-n001",
            "tx-1",
            "H100-80GB",
            8,
            8,
        )
        assert (n.phase, n.allocated_gpus, n.unschedulable) == (NodePhase.READY, 0, True)

    def test_unhealthy_gpus_are_not_usable_and_allocated_ones_are_taken(self) -> None:
        n = node_state(model(NODE + NODE_STATUS))
        assert (n.phase, n.usable_gpus, n.allocated_gpus) == (NodePhase.DEGRADED, 6, 3)


class TestInferenceJob:
    def test_spec_fields_map_onto_the_request(self) -> None:
        j = job_request(model(JOB))
        assert j.key == "acme/chat"
        assert (j.replicas, j.gpu_count, j.gpu_models, j.min_memory_mib) == (
            4,
            2,
            ("H100-80GB",),
            40000,
        )
        assert (j.estimated_power_w, j.client_region, j.max_latency_ms) == (
            1300.0,
            "north-america",
            50.0,
        )
        assert (j.allowed_regions, j.min_sites, j.max_replicas_per_site, j.objective) == (
            ("north-america",),
            2,
            3,
            Objective.COST,
        )
        assert (j.priority, j.preemptible, j.max_moves_per_round) == (100, True, 2)

    def test_zero_gpu_memory_plans_as_no_minimum(self) -> None:
        zero = job_request(model(JOB.replace("minMemoryMiB: 40000", "minMemoryMiB: 0")))
        absent = job_request(model(JOB.replace(", minMemoryMiB: 40000", "")))
        assert zero.min_memory_mib == absent.min_memory_mib == 0

    def test_a_job_without_namespace_is_in_default(self) -> None:
        assert job_request(model(JOB.replace(", namespace: acme", ""))).key == "default/chat"

    def test_status_placements_become_running_replicas_one_row_per_node(self) -> None:
        (p,) = running_placements(model(JOB))
        assert (p.job, p.node, p.replicas, p.gpus, p.power_w) == (
            "acme/chat",
            "tx-1-n001",
            2,
            4,
            2600.0,
        )


class TestOneAdapter:
    """``plan -f`` and the operator build their snapshot with the same function: a manifest
    set must be right, a cluster's one bad object is left out and said."""

    def test_a_manifest_set_with_a_name_twice_is_refused(self) -> None:
        with pytest.raises(SnapshotError, match="tx-1"):
            snapshot_from_api([model(SITE), model(SITE)], [], [])

    def test_in_a_cluster_the_second_object_of_a_name_is_left_out_and_said(self) -> None:
        said: list[str] = []
        snapshot = snapshot_from_api(
            [model(SITE), model(SITE.replace("38", "99"))],
            [model(NODE)],
            [model(JOB)],
            left_out=said.append,
        )
        assert [s.energy_price_usd_per_mwh for s in snapshot.sites] == [38]
        assert said == ["tx-1 appears twice"]
        assert [j.key for j in snapshot.jobs] == ["acme/chat"]
        assert [p.node for p in snapshot.placements] == ["tx-1-n001"]

    def test_sites_and_nodes_come_in_name_order_whatever_the_input_order(self) -> None:
        sites = [model(SITE.replace("tx-1", name)) for name in ("tx-3", "tx-1", "tx-2")]
        snapshot = snapshot_from_api(sites, [], [], left_out=print)
        assert [s.name for s in snapshot.sites] == ["tx-1", "tx-2", "tx-3"]
        assert snapshot == snapshot_from_api(reversed(sites), [], [])


def test_the_models_are_the_ones_the_api_exports() -> None:
    assert isinstance(model(SITE), Site)
    assert isinstance(model(NODE), GpuNode)
    assert isinstance(model(JOB), InferenceJob)
