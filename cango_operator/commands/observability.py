"""`cango-operator observability`: write the Grafana dashboards and the metrics, dashboards
and alerts documents generated from the code and the chart's rule files.

cango-operator observability           write them (run from the repository root)
cango-operator observability --check   write nothing; exit 1 listing files that differ
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cango_operator.observability import generated_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(),
        help="repository root (default: the working directory)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that differ from the code",
    )


def stale_files(root: Path, files: dict[Path, str]) -> list[Path]:
    """The generated files under ``root`` that are missing or differ."""
    return [
        path
        for path, text in files.items()
        if not (root / path).is_file() or (root / path).read_text() != text
    ]


def run(args: argparse.Namespace) -> int:
    root: Path = args.root
    files = generated_files(root)
    stale = stale_files(root, files)
    if args.check:
        for path in stale:
            print(f"{path}: differs from the code (run `make observability`)", file=sys.stderr)
        if not stale:
            print(f"{len(files)} generated file(s) match the code")
        return 1 if stale else 0
    for path in stale:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(files[path])
        print(f"wrote {path}")
    return 0
