"""``docs/metrics.md``: the metric catalogue, rendered from the families the code defines."""

from __future__ import annotations

from collections.abc import Sequence

from cango_operator.metrics import ALLOWED_LABELS, UNITS, MetricFamily
from cango_operator.observability.markdown import GENERATED_NOTE, cell, code, table

#: What each component is and where Prometheus scrapes it.
COMPONENTS = {
    "operator": "The operator (`cango_operator/operator/metrics.py`), on its metrics port "
    "(`cango-operator run --metrics-port`, chart value `operator.ports.metrics`). Only the "
    "active replica reports the fleet, jobs and usage; standbys report their build info, "
    "counters and process metrics.",
    "power": "Site power and feeds (`cango_operator/power/metrics.py`), exported by the "
    "process that polls the feeds (the operator).",
    "agent": "The node agent (`cango_operator/agent/metrics.py`), one per GPU node, on port "
    "9400 (`cango-operator agent --metrics-port`, chart value `agent.ports.metrics`).",
}

SHORT = {"operator": "operator", "power": "site power feeds", "agent": "node agent"}


def render_metrics_doc(families: Sequence[MetricFamily]) -> str:
    counts = {c: sum(1 for f in families if f.component == c) for c in COMPONENTS}
    lines = [
        GENERATED_NOTE,
        "",
        "# Metrics",
        "",
        f"{len(families)} metric families, all named `cango_*`: "
        + ", ".join(f"{n} from the {SHORT[c]}" for c, n in counts.items() if n)
        + ". The operator also exports the standard `process_*` metrics.",
        "",
        "## Conventions",
        "",
        "- Names are `cango_<subject>_<what>[_<unit>]`, snake_case. Counters end in "
        "`_total`, info metrics in `_info` (value 1, the facts in the labels).",
        "- The unit is the last word before `_total`: "
        + ", ".join(f"`{u}` ({what})" for u, what in UNITS.items())
        + ". No unit: a count or a state (1 for the current phase, 0 for the others).",
        "- Labels come from a bounded set; no object UIDs, pod names or free text:",
        "",
        *table(["Label", "Bounded by"], [[f"`{k}`", v] for k, v in ALLOWED_LABELS.items()]),
        "",
        "`tests/observability/test_catalogue.py` checks every family against these rules "
        "and fails when this file differs from the code.",
    ]
    for component, about in COMPONENTS.items():
        members = [f for f in families if f.component == component]
        if not members:
            continue
        lines += ["", f"## {component}", "", about, ""]
        lines += table(
            ["Metric", "Type", "Unit", "Labels", "Meaning"],
            [
                [
                    code(f.name),
                    f.type,
                    f.unit or "-",
                    ", ".join(f"`{label}`" for label in f.labels) or "-",
                    cell(f.help),
                ]
                for f in members
            ],
        )
    return "\n".join(lines) + "\n"
