"""A site joins with the cango-site chart and the bootstrap kubeconfig the hub admin
handed out, and nothing else.

The chart is installed with helm into a fresh site cluster (the real API server). Its
nodes are kwok's, so no kubelet starts the klusterlet pod: the test does what the kubelet
would, for that one container (the Deployment's arguments as the API server holds them,
its Secret volume written to a directory, the pod's ServiceAccount token as its only
credentials) and runs OCM's agent with them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.builders import build_deployment, build_network_policy, build_service
from cango_operator.builders.manifestwork import build_manifestwork
from cango_operator.devcluster import LocalCluster, cluster_down, cluster_up, find_tool
from cango_operator.devcluster.federation import (
    AGENT_NAMESPACE,
    SITE_CRDS,
    Federation,
    accept_site,
    wait_available,
)
from cango_operator.devcluster.identity import service_account_kubeconfig
from tests.chart.podsecurity import pod_specs, restricted_violations
from tests.e2e.harness import free_port, wait_for
from tests.unit.builders.factories import job

pytestmark = [pytest.mark.cluster, pytest.mark.federation]

CHART = Path(__file__).absolute().parents[2] / "charts" / "cango-site"
SITE = "site-e"
RELEASE = "cango-site"


def helm(cluster: LocalCluster, *args: str) -> str:
    proc = subprocess.run(
        [find_tool("helm", cluster.bin_dir), *args],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def kubelet_run(
    cluster: LocalCluster, ocm: Path, workdir: Path, token_kubeconfig: Path
) -> subprocess.Popen[bytes]:
    """Start the klusterlet container of the chart's Deployment as a process, as a kubelet
    would: its arguments, its volumes (the Secret's keys as files), its credentials."""
    dep = json.loads(
        cluster.kubectl(
            "-n", AGENT_NAMESPACE, "get", "deployment", f"{RELEASE}-klusterlet", "-o", "json"
        ).stdout
    )
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts: dict[str, Path] = {}
    for volume in pod["volumes"]:
        path = workdir / volume["name"]
        path.mkdir(parents=True, exist_ok=True)
        if "secret" in volume:
            secret = json.loads(
                cluster.kubectl(
                    "-n",
                    AGENT_NAMESPACE,
                    "get",
                    "secret",
                    volume["secret"]["secretName"],
                    "-o",
                    "json",
                ).stdout
            )
            for key, value in secret["data"].items():
                (path / key).write_bytes(base64.b64decode(value))
        mounts[volume["name"]] = path
    args: list[str] = []
    by_depth = sorted(container["volumeMounts"], key=lambda m: -len(m["mountPath"]))
    for arg in container["args"]:
        flag, sep, value = arg.rpartition("=")
        for mount in by_depth:
            if value == mount["mountPath"] or value.startswith(mount["mountPath"] + "/"):
                value = str(mounts[mount["name"]]) + value[len(mount["mountPath"]) :]
                break
        args.append(f"{flag}{sep}{value}")
    # The image's entrypoint and subcommand are /registration-operator agent; this
    # build's multi-call binary names the same agent klusterlet-agent.
    assert args[:2] == ["/registration-operator", "agent"]
    argv = [
        str(ocm),
        "klusterlet-agent",
        *args[2:],
        f"--kubeconfig={token_kubeconfig}",
        f"--listen=127.0.0.1:{free_port()}",
    ]
    with (workdir / "klusterlet.log").open("ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))


def render(federation: Federation, *values: str) -> list[dict[str, Any]]:
    """The chart as helm renders it for this site, with ``values`` (``key=value``) set."""
    sets = [arg for value in (f"cluster.name={SITE}", *values) for arg in ("--set", value)]
    out = helm(federation.hub, "template", RELEASE, str(CHART), *sets, "-n", AGENT_NAMESPACE)
    return [o for o in yaml.safe_load_all(out) if o]


def guard_rules(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rules of the guard's Roles (or ClusterRoles), in order."""
    return [
        rule
        for o in objects
        if o["kind"] == kind and o["metadata"]["name"].startswith(f"{RELEASE}-guard")
        for rule in o["rules"]
    ]


@pytest.fixture
def site_cluster(federation: Federation) -> Iterator[LocalCluster]:
    name = f"{federation.name}-{SITE}"
    cluster = cluster_up(name, federation.workdir, federation.hub.bin_dir)
    try:
        yield cluster
    finally:
        federation.hub.kubectl(
            "delete", "managedcluster", SITE, "--ignore-not-found", "--wait=false"
        )
        cluster_down(name, federation.workdir, federation.hub.bin_dir)


class TestSiteChartRender:
    def test_pods_meet_the_restricted_profile_and_rbac_names_every_verb(
        self, federation: Federation
    ) -> None:
        objects = render(federation, "guard.sites={latam-1-a}", "mining.sites={latam-1-a}")
        specs = pod_specs(objects)
        assert set(specs) == {
            "Deployment/cango-site-klusterlet",
            "DaemonSet/cango-site-agent",
            "Deployment/cango-site-guard",
            "Deployment/cango-site-mining-latam-1-a",
        }
        # The site-mining controller talks to the hub only: no token for the site.
        mining = specs["Deployment/cango-site-mining-latam-1-a"]
        assert mining["automountServiceAccountToken"] is False
        assert "--site=latam-1-a" in mining["containers"][0]["args"]
        assert {k: restricted_violations(s) for k, s in specs.items()} == {k: [] for k in specs}
        for role in (o for o in objects if o["kind"] in ("ClusterRole", "Role")):
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], role

    def test_the_guard_may_list_and_scale_deployments_and_keep_its_configmap_only(
        self, federation: Federation
    ) -> None:
        everywhere = render(federation, "guard.sites={latam-1-a}")
        assert guard_rules(everywhere, "ClusterRole") == [
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list", "patch"]}
        ]
        assert guard_rules(everywhere, "Role") == [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": ["cango-site-guard"],
                "verbs": ["get", "update"],
            },
        ]
        some = render(
            federation, "guard.sites={latam-1-a}", "guard.namespaces={tenant-a,tenant-b}",
            "guard.feedSecrets={meter-token}",
        )  # fmt: skip
        assert guard_rules(some, "ClusterRole") == []
        roles = {
            o["metadata"]["namespace"]
            for o in some
            if o["kind"] == "Role" and o["metadata"]["name"].startswith(f"{RELEASE}-guard")
        }
        assert roles == {"tenant-a", "tenant-b", AGENT_NAMESPACE}
        assert {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["meter-token"],
                "verbs": ["get"]} in guard_rules(some, "Role")  # fmt: skip

    def test_no_guard_without_a_site(self, federation: Federation) -> None:
        assert "Deployment/cango-site-guard" not in pod_specs(render(federation))

    def test_without_a_cluster_name_it_says_what_is_missing(self, federation: Federation) -> None:
        proc = subprocess.run(
            [find_tool("helm", federation.hub.bin_dir), "template", RELEASE, str(CHART)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode != 0
        assert "cluster" in proc.stderr and "name" in proc.stderr


class TestJoiningWithTheChart:
    def test_a_site_joins_with_the_chart_and_runs_only_what_its_rules_allow(
        self, federation: Federation, site_cluster: LocalCluster, tmp_path: Path
    ) -> None:
        hub, site = federation.hub, site_cluster
        crds = [
            p
            for p in sorted((federation.ocm_dir / "crds").glob("*.yaml"))
            if any(f"_{c}." in p.name for c in SITE_CRDS)
        ]
        site.kubectl("apply", *[a for p in crds for a in ("-f", str(p))])
        site.kubectl("create", "namespace", AGENT_NAMESPACE)
        boot = federation.workdir / federation.name / "bootstrap.kubeconfig"
        site.kubectl(
            "-n",
            AGENT_NAMESPACE,
            "create",
            "secret",
            "generic",
            "bootstrap-hub-kubeconfig",
            f"--from-file=kubeconfig={boot}",
        )
        helm(
            site,
            "install",
            RELEASE,
            str(CHART),
            "-n",
            AGENT_NAMESPACE,
            "--set",
            f"cluster.name={SITE}",
            "--set",
            "agent.simulate=true",
        )
        token = service_account_kubeconfig(
            site, AGENT_NAMESPACE, f"{RELEASE}-klusterlet", tmp_path / "sa.kubeconfig"
        )
        proc = kubelet_run(site, federation.ocm_dir / "ocm", tmp_path / "pod", token)
        try:
            wait_for(
                "the site to ask to join",
                lambda: (
                    hub.kubectl("get", "managedcluster", SITE, "-o", "name", check=False).returncode
                    == 0
                ),
                timeout=60,
            )
            time.sleep(2)
            accepted = hub.kubectl(
                "get", "managedcluster", SITE, "-o", "jsonpath={.spec.hubAcceptsClient}"
            ).stdout
            assert accepted in ("", "false")

            accept_site(hub, SITE)
            wait_available(hub, SITE)
            wait_for(
                "the site's own hub credentials in its Secret",
                lambda: (
                    site.kubectl(
                        "-n",
                        AGENT_NAMESPACE,
                        "get",
                        "secret",
                        "hub-kubeconfig-secret",
                        "-o",
                        "jsonpath={.data.kubeconfig}",
                        check=False,
                    ).stdout
                ),
                timeout=60,
            )

            # What cango sends runs; what the chart's rules do not allow does not.
            j = job("chat", namespace="tenant-x")
            work = build_manifestwork(
                j,
                SITE,
                [build_deployment(j, "e-1", "e-1-n001", 1)],
                build_service(j),
                build_network_policy(j),
            )
            hub.kubectl("apply", "--server-side", "-f", "-", input_text=json.dumps(work))
            wait_for(
                "the Deployment at the site",
                lambda: (
                    site.kubectl(
                        "-n", "tenant-x", "get", "deployments", "-o", "name", check=False
                    ).stdout
                ),
                timeout=60,
            )
            role = manifestwork_with_a_role()
            hub.kubectl("apply", "--server-side", "-f", "-", input_text=json.dumps(role))
            wait_for(
                "the site to refuse the Role",
                lambda: applied(hub, "grab") == "False",
                timeout=60,
                state=lambda: applied(hub, "grab"),
            )
            assert site.kubectl("-n", "tenant-x", "get", "role", "grab", check=False).returncode
        finally:
            proc.terminate()
            proc.wait(20)
            hub.kubectl("-n", SITE, "delete", "manifestworks", "--all", "--wait=false")


def applied(hub: LocalCluster, work: str) -> str:
    return hub.kubectl(
        "-n",
        SITE,
        "get",
        "manifestwork",
        work,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Applied')].status}",
        check=False,
    ).stdout.strip()


def manifestwork_with_a_role() -> dict[str, Any]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "grab", "namespace": "tenant-x"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    }
    return {
        "apiVersion": "work.open-cluster-management.io/v1",
        "kind": "ManifestWork",
        "metadata": {"name": "grab", "namespace": SITE},
        "spec": {"workload": {"manifests": [role]}},
    }
