"""The chart's RBAC rules as plain tuples, and what each ServiceAccount must be able to do.

``OPERATOR_RULES`` and ``AGENT_RULES`` are the contract (also tabled in the chart README):
the rendered Roles must grant exactly these, no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

CLUSTER = "cluster"  # granted by a ClusterRole (through a ClusterRoleBinding)
RELEASE_NS = "release-namespace"  # granted by a Role in the release namespace


class Grant(NamedTuple):
    scope: str
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
    roles = {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"].endswith("Role")}
    out: set[Grant] = set()
    for b in objects:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(
            s["kind"] == "ServiceAccount" and s["name"] == service_account for s in b["subjects"]
        ):
            continue
        role = roles[(b["roleRef"]["kind"], b["roleRef"]["name"])]
        scope = CLUSTER if b["kind"] == "ClusterRoleBinding" else RELEASE_NS
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


CRUD = "get list watch create patch update delete"
CANGO = "compute.cango.io"


def operator_rules(peering: str) -> set[Grant]:
    return (
        grants(CLUSTER, CANGO, "sites gpunodes inferencejobs", "get list watch patch update")
        | grants(
            CLUSTER, CANGO, "sites/status gpunodes/status inferencejobs/status", "get patch update"
        )
        | grants(CLUSTER, CANGO, "inferencejobs/finalizers", "update")
        | grants(CLUSTER, "apps", "deployments", CRUD)
        | grants(CLUSTER, "", "services", CRUD)
        | grants(CLUSTER, "", "nodes", "get list watch patch")
        | grants(CLUSTER, "", "pods", "get list watch")
        | grants(CLUSTER, "", "namespaces", "get list watch")
        | grants(CLUSTER, "", "events", "create patch")
        | grants(CLUSTER, "events.k8s.io", "events", "create patch")
        | grants(CLUSTER, "apiextensions.k8s.io", "customresourcedefinitions", "get list watch")
        | grants(CLUSTER, "kopf.dev", "clusterkopfpeerings", "list watch")
        | grants(CLUSTER, "kopf.dev", "clusterkopfpeerings", "get patch", name=peering)
        | grants(RELEASE_NS, "", "secrets", "get")
        | grants(RELEASE_NS, "kopf.dev", "kopfpeerings", "get list watch patch")
    )


AGENT_RULES: set[Grant] = (
    grants(CLUSTER, CANGO, "gpunodes", "get list watch create patch")
    | grants(CLUSTER, CANGO, "gpunodes/status", "get patch")
    | grants(CLUSTER, "", "nodes", "get")
    | grants(CLUSTER, "", "pods", "list watch")
)
