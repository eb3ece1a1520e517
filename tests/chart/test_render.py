"""What `helm template` renders: the operator, the agent, their switches, Pod Security,
and the observability drop-ins. Pure rendering: no cluster."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import CHART_DIR, REPO_ROOT, Helm, find, kinds
from tests.chart.podsecurity import pod_specs, restricted_violations


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_names(c: dict[str, Any]) -> list[str]:
    return [e["name"] for e in c.get("env", [])]


class TestChartIsWellFormed:
    def test_helm_lint_strict_reports_no_warning_or_error(self, helm: Helm) -> None:
        proc = helm.run("lint", "--strict", str(CHART_DIR), check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout

    def test_app_version_is_the_package_version(self) -> None:
        chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
        project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
        assert chart["appVersion"] == project["version"]

    def test_every_object_carries_the_release_labels(self, helm: Helm) -> None:
        for obj in helm.template():
            labels = obj["metadata"].get("labels", {})
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            assert labels.get("app.kubernetes.io/instance") == "cango-operator", where
            assert labels.get("app.kubernetes.io/managed-by") == "Helm", where

    def test_defaults_render_the_operator_agent_rbac_and_network_policies(self, helm: Helm) -> None:
        assert kinds(helm.template()) == sorted(
            ["ClusterKopfPeering", "DaemonSet", "Deployment", "PodDisruptionBudget"]
            + ["ClusterRole", "ClusterRoleBinding"] * 2
            + ["Role", "RoleBinding"]
            + ["ServiceAccount"] * 2
            + ["Service"] * 2
            + ["NetworkPolicy"] * 2
            # tenancy: the tenant view and edit rules, class default and who may use it,
            # the admission policy holding jobs to their class
            + ["ClusterRole"] * 3
            + ["ClusterRoleBinding", "InferenceClass"]
            + ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
        )


class TestOperatorDeployment:
    def test_runs_two_replicas_peered_under_the_release_name(self, helm: Helm) -> None:
        objects = helm.template()
        deploy = find(objects, "Deployment")
        assert deploy["spec"]["replicas"] == 2
        args = container(deploy)["args"]
        assert args[0] == "run"
        assert "--peering=cango-operator" in args
        assert find(objects, "ClusterKopfPeering")["metadata"]["name"] == "cango-operator"

    def test_exposes_health_and_metrics_ports_that_the_probes_use(self, helm: Helm) -> None:
        c = container(find(helm.template({"operator": {"ports": {"health": 8181}}}), "Deployment"))
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"health": 8181, "metrics": 9090}
        assert "--liveness=http://0.0.0.0:8181/healthz" in c["args"]
        assert "--metrics-port=9090" in c["args"]
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}

    def test_knows_its_namespace_and_pod_name_from_the_downward_api(self, helm: Helm) -> None:
        c = container(find(helm.template(), "Deployment"))
        fields = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]}
        assert fields == {
            "POD_NAME": "metadata.name",
            "POD_ID": "metadata.name",
            "POD_NAMESPACE": "metadata.namespace",
        }

    def test_sets_requests_and_a_memory_limit(self, helm: Helm) -> None:
        resources = container(find(helm.template(), "Deployment"))["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert "memory" in resources["limits"]

    def test_extra_args_are_appended_and_rendered_as_templates(self, helm: Helm) -> None:
        values = {"operator": {"extraArgs": ["--standalone-ns={{ .Release.Namespace }}"]}}
        args = container(find(helm.template(values), "Deployment"))["args"]
        assert args[-1] == "--standalone-ns=cango-system"

    def test_a_single_replica_gets_no_disruption_budget(self, helm: Helm) -> None:
        objects = helm.template({"operator": {"replicas": 1}})
        assert "PodDisruptionBudget" not in kinds(objects)

    def test_image_defaults_to_the_app_version_and_a_digest_wins(self, helm: Helm) -> None:
        assert container(find(helm.template(), "Deployment"))["image"].endswith(":0.1.0")
        digest = "sha256:" + "a" * 64
        c = container(find(helm.template({"image": {"digest": digest}}), "Deployment"))
        assert c["image"] == f"ghcr.io/cango/cango-operator@{digest}"


class TestAgentDaemonSet:
    def test_runs_only_on_nodes_with_the_site_label(self, helm: Helm) -> None:
        spec = find(helm.template(), "DaemonSet")["spec"]["template"]["spec"]
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"] == [
            {"matchExpressions": [{"key": "compute.cango.io/site", "operator": "Exists"}]}
        ]

    def test_reads_real_gpus_through_nvml_without_requesting_any(self, helm: Helm) -> None:
        values = {"agent": {"runtimeClassName": "nvidia"}}
        ds = find(helm.template(values), "DaemonSet")
        c = container(ds)
        assert "--simulate" not in c["args"]
        assert "--node-name=$(NODE_NAME)" in c["args"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
        assert env["NVIDIA_DRIVER_CAPABILITIES"] == "utility"
        assert "nvidia.com/gpu" not in str(c["resources"])
        assert ds["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia"

    def test_simulated_mode_passes_simulate_and_needs_no_nvidia_runtime(self, helm: Helm) -> None:
        values = {"agent": {"simulate": True, "runtimeClassName": "nvidia"}}
        ds = find(helm.template(values), "DaemonSet")
        c = container(ds)
        assert c["args"][-1] == "--simulate"
        assert "NVIDIA_VISIBLE_DEVICES" not in env_names(c)
        assert "runtimeClassName" not in ds["spec"]["template"]["spec"]

    def test_probes_ask_the_agent_health_endpoint_on_its_metrics_port(self, helm: Helm) -> None:
        c = container(find(helm.template({"agent": {"ports": {"metrics": 9500}}}), "DaemonSet"))
        assert c["ports"] == [{"name": "metrics", "containerPort": 9500, "protocol": "TCP"}]
        assert "--metrics-port=9500" in c["args"]
        for probe in (c["livenessProbe"], c["readinessProbe"]):
            assert probe["httpGet"] == {"path": "/healthz", "port": "metrics"}

    def test_node_name_comes_from_the_downward_api(self, helm: Helm) -> None:
        c = container(find(helm.template(), "DaemonSet"))
        node = next(e for e in c["env"] if e["name"] == "NODE_NAME")
        assert node["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"

    def test_a_narrower_gpu_node_label_is_used_as_given(self, helm: Helm) -> None:
        values = {"agent": {"gpuNodeLabel": "nvidia.com/gpu.present"}}
        spec = find(helm.template(values), "DaemonSet")["spec"]["template"]["spec"]
        text = str(spec["affinity"])
        assert "nvidia.com/gpu.present" in text and "compute.cango.io/site" not in text

    def test_disabled_agent_renders_no_agent_objects(self, helm: Helm) -> None:
        objects = helm.template({"agent": {"enabled": False}})
        names = [o["metadata"]["name"] for o in objects]
        assert "DaemonSet" not in kinds(objects)
        assert not [n for n in names if n.endswith("-agent") or "-agent-" in n]


class TestSiteMining:
    def test_nothing_runs_until_a_site_is_listed(self, helm: Helm) -> None:
        names = [o["metadata"]["name"] for o in helm.template()]
        assert not [n for n in names if "site-mining" in n]

    def test_one_controller_per_site_that_may_touch_those_sites_only(self, helm: Helm) -> None:
        objects = helm.template({"siteMining": {"sites": ["tx-1", "tx-2"]}})
        specs = pod_specs(objects)
        for site in ("tx-1", "tx-2"):
            spec = specs[f"Deployment/cango-operator-site-mining-{site}"]
            assert spec["containers"][0]["args"][:2] == ["site-mining", f"--site={site}"]
            assert restricted_violations(spec) == []
        role = find(objects, "ClusterRole", "cango-operator-site-mining")
        assert role["rules"] == [
            {
                "apiGroups": ["compute.cango.io"],
                "resources": ["sites"],
                "resourceNames": ["tx-1", "tx-2"],
                "verbs": ["get"],
            },
            {
                "apiGroups": ["compute.cango.io"],
                "resources": ["sites/status"],
                "resourceNames": ["tx-1", "tx-2"],
                "verbs": ["patch"],
            },
        ]


class TestPodSecurityRestricted:
    @pytest.mark.parametrize("simulate", [False, True])
    def test_every_pod_template_meets_the_restricted_profile(
        self, helm: Helm, simulate: bool
    ) -> None:
        specs = pod_specs(helm.template({"agent": {"simulate": simulate}}))
        assert set(specs) == {"Deployment/cango-operator", "DaemonSet/cango-operator-agent"}
        for name, spec in specs.items():
            assert restricted_violations(spec) == [], name

    def test_root_filesystems_are_read_only_with_a_small_writable_tmp(self, helm: Helm) -> None:
        for name, spec in pod_specs(helm.template()).items():
            c = spec["containers"][0]
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}], name
            assert spec["volumes"][0]["emptyDir"]["sizeLimit"], name

    def test_the_checklist_catches_a_pod_that_is_not_restricted(self) -> None:
        pod = {
            "hostNetwork": True,
            "volumes": [{"name": "dev", "hostPath": {"path": "/dev"}}],
            "containers": [
                {"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}
            ],
        }
        problems = " | ".join(restricted_violations(pod))
        for expected in (
            "hostNetwork",
            "volume dev",
            "allowPrivilegeEscalation",
            "drop ALL",
            "SYS_ADMIN",
            "runAsNonRoot",
            "seccompProfile",
        ):
            assert expected in problems


class TestNetworkPolicy:
    def test_lets_in_only_the_metrics_and_health_ports(self, helm: Helm) -> None:
        objects = helm.template()
        policies = {
            o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"
        }
        operator = policies["cango-operator-operator"]
        assert operator["policyTypes"] == ["Ingress"]
        ports = sorted(p["port"] for rule in operator["ingress"] for p in rule["ports"])
        assert ports == [8080, 9090]
        agent = policies["cango-operator-agent"]
        assert [p["port"] for rule in agent["ingress"] for p in rule["ports"]] == [9400]

    def test_metrics_sources_and_egress_limits_come_from_values(self, helm: Helm) -> None:
        monitoring = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}
        values = {
            "networkPolicy": {
                "metricsFrom": [monitoring],
                "egress": {"enabled": True, "apiServerCidrs": ["10.0.0.1/32"]},
            }
        }
        spec = find(helm.template(values), "NetworkPolicy", "cango-operator-operator")["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert spec["ingress"][0]["from"] == [monitoring]
        assert {"ipBlock": {"cidr": "10.0.0.1/32"}} in spec["egress"][1]["to"]
        assert {53} == {p["port"] for p in spec["egress"][0]["ports"]}

    def test_can_be_switched_off(self, helm: Helm) -> None:
        assert "NetworkPolicy" not in kinds(helm.template({"networkPolicy": {"enabled": False}}))


@pytest.fixture
def chart_with_observability(tmp_path: Path) -> Path:
    """A copy of the chart with only one dashboard and one rule file dropped in (what the
    chart ships is tested in tests/observability/test_chart.py)."""
    chart = tmp_path / "cango-operator"
    shutil.copytree(CHART_DIR, chart)
    for shipped in [*(chart / "dashboards").glob("*.json"), *(chart / "rules").glob("*.yaml")]:
        shipped.unlink()
    (chart / "dashboards" / "Fleet Power.json").write_text('{"title": "Fleet power"}\n')
    rules = {"groups": [{"name": "cango-fleet", "rules": [{"alert": "CangoX", "expr": "up == 0"}]}]}
    (chart / "rules" / "fleet.yaml").write_text(yaml.safe_dump(rules))
    return chart


class TestObservabilityDropIns:
    def test_off_by_default(self, helm: Helm, chart_with_observability: Path) -> None:
        objects = helm.template(chart=chart_with_observability)
        assert not {"ServiceMonitor", "PrometheusRule", "ConfigMap"} & set(kinds(objects))

    def test_each_dashboard_file_becomes_a_labelled_config_map(
        self, helm: Helm, chart_with_observability: Path
    ) -> None:
        values = {"dashboards": {"enabled": True, "namespace": "monitoring"}}
        cm = find(helm.template(values, chart=chart_with_observability), "ConfigMap")
        assert cm["metadata"]["name"] == "cango-operator-dashboard-fleet-power"
        assert cm["metadata"]["namespace"] == "monitoring"
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["data"] == {"Fleet Power.json": '{"title": "Fleet power"}'}

    def test_rule_files_and_extra_groups_make_one_prometheus_rule(
        self, helm: Helm, chart_with_observability: Path
    ) -> None:
        extra = {"name": "site-extra", "rules": [{"record": "x:y", "expr": "1"}]}
        values = {"prometheusRule": {"enabled": True, "extraGroups": [extra]}}
        rule = find(helm.template(values, chart=chart_with_observability), "PrometheusRule")
        assert [g["name"] for g in rule["spec"]["groups"]] == ["cango-fleet", "site-extra"]

    def test_no_rule_groups_render_no_prometheus_rule(self, helm: Helm, tmp_path: Path) -> None:
        chart = tmp_path / "cango-operator"
        shutil.copytree(CHART_DIR, chart)
        for rule_file in (chart / "rules").glob("*.yaml"):
            rule_file.unlink()
        objects = helm.template({"prometheusRule": {"enabled": True}}, chart=chart)
        assert "PrometheusRule" not in kinds(objects)

    def test_service_monitors_scrape_the_operator_and_each_agent(self, helm: Helm) -> None:
        values = {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}
        monitors = [o for o in helm.template(values) if o["kind"] == "ServiceMonitor"]
        assert sorted(m["metadata"]["name"] for m in monitors) == [
            "cango-operator-agent",
            "cango-operator-operator",
        ]
        for m in monitors:
            assert m["metadata"]["labels"]["release"] == "prom"
            assert m["spec"]["endpoints"][0]["port"] == "metrics"

    def test_service_monitors_without_metrics_services_are_refused(self, helm: Helm) -> None:
        values = {"serviceMonitor": {"enabled": True}, "metrics": {"service": {"enabled": False}}}
        proc = helm.template_text(values, check=False)
        assert proc.returncode != 0
        assert re.search(r"serviceMonitor\.enabled needs metrics\.service\.enabled", proc.stderr)
