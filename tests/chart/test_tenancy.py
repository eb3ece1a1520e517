"""Tenancy on the real API server, with tenants' own ServiceAccount tokens: a tenant reads
and writes InferenceJobs in its namespace through Kubernetes' own edit and view roles
and nowhere else, and the API server holds every job to its InferenceClass, naming the
field it refuses."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.devcluster import LocalCluster, service_account_kubeconfig
from tests.chart.helm import CHART_DIR, Helm, find

PID = os.getpid()
TENANT_A, TENANT_B = f"tenant-a-{PID}", f"tenant-b-{PID}"
VALUES: dict[str, Any] = {
    "tenancy": {
        "classes": {
            "default": {"priority": 0, "preemptible": True},
            "gold": {
                "priority": 1000,
                "preemptible": False,
                "maxGpusPerJob": 32,
                "gpuModels": ["H100-80GB", "H200-141GB"],
            },
        },
        "namespaces": {TENANT_A: ["gold"]},
    }
}


def job(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 1,
        "container": {"image": "example/chat:1"},
        "preemptible": True,
    }
    body.update(spec)
    return {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "InferenceJob",
        "metadata": {"name": name},
        "spec": body,
    }


@dataclass(frozen=True)
class Tenant:
    namespace: str
    kubeconfig: Path
    cluster: LocalCluster

    def kubectl(self, *args: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
        """Run kubectl as this tenant; (exit code, stderr + stdout)."""
        proc = self.cluster.kubectl(
            f"--kubeconfig={self.kubeconfig}",
            *args,
            input_text=json.dumps(body) if body is not None else None,
            check=False,
        )
        return proc.returncode, proc.stderr + proc.stdout

    def create(self, body: dict[str, Any], namespace: str | None = None) -> tuple[int, str]:
        return self.kubectl("-n", namespace or self.namespace, "create", "-f", "-", body=body)


@pytest.fixture(scope="module")
def tenants(
    cluster: LocalCluster, cluster_helm: Helm, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Tenant]]:
    """The chart installed with classes default and gold (gold for tenant A only); in each
    tenant namespace an editor (the namespace's edit role) and a viewer (view)."""
    tmp = tmp_path_factory.mktemp("tenancy")
    ns = f"cango-tenancy-{PID}"
    values = tmp / "values.yaml"
    values.write_text(yaml.safe_dump(VALUES))
    out: dict[str, Tenant] = {}
    for namespace in (ns, TENANT_A, TENANT_B):
        cluster.kubectl("create", "namespace", namespace)
    try:
        cluster_helm.run("install", "cango-tenancy", str(CHART_DIR), "-n", ns, "-f", str(values))
        for namespace in (TENANT_A, TENANT_B):
            for account, role in (("editor", "edit"), ("viewer", "view")):
                cluster.kubectl("-n", namespace, "create", "serviceaccount", account)
                cluster.kubectl(
                    "-n",
                    namespace,
                    "create",
                    "rolebinding",
                    account,
                    f"--clusterrole={role}",
                    f"--serviceaccount={namespace}:{account}",
                )
                config = service_account_kubeconfig(
                    cluster, namespace, account, tmp / f"{namespace}-{account}"
                )
                out[f"{namespace}/{account}"] = Tenant(namespace, config, cluster)
        yield out
    finally:
        for namespace in (TENANT_A, TENANT_B):
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        cluster_helm.run("uninstall", "cango-tenancy", "-n", ns, "--wait", check=False)
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def editor(tenants: dict[str, Tenant], namespace: str) -> Tenant:
    return tenants[f"{namespace}/editor"]


class TestTenantsSeeOnlyTheirOwn:
    def test_an_editor_writes_jobs_in_its_namespace_with_the_namespace_edit_role(
        self, tenants: dict[str, Tenant]
    ) -> None:
        a = editor(tenants, TENANT_A)
        code, out = a.create(job("mine"))
        assert code == 0, out
        code, out = a.kubectl("-n", TENANT_A, "scale", "inferencejob/mine", "--replicas=2")
        assert code == 0, out
        code, out = a.kubectl("-n", TENANT_A, "delete", "inferencejob", "mine")
        assert code == 0, out

    def test_a_tenant_cannot_read_or_write_another_tenants_jobs(
        self, tenants: dict[str, Tenant]
    ) -> None:
        b = editor(tenants, TENANT_B)
        assert b.create(job("theirs"))[0] == 0
        a = editor(tenants, TENANT_A)
        for args in (
            ("-n", TENANT_B, "get", "inferencejob", "theirs"),
            ("-n", TENANT_B, "get", "inferencejobs"),
            ("-n", TENANT_B, "delete", "inferencejob", "theirs"),
        ):
            code, out = a.kubectl(*args)
            assert code != 0 and "Forbidden" in out, (args, out)
        code, out = a.create(job("intruder"), namespace=TENANT_B)
        assert code != 0 and "Forbidden" in out, out

    def test_a_viewer_reads_jobs_and_writes_none(self, tenants: dict[str, Tenant]) -> None:
        viewer = tenants[f"{TENANT_B}/viewer"]
        code, out = viewer.kubectl("-n", TENANT_B, "get", "inferencejobs", "-o", "name")
        assert code == 0, out
        code, out = viewer.create(job("not-allowed"))
        assert code != 0 and "Forbidden" in out, out

    def test_tenants_get_nothing_cluster_scoped(self, tenants: dict[str, Tenant]) -> None:
        a = editor(tenants, TENANT_A)
        for args in (
            ("get", "sites"),
            ("get", "gpunodes"),
            ("get", "inferenceclasses"),
            ("create", "-f", "-"),
        ):
            body = (
                {
                    "apiVersion": "compute.cango.io/v1alpha1",
                    "kind": "InferenceClass",
                    "metadata": {"name": "mine"},
                    "spec": {"priority": 1000000},
                }
                if args[0] == "create"
                else None
            )
            code, out = a.kubectl(*args, body=body)
            assert code != 0 and "Forbidden" in out, (args, out)


class TestJobsAreHeldToTheirClass:
    @pytest.mark.parametrize(
        ("namespace", "spec", "field"),
        [
            (TENANT_B, {"className": "gold", "priority": 10}, "spec.className"),
            (TENANT_A, {"priority": 1}, "spec.priority"),
            (TENANT_A, {"preemptible": False}, "spec.preemptible"),
            (TENANT_A, {"className": "gold", "priority": 1001}, "spec.priority"),
            (
                TENANT_A,
                {"className": "gold", "replicas": 5, "gpu": {"count": 8, "models": ["H100-80GB"]}},
                "spec.replicas",
            ),
            (TENANT_A, {"className": "gold", "gpu": {"models": ["L40S-48GB"]}}, "spec.gpu.models"),
            (TENANT_A, {"className": "gold"}, "spec.gpu.models"),
        ],
        ids=[
            "a-class-the-namespace-may-not-use",
            "priority-above-the-default-class",
            "not-preemptible-in-a-preemptible-class",
            "priority-above-its-class",
            "more-gpus-than-its-class-allows",
            "a-model-its-class-does-not-allow",
            "any-model-where-the-class-names-them",
        ],
    )
    def test_a_job_beyond_its_class_is_refused_naming_the_field(
        self, tenants: dict[str, Tenant], namespace: str, spec: dict[str, Any], field: str
    ) -> None:
        code, out = editor(tenants, namespace).create(job("refused", **spec))
        assert code != 0, out
        assert "denied request" in out and f"{field}:" in out, out

    def test_a_job_within_its_class_is_admitted(self, tenants: dict[str, Tenant]) -> None:
        a = editor(tenants, TENANT_A)
        gold = job(
            "gold-job",
            className="gold",
            priority=1000,
            preemptible=False,
            replicas=4,
            gpu={"count": 8, "models": ["H100-80GB"]},
        )
        code, out = a.create(gold)
        assert code == 0, out
        code, out = a.create(job("plain"))
        assert code == 0, out

    def test_only_a_written_spec_is_checked_so_stored_jobs_keep_running(
        self, tenants: dict[str, Tenant], cluster: LocalCluster
    ) -> None:
        a = editor(tenants, TENANT_A)
        assert a.create(job("old"))[0] == 0
        # The admin tightens the default class: "old" names no GPU model.
        tighten = '{"spec": {"gpuModels": ["H100-80GB"]}}'
        cluster.kubectl("patch", "inferenceclass", "default", "--type=merge", "-p", tighten)
        try:
            code, out = a.kubectl("-n", TENANT_A, "label", "inferencejob", "old", "team=x")
            assert code == 0, out
            code, out = a.kubectl(
                "-n",
                TENANT_A,
                "patch",
                "inferencejob",
                "old",
                "--type=merge",
                "-p",
                '{"spec": {"priority": 0, "replicas": 2}}',
            )
            assert code != 0 and "spec.gpu.models:" in out, out
        finally:
            loosen = '{"spec": {"gpuModels": null}}'
            cluster.kubectl("patch", "inferenceclass", "default", "--type=merge", "-p", loosen)


def test_the_chart_renders_the_policy_and_one_use_role_per_class(helm: Helm) -> None:
    objects = helm.template(VALUES)
    binding = find(objects, "ValidatingAdmissionPolicyBinding", "cango-operator-inference-classes")
    assert binding["spec"]["paramRef"]["parameterNotFoundAction"] == "Deny"
    uses = [
        o for o in objects if o["kind"] == "ClusterRole" and "-use-class-" in o["metadata"]["name"]
    ]
    assert sorted(r["rules"][0]["resourceNames"][0] for r in uses) == ["default", "gold"]
    grants = [
        o for o in objects if o["kind"] == "RoleBinding" and "-use-class-" in o["metadata"]["name"]
    ]
    assert [(g["metadata"]["namespace"], g["roleRef"]["name"]) for g in grants] == [
        (TENANT_A, "cango-operator-use-class-gold")
    ]


class TestKueueQuotas:
    def test_off_by_default_the_operator_neither_runs_with_kueue_nor_may_write_workloads(
        self, helm: Helm
    ) -> None:
        objects = helm.template({})
        (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
        assert "--kueue" not in container["args"]
        rules = [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"]]
        assert not [r for r in rules if "workloads" in r["resources"]]

    def test_on_the_operator_holds_queued_jobs_and_may_write_their_workloads_only(
        self, helm: Helm
    ) -> None:
        objects = helm.template({"tenancy": {"kueue": True}})
        (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
        assert "--kueue" in container["args"]
        operator = find(objects, "ClusterRole", "cango-operator")
        assert [r for r in operator["rules"] if "workloads" in r["resources"]] == [
            {
                "apiGroups": ["kueue.x-k8s.io"],
                "resources": ["workloads"],
                "verbs": ["list", "watch", "create", "patch", "delete"],
            }
        ]
