"""The ManifestWork that carries a job's workloads to one managed cluster."""

from __future__ import annotations

from cango_operator.builders import (
    build_deployment,
    build_network_policy,
    build_service,
    names,
    stamped_hash,
)
from cango_operator.builders.manifestwork import build_manifestwork, job_of_work
from tests.unit.builders.factories import job


def work_for(replicas: dict[str, int], cluster: str = "latam-1") -> dict:  # type: ignore[type-arg]
    j = job()
    deps = [build_deployment(j, "py-1", node, n) for node, n in replicas.items()]
    return build_manifestwork(j, cluster, deps, build_service(j), build_network_policy(j))


class TestManifestWork:
    def test_lives_in_the_clusters_namespace_under_a_name_from_the_job_and_its_namespace(
        self,
    ) -> None:
        work = work_for({"py-1-n001": 2})
        assert work["metadata"]["namespace"] == "latam-1"
        assert work["metadata"]["name"] == names.work_name("tenant-acme", "llama-chat")
        assert job_of_work(work["metadata"]["labels"]) == "tenant-acme/llama-chat"

    def test_holds_the_namespace_the_deployments_the_service_and_the_policy_without_owners(
        self,
    ) -> None:
        work = work_for({"py-1-n002": 1, "py-1-n001": 2})
        manifests = work["spec"]["workload"]["manifests"]
        assert [m["kind"] for m in manifests] == [
            "Namespace",
            "Deployment",
            "Deployment",
            "Service",
            "NetworkPolicy",
        ]
        assert manifests[0]["metadata"]["name"] == "tenant-acme"
        assert [m["spec"]["replicas"] for m in manifests[1:3]] == [2, 1]  # sorted by name
        assert all("ownerReferences" not in m["metadata"] for m in manifests)

    def test_removing_the_work_keeps_the_namespace_other_jobs_share(self) -> None:
        option = work_for({"py-1-n001": 1})["spec"]["deleteOption"]
        assert option["propagationPolicy"] == "SelectivelyOrphan"
        assert option["selectivelyOrphans"]["orphaningRules"] == [
            {"group": "", "resource": "namespaces", "name": "tenant-acme"}
        ]

    def test_every_deployment_reports_its_ready_updated_and_site_replicas(self) -> None:
        work = work_for({"py-1-n001": 1, "py-1-n002": 1})
        configs = work["spec"]["manifestConfigs"]
        feedback = [c for c in configs if c.get("feedbackRules")]
        assert sorted(c["resourceIdentifier"]["name"] for c in feedback) == sorted(
            names.deployment_name("llama-chat", n) for n in ("py-1-n001", "py-1-n002")
        )
        paths = {p["path"] for p in feedback[0]["feedbackRules"][0]["jsonPaths"]}
        assert paths == {".status.readyReplicas", ".status.updatedReplicas", ".spec.replicas"}
        assert all(c["updateStrategy"]["type"] == "ServerSideApply" for c in configs)

    def test_the_site_may_scale_deployments_down_until_the_hub_changes_them(self) -> None:
        configs = work_for({"py-1-n001": 1})["spec"]["manifestConfigs"]
        by_resource = {c["resourceIdentifier"]["resource"]: c["updateStrategy"] for c in configs}
        kept = by_resource["deployments"]["serverSideApply"]["ignoreFields"]
        assert kept == [{"condition": "OnSpokeChange", "jsonPaths": [".spec.replicas"]}]
        assert "ignoreFields" not in by_resource["services"]["serverSideApply"]
        assert "ignoreFields" not in by_resource["networkpolicies"]["serverSideApply"]

    def test_same_plan_same_hash_other_plan_other_hash(self) -> None:
        a = stamped_hash(work_for({"py-1-n001": 2}))
        assert a == stamped_hash(work_for({"py-1-n001": 2}))
        assert a != stamped_hash(work_for({"py-1-n001": 3}))

    def test_works_of_jobs_that_differ_only_in_namespace_do_not_collide(self) -> None:
        assert names.work_name("a-b", "c") != names.work_name("a", "b-c")
