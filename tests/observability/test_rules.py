"""The alert rules: each has what a person on call needs (severity, summary, description,
runbook), each has a firing and a not-firing unit test, and promtool checks the file and
runs those tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.observability.rules import REQUIRED_ANNOTATIONS, AlertRule, all_alerts
from tests.observability.expressions import REPO_ROOT
from tests.observability.tools import promtool

RULE_FILE = REPO_ROOT / "charts" / "cango-operator" / "rules" / "cango-alerts.yaml"
RULE_TESTS = Path(__file__).parent / "rules_test.yaml"
ALERTS = all_alerts(REPO_ROOT)
REQUIRED = {
    "CangoSiteFeedStale",
    "CangoSiteNearPowerBudget",
    "CangoGpuUnhealthy",
    "CangoJobUnschedulable",
    "CangoOperatorDown",
    "CangoPlacementLatencyHigh",
}


def rule_test_cases() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULE_TESTS.read_text())
    return [check for test in data["tests"] for check in test.get("alert_rule_test", [])]


class TestTheAlerts:
    def test_cover_what_the_issue_asks_for(self) -> None:
        assert {a.name for a in ALERTS} >= REQUIRED

    def test_names_are_unique(self) -> None:
        names = [a.name for a in ALERTS]
        assert len(names) == len(set(names))

    @pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a.name)
    def test_each_tells_on_call_what_to_do(self, alert: AlertRule) -> None:
        assert alert.severity in {"warning", "critical"}
        for key in REQUIRED_ANNOTATIONS:
            assert alert.annotations.get(key, "").strip(), f"{alert.name}: no {key}"
        assert alert.for_ != "0s", f"{alert.name}: fires on a single evaluation"

    @pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a.name)
    def test_each_has_a_firing_and_a_not_firing_unit_test(self, alert: AlertRule) -> None:
        cases = [c for c in rule_test_cases() if c["alertname"] == alert.name]
        assert any(c["exp_alerts"] for c in cases), f"{alert.name}: no firing case"
        assert any(not c["exp_alerts"] for c in cases), f"{alert.name}: no not-firing case"

    def test_the_rules_file_reads_with_the_chart_s_rules_path(self) -> None:
        assert RULE_FILE.is_file()
        assert {a.source for a in ALERTS} == {RULE_FILE.relative_to(REPO_ROOT)}


@pytest.mark.prometheus
class TestPromtool:
    def test_check_rules_accepts_the_file(self) -> None:
        proc = promtool("check", "rules", str(RULE_FILE))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"SUCCESS: {len(ALERTS)} rules found" in proc.stdout

    def test_every_alert_unit_test_passes(self) -> None:
        proc = promtool("test", "rules", str(RULE_TESTS))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "SUCCESS" in proc.stdout

    def test_a_wrong_expectation_fails_so_the_unit_tests_can_fail(self, tmp_path: Path) -> None:
        broken = RULE_TESTS.read_text().replace(
            "../../charts/cango-operator/rules/cango-alerts.yaml", str(RULE_FILE)
        )
        broken = broken.replace("{severity: critical, site: over}", "{severity: critical, site: x}")
        (tmp_path / "rules_test.yaml").write_text(broken)
        proc = promtool("test", "rules", str(tmp_path / "rules_test.yaml"))
        assert proc.returncode != 0
        assert "CangoSiteGpuPowerOverBudget" in proc.stdout + proc.stderr
