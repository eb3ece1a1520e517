"""RBAC is least privilege and sufficient: the rendered rules are exactly the documented
list (no wildcards, Secrets only by name in the release namespace), and on the real API
server a token of each chart ServiceAccount can do each listed thing and nothing else
that matters. Both modes of the operator: cluster-wide (the default), and restricted to
operator.watchNamespaces, where it may write namespaced resources only there."""

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
from tests.chart.helm import CHART_DIR, Helm, find
from tests.chart.kube import restricted_namespace
from tests.chart.rbac import (
    AGENT_RULES,
    CLUSTER,
    CLUSTER_SCOPED,
    WRITES,
    Grant,
    granted,
    namespaced_rules,
    operator_rules,
    wildcards,
)

OPERATOR_SA = "cango-operator"
AGENT_SA = "cango-operator-agent"
RELEASE_NS = "cango-system"  # where `helm template` renders the release
WATCHED = ("tenant-a", "tenant-b")
#: Tenancy's ClusterRoles: the tenant view and edit rules, the use of class default.
TENANCY_ROLES = 3
#: Values of each mode, and how many Roles and ClusterRoles each renders.
MODES: dict[str, tuple[dict[str, Any], int]] = {
    "cluster-wide": ({}, 3 + TENANCY_ROLES),
    "restricted": (
        {"operator": {"watchNamespaces": list(WATCHED)}},
        3 + len(WATCHED) + TENANCY_ROLES,
    ),
}


def roles_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Role", "ClusterRole")]


@pytest.mark.parametrize("mode", list(MODES))
class TestRenderedRulesInBothModes:
    def test_no_role_has_a_wildcard(self, helm: Helm, mode: str) -> None:
        values, count = MODES[mode]
        roles = roles_of(helm.template(values))
        assert len(roles) == count
        for role in roles:
            assert wildcards(role) == [], role["metadata"]["name"]

    def test_no_cluster_role_mentions_secrets(self, helm: Helm, mode: str) -> None:
        for role in (o for o in helm.template(MODES[mode][0]) if o["kind"] == "ClusterRole"):
            resources = {r for rule in role["rules"] for r in rule["resources"]}
            assert "secrets" not in resources, role["metadata"]["name"]

    def test_the_agent_gets_exactly_the_documented_rules(self, helm: Helm, mode: str) -> None:
        assert granted(helm.template(MODES[mode][0]), AGENT_SA) == AGENT_RULES

    def test_rbac_can_be_left_to_the_cluster_administrator(self, helm: Helm, mode: str) -> None:
        values = {**MODES[mode][0], "rbac": {"create": False}}
        objects = helm.template(values)
        assert not [o for o in objects if "Role" in o["kind"]]


class TestRenderedRules:
    def test_the_wildcard_check_finds_one(self) -> None:
        role = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]}
        assert wildcards(role) == ["rule 0: verbs"]

    def test_the_operator_gets_exactly_the_documented_rules(self, helm: Helm) -> None:
        expected = operator_rules("cango-operator", RELEASE_NS)
        assert granted(helm.template(), OPERATOR_SA) == expected

    def test_a_custom_peering_name_moves_the_peering_grant(self, helm: Helm) -> None:
        objects = helm.template({"operator": {"peering": {"name": "site-a"}}})
        assert granted(objects, OPERATOR_SA) == operator_rules("site-a", RELEASE_NS)


class TestRestrictedModeRules:
    def test_the_operator_gets_exactly_the_documented_rules(self, helm: Helm) -> None:
        objects = helm.template(MODES["restricted"][0])
        assert granted(objects, OPERATOR_SA) == operator_rules(
            "cango-operator", RELEASE_NS, WATCHED
        )

    def test_cluster_wide_grants_name_only_cluster_scoped_resources(self, helm: Helm) -> None:
        objects = helm.template(MODES["restricted"][0])
        cluster_wide = {
            g.resource.split("/")[0] for g in granted(objects, OPERATOR_SA) if g.scope == CLUSTER
        }
        assert cluster_wide <= CLUSTER_SCOPED, cluster_wide - CLUSTER_SCOPED

    def test_namespaced_writes_happen_only_in_the_watched_namespaces(self, helm: Helm) -> None:
        objects = helm.template(MODES["restricted"][0])
        where = {
            g.scope
            for g in granted(objects, OPERATOR_SA)
            if g.verb in WRITES and g.resource.split("/")[0] not in CLUSTER_SCOPED
        }
        # The release namespace only for kopf's Events about cluster-scoped objects.
        assert where == {*WATCHED, RELEASE_NS}
        in_release = {
            g for g in granted(objects, OPERATOR_SA) if g.scope == RELEASE_NS and g.verb in WRITES
        }
        assert {(g.resource, g.verb) for g in in_release} == {("events", "create")}

    def test_each_watched_namespace_gets_its_peering_object(self, helm: Helm) -> None:
        objects = helm.template(MODES["restricted"][0])
        peerings = [o for o in objects if o["kind"] in ("KopfPeering", "ClusterKopfPeering")]
        assert sorted((o["kind"], o["metadata"].get("namespace")) for o in peerings) == [
            ("KopfPeering", ns) for ns in WATCHED
        ]
        assert {o["metadata"]["name"] for o in peerings} == {"cango-operator"}

    def test_the_release_namespace_may_be_watched_too(self, helm: Helm) -> None:
        objects = helm.template({"operator": {"watchNamespaces": [RELEASE_NS]}})
        expected = operator_rules("cango-operator", RELEASE_NS, (RELEASE_NS,))
        assert granted(objects, OPERATOR_SA) == expected
        assert namespaced_rules(RELEASE_NS) <= expected

    def test_the_operator_is_started_with_one_namespace_flag_each(self, helm: Helm) -> None:
        objects = helm.template(MODES["restricted"][0])
        (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
        flags = [a for a in container["args"] if a.startswith("--namespace")]
        assert flags == [f"--namespace={ns}" for ns in WATCHED]

    @pytest.mark.parametrize("arg", ["--namespace=tenant-a", "-n", "-ntenant-a"])
    def test_namespace_flags_in_extra_args_are_refused(self, helm: Helm, arg: str) -> None:
        proc = helm.template_text({"operator": {"extraArgs": [arg]}}, check=False)
        assert proc.returncode != 0
        assert "operator.extraArgs" in proc.stderr
        assert "operator.watchNamespaces" in proc.stderr


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
    where = "" if grant.scope == CLUSTER else grant.scope
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
    Ask("list", "kopf.dev", "kopfpeerings", "release"),
    Ask("patch", "kopf.dev", "kopfpeerings", "release", "cango-rbac-cango-operator"),
    Ask("list", "", "pods", "tenant-a"),
    Ask("patch", "", "namespaces", "", "tenant-a"),  # tenants stay the admin's to name
    Ask("delete", "", "services", "tenant-a"),
    Ask("update", "apps", "deployments", "tenant-a"),
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
        wanted = [ask_for(g) for g in sorted(operator_rules(release.peering, release.namespace))]
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
    """kubectl failed because the API server refused ("... is forbidden: ...")."""
    return bool(proc.returncode != 0 and "forbidden" in proc.stderr.lower())


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
        self, cluster: LocalCluster, release: Release, operator_api: Any
    ) -> None:
        from kubernetes import client

        operator = acting_as(cluster, release.operator_kubeconfig)
        cluster.kubectl("apply", "-f", "-", input_text=GPUNODE)
        listed = operator.kubectl("get", "sites,gpunodes,inferencejobs", "-A", "-o", "name")
        assert "gpunode.compute.cango.io/rbac-check-n001" in listed.stdout
        # A merge patch of the status, as the operator sends it (kubectl would read first).
        patched = client.CustomObjectsApi(operator_api).patch_cluster_custom_object_status(
            "compute.cango.io",
            "v1alpha1",
            "gpunodes",
            "rbac-check-n001",
            {"status": {"allocatedGpus": 2}},
        )
        assert patched["status"]["allocatedGpus"] == 2
        second = GPUNODE.replace("rbac-check-n001}", "rbac-check-n002}")
        assert forbidden(operator.kubectl("create", "-f", "-", input_text=second, check=False))

    def test_the_operator_creates_services_in_tenant_namespaces_but_never_deletes_them(
        self, cluster: LocalCluster, release: Release
    ) -> None:
        tenant = f"{release.namespace}-tenant"
        cluster.kubectl("create", "namespace", tenant)
        operator = acting_as(cluster, release.operator_kubeconfig)
        try:
            operator.kubectl("-n", tenant, "create", "service", "clusterip", "job-a", "--tcp=80")
            # A job's Service goes with the job (owner reference, garbage collector).
            assert forbidden(
                operator.kubectl("-n", tenant, "delete", "service", "job-a", check=False)
            )
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


# --- restricted mode on the real API server -------------------------------------------


@dataclass(frozen=True)
class RestrictedRelease:
    namespace: str
    watched: tuple[str, ...]
    operator_kubeconfig: Path
    peering: str


@pytest.fixture(scope="module")
def restricted_release(
    cluster: LocalCluster, cluster_helm: Helm, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RestrictedRelease]:
    """The chart installed as release "cango-rbac-ns", restricted to two namespaces."""
    ns = restricted_namespace(cluster, f"cango-rbac-ns-{os.getpid()}")
    watched = (f"{ns}-a", f"{ns}-b")
    for name in watched:
        cluster.kubectl("create", "namespace", name)
    # The classes are cluster-wide and the module's other release has them.
    values = cluster_helm.values_file(
        {"operator": {"watchNamespaces": list(watched)}, "tenancy": {"enabled": False}}
    )
    cluster_helm.run("install", "cango-rbac-ns", str(CHART_DIR), "-n", ns, "-f", str(values))
    tmp = tmp_path_factory.mktemp("sa-ns")
    try:
        yield RestrictedRelease(
            namespace=ns,
            watched=watched,
            operator_kubeconfig=service_account_kubeconfig(
                cluster, ns, "cango-rbac-ns-cango-operator", tmp / "operator.kubeconfig"
            ),
            peering="cango-rbac-ns-cango-operator",
        )
    finally:
        cluster_helm.run("uninstall", "cango-rbac-ns", "-n", ns, "--wait", check=False)
        for name in (ns, *watched):
            cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def restricted_api(restricted_release: RestrictedRelease) -> Iterator[Any]:
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(restricted_release.operator_kubeconfig))
    yield api
    api.close()


@pytest.mark.cluster
class TestRestrictedModeTokens:
    def test_the_operator_may_do_every_listed_thing(
        self, restricted_release: RestrictedRelease, restricted_api: Any
    ) -> None:
        r = restricted_release
        rules = operator_rules(r.peering, r.namespace, r.watched)
        refused = [a for a in map(ask_for, sorted(rules)) if not can(restricted_api, a, "")]
        assert refused == []

    def test_no_namespaced_grant_reaches_outside_the_watched_namespaces(
        self, restricted_release: RestrictedRelease, restricted_api: Any
    ) -> None:
        """Every namespaced thing it may do in a watched namespace, asked cluster-wide, in
        another namespace and in the release namespace: only kopf's Events may go to the
        release namespace."""
        r = restricted_release
        namespaced = {
            g._replace(scope=CLUSTER)
            for g in operator_rules(r.peering, r.namespace, r.watched)
            if g.scope == r.watched[0]
        }
        allowed = []
        for grant in sorted(namespaced):
            for where in ("", "default", r.namespace):
                ask = ask_for(grant)._replace(where=where)
                if can(restricted_api, ask, ""):
                    allowed.append(ask)
        assert allowed == [Ask("create", "", "events", r.namespace)]

    def test_secrets_stay_readable_only_in_the_release_namespace(
        self, restricted_release: RestrictedRelease, restricted_api: Any
    ) -> None:
        r = restricted_release
        assert can(restricted_api, Ask("get", "", "secrets", r.namespace), "")
        for where in ("", r.watched[0], "default"):
            assert not can(restricted_api, Ask("get", "", "secrets", where), ""), where

    def test_real_writes_succeed_in_a_watched_namespace_and_are_refused_elsewhere(
        self, cluster: LocalCluster, restricted_release: RestrictedRelease
    ) -> None:
        r = restricted_release
        operator = acting_as(cluster, r.operator_kubeconfig)
        create = ("create", "service", "clusterip", "job-a", "--tcp=80")
        operator.kubectl("-n", r.watched[1], *create)
        assert forbidden(operator.kubectl("-n", "default", *create, check=False))
        assert forbidden(operator.kubectl("get", "inferencejobs", "-A", check=False))
        heartbeat = '{"status": {"pod-a": {"priority": 1, "lifetime": 60}}}'
        operator.kubectl(
            *("-n", r.watched[0], "patch", "kopfpeering", r.peering),
            *("--type=merge", "-p", heartbeat),
        )
