"""RBAC is least privilege and sufficient: the rendered rules are exactly the documented
list (no wildcards, Secrets only by name in the release namespace), and on the real API
server a token of each chart ServiceAccount can do each listed thing and nothing else
that matters."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from cango_operator.devcluster import LocalCluster, service_account_kubeconfig
from cango_operator.errors import ClusterError
from tests.chart.helm import CHART_DIR, Helm
from tests.chart.kube import restricted_namespace
from tests.chart.rbac import (
    AGENT_RULES,
    CLUSTER,
    Grant,
    granted,
    operator_rules,
    wildcards,
)

OPERATOR_SA = "cango-operator"
AGENT_SA = "cango-operator-agent"


class TestRenderedRules:
    def test_no_role_has_a_wildcard(self, helm: Helm) -> None:
        roles = [o for o in helm.template() if o["kind"] in ("Role", "ClusterRole")]
        assert len(roles) == 3
        for role in roles:
            assert wildcards(role) == [], role["metadata"]["name"]

    def test_the_wildcard_check_finds_one(self) -> None:
        role = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]}
        assert wildcards(role) == ["rule 0: verbs"]

    def test_no_cluster_role_mentions_secrets(self, helm: Helm) -> None:
        for role in (o for o in helm.template() if o["kind"] == "ClusterRole"):
            resources = {r for rule in role["rules"] for r in rule["resources"]}
            assert "secrets" not in resources, role["metadata"]["name"]

    def test_the_operator_gets_exactly_the_documented_rules(self, helm: Helm) -> None:
        assert granted(helm.template(), OPERATOR_SA) == operator_rules("cango-operator")

    def test_the_agent_gets_exactly_the_documented_rules(self, helm: Helm) -> None:
        assert granted(helm.template(), AGENT_SA) == AGENT_RULES

    def test_a_custom_peering_name_moves_the_peering_grant(self, helm: Helm) -> None:
        objects = helm.template({"operator": {"peering": {"name": "site-a"}}})
        assert granted(objects, OPERATOR_SA) == operator_rules("site-a")

    def test_rbac_can_be_left_to_the_cluster_administrator(self, helm: Helm) -> None:
        objects = helm.template({"rbac": {"create": False}})
        assert not [o for o in objects if "Role" in o["kind"]]


# --- on the real API server, with ServiceAccount tokens -----------------------------------


@dataclass(frozen=True)
class Release:
    namespace: str
    operator_kubeconfig: Path
    agent_kubeconfig: Path
    peering: str


@pytest.fixture(scope="module")
def release(
    cluster: LocalCluster, cluster_helm: Helm, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    """The chart installed as release "cango-rbac"; kubeconfigs of its two ServiceAccounts."""
    ns = restricted_namespace(cluster, f"cango-rbac-{os.getpid()}")
    cluster_helm.run("install", "cango-rbac", str(CHART_DIR), "-n", ns)
    tmp = tmp_path_factory.mktemp("sa")
    try:
        yield Release(
            namespace=ns,
            operator_kubeconfig=service_account_kubeconfig(
                cluster, ns, "cango-rbac-cango-operator", tmp / "operator.kubeconfig"
            ),
            agent_kubeconfig=service_account_kubeconfig(
                cluster, ns, "cango-rbac-cango-operator-agent", tmp / "agent.kubeconfig"
            ),
            peering="cango-rbac-cango-operator",
        )
    finally:
        cluster.kubectl("delete", "gpunode", "rbac-check-n001", "--ignore-not-found", check=False)
        cluster_helm.run("uninstall", "cango-rbac", "-n", ns, "--wait", check=False)
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def operator_api(release: Release) -> Iterator[Any]:
    """A Kubernetes client authenticated by the operator ServiceAccount's token."""
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(release.operator_kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="module")
def agent_api(release: Release) -> Iterator[Any]:
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(release.agent_kubeconfig))
    yield api
    api.close()


class Ask(NamedTuple):
    """One question to the authorizer; ``where``: "" cluster-wide, "release", or a namespace."""

    verb: str
    group: str
    resource: str  # "plural" or "plural/subresource"
    where: str = ""
    name: str = ""


def can(api: Any, ask: Ask, release_namespace: str) -> bool:
    """Ask the API server (SelfSubjectAccessReview) whether this identity may do it."""
    from kubernetes import client

    plural, _, sub = ask.resource.partition("/")
    namespace = release_namespace if ask.where == "release" else ask.where
    attributes = client.V1ResourceAttributes(
        verb=ask.verb,
        group=ask.group,
        resource=plural,
        subresource=sub or None,
        namespace=namespace or None,
        name=ask.name or None,
    )
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    )
    result = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(result.status.allowed)


def ask_for(grant: Grant) -> Ask:
    where = "" if grant.scope == CLUSTER else "release"
    return Ask(grant.verb, grant.group, grant.resource, where, grant.name)


OPERATOR_DENIED = [
    Ask("get", "", "secrets"),
    Ask("get", "", "secrets", "default"),
    Ask("list", "", "secrets", "release"),
    Ask("watch", "", "secrets", "release"),
    Ask("get", "", "configmaps", "release"),
    Ask("create", "apiextensions.k8s.io", "customresourcedefinitions"),
    Ask("update", "apiextensions.k8s.io", "customresourcedefinitions"),
    Ask("delete", "", "nodes"),
    Ask("create", "", "pods", "tenant-a"),
    Ask("create", "", "pods/exec", "tenant-a"),
    Ask("create", "compute.cango.io", "sites"),
    Ask("delete", "compute.cango.io", "inferencejobs", "tenant-a"),
    Ask("patch", "kopf.dev", "clusterkopfpeerings", "", "another-operator"),
    Ask("create", "kopf.dev", "clusterkopfpeerings"),
    Ask("create", "rbac.authorization.k8s.io", "clusterroles"),
    Ask("bind", "rbac.authorization.k8s.io", "clusterroles"),
    Ask("*", "apps", "deployments"),
]
AGENT_DENIED = [
    Ask("get", "", "secrets", "release"),
    Ask("delete", "compute.cango.io", "gpunodes"),
    Ask("update", "compute.cango.io", "gpunodes/status"),
    Ask("get", "compute.cango.io", "sites"),
    Ask("get", "compute.cango.io", "inferencejobs", "tenant-a"),
    Ask("patch", "", "nodes"),
    Ask("list", "", "nodes"),
    Ask("get", "", "pods", "tenant-a"),
    Ask("create", "apps", "deployments", "tenant-a"),
]


@pytest.mark.cluster
class TestServiceAccountTokens:
    def test_the_kubeconfig_authenticates_as_the_service_account(
        self, release: Release, operator_api: Any
    ) -> None:
        from kubernetes import client

        review = client.AuthenticationV1Api(operator_api).create_self_subject_review(
            client.V1SelfSubjectReview()
        )
        expected = f"system:serviceaccount:{release.namespace}:cango-rbac-cango-operator"
        assert review.status.user_info.username == expected

    def test_a_missing_service_account_is_a_clear_error(
        self, cluster: LocalCluster, release: Release, tmp_path: Path
    ) -> None:
        with pytest.raises(ClusterError, match="no-such-account"):
            service_account_kubeconfig(
                cluster, release.namespace, "no-such-account", tmp_path / "k"
            )
        assert not (tmp_path / "k").exists()

    def test_the_kubeconfig_is_private_to_its_owner(self, release: Release) -> None:
        assert release.operator_kubeconfig.stat().st_mode & 0o077 == 0

    def test_the_operator_may_do_every_listed_thing(
        self, release: Release, operator_api: Any
    ) -> None:
        wanted = [ask_for(g) for g in sorted(operator_rules(release.peering))]
        refused = [a for a in wanted if not can(operator_api, a, release.namespace)]
        assert refused == []

    @pytest.mark.parametrize("ask", OPERATOR_DENIED, ids=str)
    def test_the_operator_may_not(self, release: Release, operator_api: Any, ask: Ask) -> None:
        assert not can(operator_api, ask, release.namespace)

    def test_the_agent_may_do_every_listed_thing(self, release: Release, agent_api: Any) -> None:
        wanted = [ask_for(g) for g in sorted(AGENT_RULES)]
        refused = [a for a in wanted if not can(agent_api, a, release.namespace)]
        assert refused == []

    @pytest.mark.parametrize("ask", AGENT_DENIED, ids=str)
    def test_the_agent_may_not(self, release: Release, agent_api: Any, ask: Ask) -> None:
        assert not can(agent_api, ask, release.namespace)


def acting_as(cluster: LocalCluster, kubeconfig: Path) -> LocalCluster:
    """The same cluster, reached with another identity's kubeconfig."""
    return LocalCluster(cluster.name, cluster.workdir, kubeconfig, cluster.bin_dir)


def forbidden(proc: Any) -> bool:
    return bool(proc.returncode != 0 and "Forbidden" in proc.stderr)


GPUNODE = """
apiVersion: compute.cango.io/v1alpha1
kind: GpuNode
metadata: {name: rbac-check-n001}
spec:
  site: rbac-check
  nodeName: rbac-check-n001
  gpu: {model: H100-80GB, count: 8, memoryMiB: 81559, maxPowerW: 700}
  overheadW: 1200
"""


@pytest.mark.cluster
class TestRealRequestsWithTokens:
    """Real API calls, the way the agent and kopf make them, with the chart's tokens."""

    def test_the_agent_registers_and_reports_its_gpunode_but_cannot_delete_it(
        self, cluster: LocalCluster, release: Release
    ) -> None:
        agent = acting_as(cluster, release.agent_kubeconfig)
        agent.kubectl("create", "-f", "-", input_text=GPUNODE)
        status = '{"status": {"phase": "Ready", "powerW": 3400}}'
        agent.kubectl(
            *("patch", "gpunode", "rbac-check-n001", "--subresource=status"),
            *("--type=merge", "-p", status),
        )
        assert forbidden(agent.kubectl("delete", "gpunode", "rbac-check-n001", check=False))
        assert forbidden(agent.kubectl("get", "sites", check=False))

    def test_the_operator_reads_the_api_and_writes_status(
        self, cluster: LocalCluster, release: Release
    ) -> None:
        operator = acting_as(cluster, release.operator_kubeconfig)
        cluster.kubectl("apply", "-f", "-", input_text=GPUNODE)
        listed = operator.kubectl("get", "sites,gpunodes,inferencejobs", "-A", "-o", "name")
        assert "gpunode.compute.cango.io/rbac-check-n001" in listed.stdout
        operator.kubectl(
            *("patch", "gpunode", "rbac-check-n001", "--subresource=status"),
            *("--type=merge", "-p", '{"status": {"allocatedGpus": 2}}'),
        )
        second = GPUNODE.replace("rbac-check-n001}", "rbac-check-n002}")
        assert forbidden(operator.kubectl("create", "-f", "-", input_text=second, check=False))

    def test_the_operator_creates_and_deletes_services_in_tenant_namespaces(
        self, cluster: LocalCluster, release: Release
    ) -> None:
        tenant = f"{release.namespace}-tenant"
        cluster.kubectl("create", "namespace", tenant)
        operator = acting_as(cluster, release.operator_kubeconfig)
        try:
            operator.kubectl("-n", tenant, "create", "service", "clusterip", "job-a", "--tcp=80")
            operator.kubectl("-n", tenant, "delete", "service", "job-a")
            assert forbidden(operator.kubectl("-n", tenant, "get", "configmaps", check=False))
        finally:
            cluster.kubectl("delete", "namespace", tenant, "--wait=false")

    def test_the_operator_heartbeats_only_into_its_own_peering_object(
        self, cluster: LocalCluster, release: Release
    ) -> None:
        operator = acting_as(cluster, release.operator_kubeconfig)
        heartbeat = '{"status": {"pod-a": {"priority": 1, "lifetime": 60}}}'
        operator.kubectl(
            "patch", "clusterkopfpeering", release.peering, "--type=merge", "-p", heartbeat
        )
        other = f"{release.peering}-other"
        peering = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering"}
        cluster.kubectl(
            "apply", "-f", "-", input_text=json.dumps({**peering, "metadata": {"name": other}})
        )
        try:
            proc = operator.kubectl(
                "patch", "clusterkopfpeering", other, "--type=merge", "-p", heartbeat, check=False
            )
            assert forbidden(proc)
            assert other in operator.kubectl("get", "clusterkopfpeerings", "-o", "name").stdout
        finally:
            cluster.kubectl("delete", "clusterkopfpeering", other)

    def test_the_operator_reads_one_secret_by_name_but_never_lists_them(
        self, cluster: LocalCluster, release: Release
    ) -> None:
        cluster.kubectl(
            *("-n", release.namespace, "create", "secret", "generic", "site-feed"),
            "--from-literal=token=not-a-real-one",
        )
        operator = acting_as(cluster, release.operator_kubeconfig)
        got = operator.kubectl("-n", release.namespace, "get", "secret", "site-feed", "-o", "name")
        assert got.stdout.strip() == "secret/site-feed"
        for args in (("-n", release.namespace, "get", "secrets"), ("get", "secrets", "-A")):
            assert forbidden(operator.kubectl(*args, check=False)), args
