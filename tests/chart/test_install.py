"""The chart on the real local control plane: the API server accepts what it renders,
Pod Security `restricted` admits its pods, install → upgrade → uninstall works, and the
documented CRD upgrade step does what Helm will not."""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from cango_operator.devcluster import GpuNodeShape, LocalCluster, apply_dev_nodes, build_kwok_node
from tests.chart.helm import CHART_DIR, Helm, find
from tests.chart.kube import restricted_namespace

pytestmark = pytest.mark.cluster

T = TypeVar("T")
SITE_LABEL = "compute.cango.io/site"


def wait_for(
    what: str,
    check: Callable[[], T | None],
    explain: Callable[[], object] = lambda: "",
    timeout: float = 60,
) -> T:
    """Poll ``check`` until truthy; on timeout fail with ``explain()`` (what went wrong)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: {explain()}")
        time.sleep(0.5)


def get_json(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def apply_crds(cluster: LocalCluster, chart: Path = CHART_DIR) -> None:
    """The documented CRD step (chart README): server-side apply of the chart's crds/."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(chart / "crds"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "-f", str(chart / "crds")
    )


@pytest.fixture(scope="module")
def gpu_nodes(cluster: LocalCluster, api_client: Any) -> Iterator[dict[str, list[str]]]:
    """Two kwok GPU nodes of a site, and one node without the site label."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    site_nodes = apply_dev_nodes(
        core,
        [
            GpuNodeShape("chart-gpu-1", "chart-site", "H100-80GB", 8),
            GpuNodeShape("chart-gpu-2", "chart-site", "L40S-48GB", 4),
        ],
    )
    plain = build_kwok_node(GpuNodeShape("chart-plain-1", "none", "none", 1))
    del plain["metadata"]["labels"][SITE_LABEL]
    core.create_node(plain)
    core.patch_node_status("chart-plain-1", {"status": plain["status"]})
    yield {"site": site_nodes, "plain": ["chart-plain-1"]}
    for name in [*site_nodes, "chart-plain-1"]:
        core.delete_node(name)


def pods(cluster: LocalCluster, namespace: str, component: str) -> list[dict[str, Any]]:
    selector = f"app.kubernetes.io/component={component}"
    items: list[dict[str, Any]] = get_json(cluster, "pods", "-n", namespace, "-l", selector)[
        "items"
    ]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def node_of(pod: dict[str, Any]) -> str:
    """The node a DaemonSet pod is for: bound, or still pinned by its node affinity."""
    if pod["spec"].get("nodeName"):
        return str(pod["spec"]["nodeName"])
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    return str(terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0])


def pod_security_refusals(cluster: LocalCluster, namespace: str) -> list[str]:
    events = get_json(cluster, "events", "-n", namespace)["items"]
    return [
        e["message"]
        for e in events
        if e["reason"] == "FailedCreate" and "PodSecurity" in e.get("message", "")
    ]


@pytest.fixture(scope="module")
def dry_run_namespace(cluster: LocalCluster) -> Iterator[str]:
    ns = restricted_namespace(cluster, f"cango-dry-{os.getpid()}")
    yield ns
    cluster.kubectl("delete", "namespace", ns, "--wait=false")


class TestServerSideDryRun:
    @pytest.mark.parametrize(
        "values",
        [
            {},
            {
                "agent": {"simulate": True, "maxUnavailable": "20%"},
                "operator": {"replicas": 1, "extraEnv": [{"name": "X", "value": "1"}]},
                "networkPolicy": {"egress": {"enabled": True, "apiServerCidrs": ["10.0.0.1/32"]}},
                "dashboards": {"enabled": True},
            },
            {"operator": {"watchNamespaces": ["{release}", "default"]}},
        ],
        ids=["defaults", "options", "restricted"],
    )
    def test_the_api_server_accepts_every_rendered_object(
        self, cluster: LocalCluster, helm: Helm, dry_run_namespace: str, values: dict[str, Any]
    ) -> None:
        apply_crds(cluster)
        ns = dry_run_namespace
        values = json.loads(json.dumps(values).replace("{release}", ns))
        manifest = helm.template_text(values, namespace=ns).stdout
        # Every namespaced object names its namespace (restricted mode: several).
        proc = cluster.kubectl(
            "apply", "--dry-run=server", "-f", "-", input_text=manifest, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.strip().splitlines()) == manifest.count("\nkind: ")
        assert "Warning" not in proc.stderr, proc.stderr


class TestPodSecurityAdmission:
    def test_the_namespace_really_refuses_a_pod_that_is_not_restricted(
        self, cluster: LocalCluster, helm: Helm
    ) -> None:
        ns = restricted_namespace(cluster, f"cango-pss-{os.getpid()}")
        deploy = find(helm.template(namespace=ns), "Deployment")
        pod_spec = dict(deploy["spec"]["template"]["spec"])
        pod_spec.update(serviceAccountName="default", automountServiceAccountToken=False)

        def dry_run_pod(spec: dict[str, Any]) -> Any:
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, "spec": spec}
            return cluster.kubectl(
                *("apply", "--dry-run=server", "-n", ns, "-f", "-"),
                input_text=json.dumps(pod),
                check=False,
            )

        loosened = copy.deepcopy(pod_spec)
        loosened["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
        try:
            accepted, refused = dry_run_pod(pod_spec), dry_run_pod(loosened)
        finally:
            cluster.kubectl("delete", "namespace", ns, "--wait=false")
        assert accepted.returncode == 0, accepted.stderr
        assert refused.returncode != 0
        assert "violates PodSecurity" in refused.stderr and "allowPrivilegeEscalation" in (
            refused.stderr
        )


class TestLifecycle:
    def test_install_then_upgrade_then_uninstall(
        self, cluster: LocalCluster, cluster_helm: Helm, gpu_nodes: dict[str, list[str]]
    ) -> None:
        ns = restricted_namespace(cluster, f"cango-life-{os.getpid()}")
        release = "cango-life"
        name = "cango-life-cango-operator"
        chart = str(CHART_DIR)

        installed = cluster_helm.run(
            *("install", release, chart, "-n", ns), "--set", "agent.simulate=true"
        )
        assert f"kubectl -n {ns} rollout status deployment/{name}" in installed.stdout

        # Pod Security restricted admits every pod: two operators, one agent per site node.

        def refusals() -> list[str]:
            return pod_security_refusals(cluster, ns)

        wait_for("2 operator pods", lambda: len(pods(cluster, ns, "operator")) == 2, refusals)
        labelled = {
            n["metadata"]["name"] for n in get_json(cluster, "nodes", "-l", SITE_LABEL)["items"]
        }
        assert set(gpu_nodes["site"]) <= labelled
        wait_for(
            "an agent on every site node",
            lambda: {node_of(p) for p in pods(cluster, ns, "agent")} == labelled,
            refusals,
        )
        agents = pods(cluster, ns, "agent")
        assert len(agents) == len(labelled)
        assert "--simulate" in agents[0]["spec"]["containers"][0]["args"]
        assert pod_security_refusals(cluster, ns) == []

        # Upgrade: a third operator replica, real-GPU agents; the revision moves on.
        cluster_helm.run(
            *("upgrade", release, chart, "-n", ns),
            *("--reuse-values", "--set", "operator.replicas=3", "--set", "agent.simulate=false"),
        )
        wait_for("3 operator pods", lambda: len(pods(cluster, ns, "operator")) == 3, refusals)
        ds = get_json(cluster, "daemonset", "-n", ns, f"{name}-agent")
        assert "--simulate" not in ds["spec"]["template"]["spec"]["containers"][0]["args"]
        history = json.loads(cluster_helm.run("history", release, "-n", ns, "-o", "json").stdout)
        assert [(h["revision"], h["status"]) for h in history] == [
            (1, "superseded"),
            (2, "deployed"),
        ]
        assert pod_security_refusals(cluster, ns) == []

        # Uninstall: the release's objects go, cluster-scoped ones included; CRDs stay.
        cluster_helm.run("uninstall", release, "-n", ns, "--wait")
        left = cluster.kubectl(
            *("get", "deployments,daemonsets,services,serviceaccounts,roles,rolebindings"),
            *("-n", ns, "-l", f"app.kubernetes.io/instance={release}", "-o", "name"),
        ).stdout
        assert left.strip() == ""
        for kind in ("clusterrole", "clusterrolebinding", "clusterkopfpeering"):
            assert cluster.kubectl("get", kind, name, check=False).returncode != 0, kind
        assert cluster.kubectl("get", "crd", "clusterkopfpeerings.kopf.dev").returncode == 0
        cluster.kubectl("delete", "namespace", ns, "--wait=false")


class TestCrdUpgradePath:
    def test_helm_upgrade_leaves_crds_and_the_documented_apply_updates_them(
        self, cluster: LocalCluster, cluster_helm: Helm, tmp_path: Path
    ) -> None:
        ns = restricted_namespace(cluster, f"cango-crd-{os.getpid()}")
        crd = "clusterkopfpeerings.kopf.dev"
        cluster_helm.run("install", "cango-crd", str(CHART_DIR), "-n", ns)

        # The next chart version changes a CRD.
        chart = tmp_path / "cango-operator"
        shutil.copytree(CHART_DIR, chart)
        crd_file = chart / "crds" / "kopf.dev_peerings.yaml"
        docs = list(yaml.safe_load_all(crd_file.read_text()))
        schema = docs[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        schema["description"] = "Changed in the next chart version."
        crd_file.write_text(yaml.safe_dump_all(docs))

        def description() -> str:
            got = get_json(cluster, "crd", crd)
            return str(got["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"])

        try:
            cluster_helm.run("upgrade", "cango-crd", str(chart), "-n", ns)
            assert description() != "Changed in the next chart version."  # Helm skips crds/
            apply_crds(cluster, chart)
            assert description() == "Changed in the next chart version."
            cluster_helm.run("upgrade", "cango-crd", str(chart), "-n", ns)
        finally:
            apply_crds(cluster)  # back to this chart's CRDs for the rest of the session
            cluster_helm.run("uninstall", "cango-crd", "-n", ns, "--wait", check=False)
            cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        assert description() != "Changed in the next chart version."
