"""The generated files, path (relative to the repository root) to text."""

from __future__ import annotations

import json
from pathlib import Path

from cango_operator.observability.catalogue import all_families
from cango_operator.observability.dashboards import DASHBOARDS
from cango_operator.observability.docs import (
    DASHBOARD_DIR,
    dashboard_file,
    render_alerts_doc,
    render_dashboards_doc,
)
from cango_operator.observability.grafana import render
from cango_operator.observability.metrics_doc import render_metrics_doc
from cango_operator.observability.rules import all_alerts


def generated_files(root: Path) -> dict[Path, str]:
    """Everything ``cango-operator observability`` writes; ``root`` holds the rule files."""
    files = {
        Path(DASHBOARD_DIR) / dashboard_file(d): json.dumps(render(d), indent=2) + "\n"
        for d in DASHBOARDS
    }
    files[Path("docs/metrics.md")] = render_metrics_doc(all_families())
    files[Path("docs/dashboards.md")] = render_dashboards_doc(DASHBOARDS)
    files[Path("docs/alerts.md")] = render_alerts_doc(all_alerts(root))
    return files
