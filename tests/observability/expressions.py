"""Every PromQL expression the shipped dashboards and alert rules contain, found in the
files themselves (the dashboard JSON in the chart, the rule files), and how to turn
Grafana's template variables into something Prometheus can evaluate."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cango_operator.observability.rules import all_alerts

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO_ROOT / "charts" / "cango-operator" / "dashboards"
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>[a-z_]+)\)$")
VARIABLE = re.compile(r"\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}?")
METRIC_NAME = re.compile(r"\b(?P<name>(?:cango|process)_[a-z0-9_]+)")


@dataclass(frozen=True)
class Expression:
    where: str  # "cango-fleet.json: Free GPUs [A]" or "rule CangoGpuUnhealthy"
    expr: str
    series_only: bool = False  # a variable's label_values() selector: ask /api/v1/series
    instant: bool = True  # False: a time-series panel's range query


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def dashboard_expressions() -> list[Expression]:
    found = []
    for name, model in dashboards().items():
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                found.append(
                    Expression(
                        f"{name}: {panel['title']} [{target['refId']}]",
                        target["expr"],
                        instant=target["instant"],
                    )
                )
        for variable in model["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = LABEL_VALUES.match(variable["definition"])
            assert match, f"{name}: variable {variable['name']} is not label_values(...)"
            found.append(
                Expression(
                    f"{name}: variable ${variable['name']}", match["selector"], series_only=True
                )
            )
    return found


def rule_expressions() -> list[Expression]:
    return [Expression(f"rule {a.name}", a.expr) for a in all_alerts(REPO_ROOT)]


def all_expressions() -> list[Expression]:
    return dashboard_expressions() + rule_expressions()


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with every ``$name`` / ``${name}`` replaced; an unknown one is an error."""

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(value, expr)


def metric_names(text: str) -> set[str]:
    """The cango_* and process_* metric names in a text (an expression, a runbook line)."""
    return {m["name"] for m in METRIC_NAME.finditer(text)}
