"""federation.enabled: the operator runs as the hub, may write ManifestWorks, and the
sites' own credentials get exactly the GpuNode access the admission policy narrows down.
(The policy itself is exercised against a real hub in tests/federation.)"""

from __future__ import annotations

import re
from typing import Any

from cango_operator.api import Site, crd_manifest
from tests.chart.helm import Helm, find
from tests.chart.rbac import wildcards

ON: dict[str, Any] = {"federation": {"enabled": True}}


def operator_args(objects: list[dict[str, Any]]) -> list[str]:
    dep = find(objects, "Deployment")
    args: list[str] = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


class TestFederationValues:
    def test_off_by_default_nothing_of_it_is_rendered(self, helm: Helm) -> None:
        objects = helm.template({})
        assert "--federation" not in operator_args(objects)
        policies = [o for o in objects if o["kind"].startswith("ValidatingAdmissionPolicy")]
        assert [o["metadata"]["name"] for o in policies if "site" in o["metadata"]["name"]] == []
        rules = [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"]]
        assert not [r for r in rules if "manifestworks" in r["resources"]]
        assert not [r for r in rules if "managedclusters" in r["resources"]]

    def test_on_the_operator_is_the_hub_and_may_write_manifestworks(self, helm: Helm) -> None:
        objects = helm.template(ON)
        assert "--federation" in operator_args(objects)
        operator = find(objects, "ClusterRole", "cango-operator")
        works = [r for r in operator["rules"] if "manifestworks" in r["resources"]]
        assert works == [
            {
                "apiGroups": ["work.open-cluster-management.io"],
                "resources": ["manifestworks"],
                "verbs": ["list", "watch", "create", "patch", "delete"],
            }
        ]
        # Whether each site's cluster is reachable: read only.
        clusters = [r for r in operator["rules"] if "managedclusters" in r["resources"]]
        assert clusters == [
            {
                "apiGroups": ["cluster.open-cluster-management.io"],
                "resources": ["managedclusters"],
                "verbs": ["list", "watch"],
            }
        ]

    def test_sites_may_report_gpunodes_and_nothing_else(self, helm: Helm) -> None:
        objects = helm.template(ON)
        role = find(objects, "ClusterRole", "cango-operator-site")
        assert wildcards(role) == []
        granted = {
            (res, verb) for r in role["rules"] for res in r["resources"] for verb in r["verbs"]
        }
        assert granted == {
            ("gpunodes", "get"), ("gpunodes", "list"), ("gpunodes", "watch"),
            ("gpunodes", "create"), ("gpunodes", "patch"),
            ("gpunodes/status", "get"), ("gpunodes/status", "patch"),
            ("sites", "get"), ("sites", "list"), ("sites", "watch"),
            ("sites/status", "get"), ("sites/status", "patch"),
        }  # fmt: skip
        binding = find(objects, "ClusterRoleBinding", "cango-operator-site")
        assert binding["subjects"] == [
            {
                "kind": "Group",
                "apiGroup": "rbac.authorization.k8s.io",
                "name": "system:open-cluster-management:managed-clusters",
            }
        ]
        for policy in ("site-owns-gpunodes", "site-owns-its-mining"):
            name = f"cango-operator-{policy}"
            assert find(objects, "ValidatingAdmissionPolicy", name)["spec"]["failurePolicy"] == (
                "Fail"
            )
            binding = find(objects, "ValidatingAdmissionPolicyBinding", name)
            assert binding["spec"]["validationActions"] == ["Deny"]

    def test_sites_may_change_no_status_field_but_mining(self, helm: Helm) -> None:
        policy = find(
            helm.template(ON), "ValidatingAdmissionPolicy", "cango-operator-site-owns-its-mining"
        )
        checked = set(re.findall(r"object\.\?status\.\?(\w+) ==", str(policy["spec"])))
        schema = crd_manifest(Site)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert checked == set(schema["properties"]["status"]["properties"]) - {"mining"}

    def test_cannot_be_combined_with_watch_namespaces(self, helm: Helm) -> None:
        values = {**ON, "operator": {"watchNamespaces": ["tenant-a"]}}
        proc = helm.template_text(values, check=False)
        assert proc.returncode != 0
        assert "federation.enabled" in proc.stderr and "watchNamespaces" in proc.stderr
