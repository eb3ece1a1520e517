"""`cango-operator plan`: offline what-if. Plan jobs onto a fleet from manifests, no cluster.

cango-operator plan -f fleet.yaml -f jobs.yaml            the plan as a table
cango-operator plan -f fleet.yaml -f jobs.yaml -o json    the plan as JSON (stable keys)

Sites, GpuNodes and InferenceJobs are read from the files (other kinds are ignored); their
status, when given, describes the current load and running placements, otherwise the spec
values are used (see ``cango_operator.placement.from_api``). Invalid manifests exit 1
with a message naming the file, the object and the field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from cango_operator.api import load_manifests
from cango_operator.errors import ConfigError
from cango_operator.placement import Plan, plan_with_power_caps
from cango_operator.placement.from_api import snapshot_from_api

HELP = "offline what-if: plan jobs onto a fleet from manifests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        dest="files",
        type=Path,
        action="append",
        required=True,
        help="manifest file or directory with Sites, GpuNodes and InferenceJobs (repeatable)",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=("table", "json"),
        default="table",
        help="table for people (default) or json for scripts",
    )


def run(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or directory")
    manifests = load_manifests(args.files)
    snapshot = snapshot_from_api(manifests.sites, manifests.gpunodes, manifests.jobs)
    result = plan_with_power_caps(snapshot)
    if args.output == "json":
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(result))
    return 0


def render_table(result: Plan) -> str:
    """The plan as aligned text sections: placements, evictions, unschedulable, sites."""
    out: list[str] = []
    out += _section(
        "PLACEMENTS",
        ("JOB", "SITE", "NODE", "REPLICAS", "NEW", "GPUS", "POWER W"),
        [
            (p.job, p.site, p.node, p.replicas, p.new_replicas, p.gpus, _num(p.power_w))
            for p in result.placements
        ],
    )
    if result.evictions:
        out += _section(
            "EVICTIONS",
            ("JOB", "NODE", "REPLICAS", "REASON"),
            [(e.job, e.node, e.replicas, e.reason) for e in result.evictions],
        )
    if result.unschedulable:
        out += _section(
            "UNSCHEDULABLE",
            ("JOB", "MISSING", "WHY"),
            [(u.job, u.missing, u.message) for u in result.unschedulable],
        )
    out += _section(
        "SITES",
        ("SITE", "AVAILABLE KW BEFORE", "AVAILABLE KW AFTER", "MINING TARGET KW"),
        [
            (
                s.name,
                _num(s.available_kw_before),
                _num(s.available_kw_after),
                _num(s.mining_target_kw),
            )
            for s in result.sites
        ],
    )
    return "\n".join(out) + "\n"


def _section(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [list(header), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [f"{title} ({len(rows)})"]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return [*lines, ""]


def _num(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
