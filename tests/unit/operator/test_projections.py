"""One projection per watched kind: the index keeps, and the change filter compares,
what the operator reads of an object, read once and the same way. A change to a field
outside the projection asks for no round; a change to one inside it does."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

from cango_operator.operator.indexes import (
    index_deployment,
    index_gpunode,
    index_job,
    index_managed_cluster,
    index_namespace,
    index_node,
    index_site,
    index_work,
)
from cango_operator.operator.projections import (
    AVAILABLE_CONDITION,
    Measured,
    gpunode_projection,
    job_projection,
    managed_cluster_entry,
    namespace_entry,
    node_entry,
    operator_labels,
    owned_projection,
    site_projection,
    work_projection,
)
from cango_operator.operator.relevance import ChangeFilter


def node(labels: dict[str, str], ready: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"name": "n1", "resourceVersion": "7", "labels": labels},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


def site(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "s1", "resourceVersion": "1"},
        "spec": {"region": "eu", "power": {"capacityKw": 1000}},
        "status": {"phase": "Ready", "power": {"gpuDrawKw": 100.0}, **status},
    }


def gpunode(**status: Any) -> dict[str, Any]:
    gpu = {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700}
    return {
        "metadata": {"name": "g1", "resourceVersion": "1"},
        "spec": {"site": "s1", "nodeName": "n1", "gpu": gpu},
        "status": {
            "phase": "Ready",
            "powerW": 2000.0,
            "lastHeartbeatTime": "2026-01-01T00:00:00Z",
            "gpus": [{"index": i, "healthy": True, "temperatureC": 40.0} for i in range(8)],
            **status,
        },
    }


def job(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "chat", "namespace": "t", "uid": "u1", "generation": 1},
        "spec": {"replicas": 2, "container": {"image": "img:1", "port": 8000}, "gpu": {"count": 1}},
        "status": {"placements": [], **status},
    }


def feedback(name: str, **values: int) -> dict[str, Any]:
    """A Deployment's status feedback in a ManifestWork, as OCM's work agent reports it."""
    return {
        "resourceMeta": {"kind": "Deployment", "name": name},
        "statusFeedback": {
            "values": [
                {"name": key, "fieldValue": {"type": "Integer", "integer": value}}
                for key, value in values.items()
            ]
        },
    }


def work(*manifests: dict[str, Any], job_namespace: str | None = "t") -> dict[str, Any]:
    labels = {"compute.cango.io/job": "chat"}
    if job_namespace is not None:
        labels["compute.cango.io/job-namespace"] = job_namespace
    return {
        "metadata": {
            "name": "t-chat",
            "namespace": "site-a",
            "uid": "w1",
            "resourceVersion": "1",
            "labels": labels,
            "annotations": {"compute.cango.io/applied-hash": "h1"},
        },
        "status": {
            "conditions": [{"type": "Applied", "status": "True"}],
            "resourceStatus": {"manifests": list(manifests)},
        },
    }


def asks(plural: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether ``after``, seen after ``before``, asks for a round."""
    filt = ChangeFilter()
    assert filt.wants_round(plural, before, None)
    return filt.wants_round(plural, after, "MODIFIED")


class TestNodes:
    def test_the_operator_labels_are_those_of_its_own_prefix_only(self) -> None:
        labels = {
            "compute.cango.io/site": "s1",
            "compute.example.com/rack": "r7",  # another project's "compute." labels
            "kubernetes.io/hostname": "n1",
        }
        assert operator_labels(labels) == {"compute.cango.io/site": "s1"}

    def test_a_label_the_index_does_not_keep_asks_for_no_round(self) -> None:
        filt = ChangeFilter()
        before = node({"compute.cango.io/site": "s1"})
        assert filt.wants_round("nodes", before, None)
        after = copy.deepcopy(before)
        after["metadata"]["labels"]["compute.example.com/rack"] = "r7"
        after["metadata"]["resourceVersion"] = "8"
        assert asyncio.run(index_node(before)) == {"n1": node_entry(before)}
        assert node_entry(after).labels == node_entry(before).labels
        assert not filt.wants_round("nodes", after, "MODIFIED")

    def test_the_index_and_the_filter_see_readiness_alike(self) -> None:
        filt = ChangeFilter()
        ready = node({"compute.cango.io/site": "s1"})
        assert filt.wants_round("nodes", ready, None)
        lost = node({"compute.cango.io/site": "s1"}, ready="Unknown")
        assert (node_entry(ready).ready, node_entry(lost).ready) == (True, False)
        assert filt.wants_round("nodes", lost, "MODIFIED")


class TestManagedClusters:
    def test_availability_and_its_time_are_read_once(self) -> None:
        body = {
            "metadata": {"name": "site-a"},
            "status": {
                "conditions": [
                    {
                        "type": AVAILABLE_CONDITION,
                        "status": "Unknown",
                        "reason": "LeaseLapsed",
                        "message": "lease not renewed",
                        "lastTransitionTime": "2026-11-22T12:00:00Z",
                    }
                ]
            },
        }
        entry = managed_cluster_entry(body)
        assert asyncio.run(index_managed_cluster(body)) == {"site-a": entry}
        assert (entry.available, entry.reachable) == ("Unknown", False)
        assert entry.since == datetime(2026, 11, 22, 12, tzinfo=UTC)


class TestNamespaces:
    def test_the_tenant_is_the_admin_s_label(self) -> None:
        body = {"metadata": {"name": "acme-prod", "labels": {"compute.cango.io/tenant": "acme"}}}
        entry = namespace_entry(body)
        assert asyncio.run(index_namespace(body)) == {"acme-prod": entry}
        assert (entry.tenant, entry.terminating) == ("acme", False)

    def test_a_namespace_without_the_label_or_with_it_empty_is_its_own_tenant(self) -> None:
        unlabelled = {"metadata": {"name": "beta", "labels": {"team": "x"}}}
        empty = {"metadata": {"name": "beta", "labels": {"compute.cango.io/tenant": ""}}}
        assert namespace_entry(unlabelled).tenant == "beta"
        assert namespace_entry(empty).tenant == "beta"


class TestSites:
    def test_the_index_keeps_the_projections_record(self) -> None:
        body = site()
        entry = site_projection(body).entry
        assert asyncio.run(index_site(body)) == {"s1": entry}
        assert entry.site is not None and entry.site.spec.region == "eu"

    def test_a_change_outside_the_projection_asks_for_no_round(self) -> None:
        aggregates = site(gpus={"total": 8, "free": 6}, nodes={"total": 1})
        aggregates["metadata"]["resourceVersion"] = "2"
        assert not asks("sites", site(), aggregates)

    def test_a_change_to_a_projected_field_asks_for_one(self) -> None:
        assert asks("sites", site(), site(energyPriceUsdPerMwh=41.0))
        moved = site()
        moved["spec"]["region"] = "us"
        assert asks("sites", site(), moved)

    def test_measured_power_carries_its_step_a_share_of_the_capacity(self) -> None:
        # 1000 kW: the step is 5%, 50 kW.
        assert Measured("gpuDrawKw", 100.0, 50.0) in site_projection(site()).inputs.measured
        drawn = Measured("gpuDrawKw", 100.0, 50.0)
        assert not Measured("gpuDrawKw", 149.0, 50.0).moved_from(drawn)
        assert Measured("gpuDrawKw", 151.0, 50.0).moved_from(drawn)


class TestGpuNodes:
    def test_the_index_keeps_the_projections_record(self) -> None:
        body = gpunode()
        entry = gpunode_projection(body).entry
        assert asyncio.run(index_gpunode(body)) == {"g1": entry}
        assert entry.gpunode is not None and entry.gpunode.spec.node_name == "n1"

    def test_a_change_outside_the_projection_asks_for_no_round(self) -> None:
        beat = gpunode(lastHeartbeatTime="2026-01-01T00:00:30Z")
        beat["metadata"]["resourceVersion"] = "2"
        beat["status"]["gpus"][0]["temperatureC"] = 80.0
        assert not asks("gpunodes", gpunode(), beat)

    def test_a_change_to_a_projected_field_asks_for_one(self) -> None:
        assert asks("gpunodes", gpunode(), gpunode(allocatedGpus=4))

    def test_measured_power_carries_its_step_a_share_of_the_nominal_power(self) -> None:
        # 8 x 700 W: the step is 5%, 280 W.
        (power,) = gpunode_projection(gpunode()).inputs.measured
        assert power == Measured("powerW", 2000.0, 280.0)


class TestInferenceJobs:
    def test_the_index_keeps_the_projections_record(self) -> None:
        body = job()
        entry = job_projection(body).entry
        assert asyncio.run(index_job(body)) == {("t", "chat"): entry}
        assert entry.job is not None and entry.error is None

    def test_the_rounds_own_status_coming_back_asks_for_no_round(self) -> None:
        written = job(phase="Running", readyReplicas=2, conditions=[{"type": "Ready"}])
        assert not asks("inferencejobs", job(), written)

    def test_recorded_placements_ask_for_one(self) -> None:
        assert asks("inferencejobs", job(), job(placements=[{"site": "s1", "node": "n1"}]))

    def test_a_job_that_does_not_parse_is_kept_with_its_error_and_its_spec_still_counts(
        self,
    ) -> None:
        broken = job()
        del broken["spec"]["container"]
        entry = job_projection(broken).entry
        assert entry.job is None and entry.error is not None and "container" in entry.error
        scaled = copy.deepcopy(broken)
        scaled["spec"]["replicas"] = 3
        # The same error: only the body, not the model, tells the two apart.
        assert job_projection(scaled).entry.error == entry.error
        assert asks("inferencejobs", broken, scaled)


class TestManifestWorks:
    def test_the_index_keeps_the_projections_record(self) -> None:
        body = work(feedback("d1", readyReplicas=2, updatedReplicas=1, replicas=2))
        entry = work_projection(body).entry
        assert entry is not None
        assert asyncio.run(index_work(body)) == {("site-a", "t-chat"): entry}
        assert (entry.job, entry.ready_of("d1"), entry.site_replicas) == ("t/chat", 1, {"d1": 2})

    def test_a_work_not_written_for_a_job_is_left_out(self) -> None:
        body = work(job_namespace=None)
        assert work_projection(body).entry is None
        assert asyncio.run(index_work(body)) == {}

    def test_a_change_outside_the_projection_asks_for_no_round(self) -> None:
        before = work(feedback("d1", readyReplicas=1, updatedReplicas=1))
        synced = copy.deepcopy(before)
        synced["metadata"]["resourceVersion"] = "2"
        synced["status"]["conditions"] = [{"type": "Available", "status": "True"}]
        assert not asks("manifestworks", before, synced)

    def test_every_value_its_cluster_reports_asks_for_one(self) -> None:
        before = work(feedback("d1", readyReplicas=1, updatedReplicas=1, replicas=2))
        # Not one more ready replica of the current template yet, but a new report.
        more_ready = work(feedback("d1", readyReplicas=2, updatedReplicas=1, replicas=2))
        shed_at_site = work(feedback("d1", readyReplicas=1, updatedReplicas=1, replicas=1))
        assert asks("manifestworks", before, more_ready)
        assert asks("manifestworks", before, shed_at_site)


def deployment(ready: int = 1, updated: int = 1, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "chat-n1",
            "namespace": "t",
            "uid": "d1",
            "resourceVersion": "1",
            "labels": {"compute.cango.io/job": "chat", "compute.cango.io/node": "n1", **labels},
            "annotations": {"compute.cango.io/applied-hash": "h1"},
            "ownerReferences": [{"uid": "u1", "controller": True}],
        },
        "spec": {"replicas": 2},
        "status": {"readyReplicas": ready, "updatedReplicas": updated, "observedGeneration": 1},
    }


class TestDeploymentsAndServices:
    def test_the_index_keeps_the_projections_record(self) -> None:
        body = deployment(ready=2, updated=1)
        entry = owned_projection("Deployment", body).entry
        assert entry is not None
        assert asyncio.run(index_deployment(body)) == {("t", "chat"): entry}
        assert (entry.node, entry.owner_uid, entry.ready_replicas) == ("n1", "u1", 1)

    def test_an_object_of_no_job_is_left_out(self) -> None:
        body = deployment()
        del body["metadata"]["labels"]["compute.cango.io/job"]
        assert asyncio.run(index_deployment(body)) == {}

    def test_a_change_outside_the_projection_asks_for_no_round(self) -> None:
        rolled = deployment(**{"kubernetes.io/part-of": "x"})
        rolled["metadata"]["resourceVersion"] = "2"
        rolled["status"]["observedGeneration"] = 2
        assert not asks("deployments", deployment(), rolled)

    def test_a_change_to_a_projected_field_asks_for_one(self) -> None:
        assert asks("deployments", deployment(), deployment(ready=2, updated=2))
        assert asks("deployments", deployment(), deployment(**{"compute.cango.io/node": "n2"}))
