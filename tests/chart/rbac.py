"""The chart's RBAC rules as plain tuples, and what each ServiceAccount must be able to do.

``operator_rules`` (in either mode) and ``AGENT_RULES`` are the contract (also tabled in the
chart README): the rendered Roles must grant exactly these, no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

CLUSTER = "cluster"  # granted by a ClusterRole (through a ClusterRoleBinding)
# Any other scope is the name of the namespace a Role (and its RoleBinding) grants it in.


class Grant(NamedTuple):
    scope: str  # CLUSTER, or a namespace
    group: str
    resource: str  # "plural" or "plural/subresource"
    verb: str
    name: str = ""  # resourceNames restriction, "" when none


def grants(scope: str, group: str, resources: str, verbs: str, name: str = "") -> set[Grant]:
    return {Grant(scope, group, r, v, name) for r in resources.split() for v in verbs.split()}


def rules_of(role: dict[str, Any], scope: str) -> Iterator[Grant]:
    for rule in role.get("rules", []):
        names = rule.get("resourceNames") or [""]
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    for name in names:
                        yield Grant(scope, group, resource, verb, name)


def granted(objects: Iterable[dict[str, Any]], service_account: str) -> set[Grant]:
    """Every grant the rendered bindings give ``service_account``."""
    roles = {
        (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")): o
        for o in objects
        if o["kind"].endswith("Role")
    }
    out: set[Grant] = set()
    for b in objects:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(
            s["kind"] == "ServiceAccount" and s["name"] == service_account for s in b["subjects"]
        ):
            continue
        namespace = b["metadata"].get("namespace")
        scope = CLUSTER if b["kind"] == "ClusterRoleBinding" else namespace
        kind = b["roleRef"]["kind"]
        role = roles[(kind, b["roleRef"]["name"], namespace if kind == "Role" else None)]
        out |= set(rules_of(role, scope))
    return out


def wildcards(role: dict[str, Any]) -> list[str]:
    """Every "*" in a role's rules, as "rule N: field"."""
    found = []
    for i, rule in enumerate(role.get("rules", [])):
        for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            if any("*" in item for item in rule.get(field) or []):
                found.append(f"rule {i}: {field}")
    return found


CANGO = "compute.cango.io"

#: Cluster-scoped resources (and their subresources): the only ones a ClusterRole of the
#: operator may name in restricted mode.
CLUSTER_SCOPED = {
    "sites",
    "gpunodes",
    "nodes",
    "namespaces",
    "customresourcedefinitions",
    "clusterkopfpeerings",
}
#: Verbs that change something.
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


def namespaced_rules(scope: str, *, gateway: bool = False) -> set[Grant]:
    """What the operator does to namespaced resources: cluster-wide by default, in each
    watched namespace in restricted mode; ``gateway``: with a gateway named (a job's
    InferencePool and HTTPRoute, the Gateways' addresses)."""
    endpoints = (
        grants(scope, "inference.networking.k8s.io", "inferencepools", "list watch create patch")
        | grants(scope, "gateway.networking.k8s.io", "httproutes", "list watch create patch")
        | grants(scope, "gateway.networking.k8s.io", "gateways", "list watch")
        if gateway
        else set()
    )
    return endpoints | (
        grants(scope, CANGO, "inferencejobs", "list watch")
        | grants(scope, CANGO, "inferencejobs/status", "patch")
        | grants(scope, CANGO, "inferencejobs/finalizers", "update")
        | grants(scope, "apps", "deployments", "list watch create patch delete")
        | grants(scope, "", "services", "list watch create patch")
        | grants(scope, "networking.k8s.io", "networkpolicies", "list watch create patch")
        | grants(scope, "", "events", "create")
        | grants(scope, "events.k8s.io", "events", "create")
    )


def operator_rules(
    peering: str, release_ns: str, watched: tuple[str, ...] = (), *, gateway: bool = False
) -> set[Grant]:
    """The operator's rules: cluster-wide mode when ``watched`` is empty, else restricted
    to those namespaces; ``gateway``: with a gateway named."""
    rules = (
        grants(CLUSTER, CANGO, "sites gpunodes", "list watch")
        | grants(CLUSTER, CANGO, "sites/status gpunodes/status", "patch")
        | grants(CLUSTER, CANGO, "gpunodes", "patch")
        | grants(CLUSTER, "", "nodes", "list watch patch")
        | grants(CLUSTER, "apiextensions.k8s.io", "customresourcedefinitions", "list watch")
        | grants(CLUSTER, "", "namespaces", "list watch")
        | grants(release_ns, "", "secrets", "get")
    )
    if not watched:
        return (
            rules
            | namespaced_rules(CLUSTER, gateway=gateway)
            | grants(CLUSTER, "kopf.dev", "clusterkopfpeerings", "list watch")
            | grants(CLUSTER, "kopf.dev", "clusterkopfpeerings", "get patch", name=peering)
        )
    rules |= grants(release_ns, "", "events", "create")
    for ns in watched:
        rules |= namespaced_rules(ns, gateway=gateway)
        rules |= grants(ns, "kopf.dev", "kopfpeerings", "list watch")
        rules |= grants(ns, "kopf.dev", "kopfpeerings", "get patch", name=peering)
    return rules


AGENT_RULES: set[Grant] = (
    grants(CLUSTER, CANGO, "gpunodes", "get list watch create patch")
    | grants(CLUSTER, CANGO, "gpunodes/status", "get patch")
    | grants(CLUSTER, "", "nodes", "get")
    | grants(CLUSTER, "", "pods", "list watch")
)
