"""``docs/dashboards.md`` and ``docs/alerts.md``: every panel with its queries, every alert
with its expression and runbook line."""

from __future__ import annotations

from collections.abc import Sequence

from cango_operator.observability.grafana import Dashboard
from cango_operator.observability.markdown import GENERATED_NOTE, cell, code, table
from cango_operator.observability.rules import AlertRule

DASHBOARD_DIR = "charts/cango-operator/dashboards"


def dashboard_file(dashboard: Dashboard) -> str:
    return f"{dashboard.uid}.json"


def render_dashboards_doc(dashboards: Sequence[Dashboard]) -> str:
    lines = [
        GENERATED_NOTE,
        "",
        "# Dashboards",
        "",
        f"{len(dashboards)} Grafana dashboards, generated from "
        "`cango_operator/observability/dashboards/` into "
        f"`{DASHBOARD_DIR}/`. With `dashboards.enabled=true` the chart ships each as a "
        'ConfigMap labelled `grafana_dashboard: "1"` for Grafana\'s dashboard sidecar. '
        "Every panel reads the `datasource` variable (any Prometheus data source). "
        "`$__rate_interval` and `$__range` are Grafana's own variables.",
    ]
    for d in dashboards:
        panels = d.panels()
        lines += ["", f"## {d.title}", "", d.description, ""]
        lines += [f"File `{DASHBOARD_DIR}/{dashboard_file(d)}`, uid `{d.uid}`, "]
        lines[-1] += f"{len(panels)} panels."
        if d.variables:
            lines += ["", "Variables:", ""]
            lines += [f"- `${v.name}` ({v.label}): {code(v.query)}" for v in d.variables]
        for row in d.rows:
            lines += ["", f"### {row.title}", ""]
            lines += table(
                ["Panel", "Type", "Query (legend)", "What it shows"],
                [
                    [
                        cell(p.title),
                        p.kind,
                        "<br>".join(
                            code(q.expr) + (f" ({cell(q.legend)})" if q.legend else "")
                            for q in p.queries
                        ),
                        cell(p.description),
                    ]
                    for p in row.panels
                ],
            )
    return "\n".join(lines) + "\n"


def render_alerts_doc(alerts: Sequence[AlertRule]) -> str:
    sources = sorted({str(a.source) for a in alerts})
    lines = [
        GENERATED_NOTE,
        "",
        "# Alerts",
        "",
        f"{len(alerts)} alerts in " + ", ".join(f"`{s}`" for s in sources) + ": a "
        "Prometheus rule file (the chart renders it as a PrometheusRule with "
        "`prometheusRule.enabled=true`). `tests/observability/rules_test.yaml` has a firing "
        "and a not-firing case for each (`promtool test rules`).",
    ]
    for a in alerts:
        lines += [
            "",
            f"## {a.name}",
            "",
            f"Severity **{a.severity}**, group `{a.group}`, fires after `{a.for_}` of:",
            "",
            "```promql",
            a.expr,
            "```",
            "",
            f"- **Summary:** {a.annotations.get('summary', '')}",
            f"- **Description:** {a.annotations.get('description', '')}",
            f"- **Runbook:** {a.annotations.get('runbook', '')}",
        ]
    return "\n".join(lines) + "\n"
