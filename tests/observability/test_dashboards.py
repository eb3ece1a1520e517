"""The shipped Grafana dashboards: generated from code and committed unchanged, and sane as
Grafana models (unique ids, a datasource variable every query uses, every template
variable defined, panels on the 24-column grid without overlapping)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cango_operator.commands.observability import stale_files
from cango_operator.observability import generated_files
from cango_operator.observability.dashboards import DASHBOARDS
from cango_operator.observability.grafana import GRID_WIDTH
from tests.observability.expressions import (
    DASHBOARD_DIR,
    REPO_ROOT,
    VARIABLE,
    dashboard_expressions,
    dashboards,
)

MODELS = dashboards()
GRAFANA_VARIABLES = {"__rate_interval", "__range", "__interval"}


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


class TestGeneratedFiles:
    def test_every_generated_file_is_committed_as_generated(self) -> None:
        assert stale_files(REPO_ROOT, generated_files(REPO_ROOT)) == [], "run `make observability`"

    def test_a_changed_file_is_reported_stale(self, tmp_path: Any) -> None:
        files = generated_files(REPO_ROOT)
        for path, text in files.items():
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text)
        edited = next(p for p in files if p.suffix == ".json")
        (tmp_path / edited).write_text("{}\n")
        missing = next(p for p in files if p.suffix == ".md")
        (tmp_path / missing).unlink()
        assert sorted(stale_files(tmp_path, files)) == sorted([edited, missing])

    def test_the_chart_holds_exactly_the_five_dashboards(self) -> None:
        assert sorted(MODELS) == sorted(f"{d.uid}.json" for d in DASHBOARDS)
        assert sorted(m["title"] for m in MODELS.values()) == [
            "cango / Fleet overview",
            "cango / InferenceJob",
            "cango / Operator",
            "cango / Site",
            "cango / Tenants",
        ]


@pytest.mark.parametrize("name", sorted(MODELS))
class TestEachDashboard:
    def test_uid_is_stable_and_short(self, name: str) -> None:
        model = MODELS[name]
        assert model["uid"] == name.removesuffix(".json")
        assert len(model["uid"]) <= 40  # Grafana's limit

    def test_panel_ids_are_unique(self, name: str) -> None:
        ids = [p["id"] for p in MODELS[name]["panels"]]
        assert len(ids) == len(set(ids))

    def test_every_panel_and_query_uses_the_datasource_variable(self, name: str) -> None:
        model = MODELS[name]
        assert model["templating"]["list"][0] == {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
        }
        for panel in panels(model):
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], f"{panel['title']}: no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", panel["title"]

    def test_every_variable_a_query_uses_is_defined(self, name: str) -> None:
        model = MODELS[name]
        defined = {v["name"] for v in model["templating"]["list"]} | GRAFANA_VARIABLES
        for e in dashboard_expressions():
            if e.where.startswith(name):
                used = {m["name"] for m in VARIABLE.finditer(e.expr)}
                assert used <= defined, f"{e.where}: {used - defined} undefined"

    def test_ref_ids_are_unique_within_a_panel(self, name: str) -> None:
        for panel in panels(MODELS[name]):
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), panel["title"]

    def test_panels_sit_on_the_grid_without_overlapping(self, name: str) -> None:
        taken: set[tuple[int, int]] = set()
        for panel in MODELS[name]["panels"]:
            g = panel["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= GRID_WIDTH, panel["title"]
            cells = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not cells & taken, f"{panel['title']} overlaps another panel"
            taken |= cells

    def test_every_panel_says_what_it_shows(self, name: str) -> None:
        for panel in panels(MODELS[name]):
            assert panel["description"].strip(), panel["title"]

    def test_the_file_is_plain_json_grafana_can_import(self, name: str) -> None:
        text = (DASHBOARD_DIR / name).read_text()
        assert json.loads(text)["schemaVersion"] >= 36
        assert text.endswith("}\n")


class TestTemplating:
    def test_the_site_dashboard_is_templated_by_site(self) -> None:
        (site,) = [
            v for v in MODELS["cango-site.json"]["templating"]["list"] if v["name"] == "site"
        ]
        assert site["definition"] == "label_values(cango_site_power_capacity_kw, site)"

    def test_the_job_dashboard_picks_a_job_within_a_namespace_by_bounded_labels(self) -> None:
        variables = {v["name"]: v for v in MODELS["cango-job.json"]["templating"]["list"]}
        assert "$namespace" in variables["job"]["definition"]
        assert variables["job"]["definition"].endswith(", inferencejob)")
        for e in dashboard_expressions():
            if e.where.startswith("cango-job.json") and "inferencejob=" in e.expr:
                assert 'inferencejob="$job"' in e.expr and 'namespace="$namespace"' in e.expr


class TestTenantsDashboard:
    MODEL = MODELS["cango-tenants.json"]

    def panel(self, title: str) -> dict[str, Any]:
        (found,) = [p for p in panels(self.MODEL) if p["title"] == title]
        return found

    def test_it_opens_on_this_month_so_far(self) -> None:
        assert self.MODEL["time"] == {"from": "now/M", "to": "now"}

    def test_this_month_so_far_keeps_its_own_range_whatever_the_picker_says(self) -> None:
        month = self.panel("This month so far")
        assert month["timeFrom"] == "now/M"
        assert [t["expr"] for t in month["targets"]] == [
            "sum by (tenant) (increase(cango_usage_gpu_seconds_total[$__range])) / 3600",
            "sum by (tenant) (increase(cango_usage_energy_kwh_total[$__range]))",
        ]

    def test_the_last_30_days_are_a_fixed_window(self) -> None:
        last = self.panel("Last 30 days")
        assert "timeFrom" not in last
        assert all("[30d]" in t["expr"] for t in last["targets"])

    def test_the_bills_are_tables_of_gpu_hours_and_kwh_per_tenant(self) -> None:
        for title in ("This month so far", "Last 30 days", "By namespace in the time range"):
            table = self.panel(title)
            assert table["type"] == "table"
            assert all(t["instant"] and t["format"] == "table" for t in table["targets"])
            renamed = table["transformations"][1]["options"]["renameByName"]
            assert sorted(renamed.values()) == ["GPU-hours", "kWh"]
