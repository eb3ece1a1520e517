"""What the chart ships of the observability files: one ConfigMap per dashboard for
Grafana's sidecar, and one PrometheusRule holding the alert groups unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cango_operator.devcluster import ensure_bin_dir, find_tool
from tests.chart.helm import Helm, find
from tests.observability.expressions import DASHBOARD_DIR, REPO_ROOT, dashboards

RULE_FILE = REPO_ROOT / "charts" / "cango-operator" / "rules" / "cango-alerts.yaml"


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(find_tool("helm", ensure_bin_dir()), Path(tmp_path_factory.mktemp("helm-home")))


class TestDashboardConfigMaps:
    def test_each_dashboard_becomes_a_config_map_the_grafana_sidecar_picks_up(
        self, helm: Helm
    ) -> None:
        objects = helm.template({"dashboards": {"enabled": True}})
        maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
        assert sorted(maps) == sorted(
            f"cango-operator-dashboard-{name.removesuffix('.json')}" for name in dashboards()
        )
        for name in dashboards():
            cm = maps[f"cango-operator-dashboard-{name.removesuffix('.json')}"]
            assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
            assert cm["data"] == {name: (DASHBOARD_DIR / name).read_text().rstrip("\n")}


class TestPrometheusRule:
    def test_holds_the_rule_file_s_groups_unchanged(self, helm: Helm) -> None:
        values = {"prometheusRule": {"enabled": True, "labels": {"release": "prom"}}}
        rule = find(helm.template(values), "PrometheusRule")
        assert rule["metadata"]["labels"]["release"] == "prom"
        assert rule["spec"]["groups"] == yaml.safe_load(RULE_FILE.read_text())["groups"]
