"""`cango-operator crds`: write the CRD manifests generated from the API models.

cango-operator crds                      write crds/ and charts/cango-operator/crds/
cango-operator crds --output-dir DIR     write into DIR instead (repeatable)
cango-operator crds --check              write nothing; exit 1 listing files that differ
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cango_operator.api import render_crd_files

#: Where the committed copies live, relative to the repository root (the working directory).
DEFAULT_OUTPUT_DIRS = (Path("crds"), Path("charts/cango-operator/crds"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir",
        dest="output_dirs",
        type=Path,
        action="append",
        help="directory to write the CRDs into (repeatable; default: "
        + " and ".join(str(d) for d in DEFAULT_OUTPUT_DIRS)
        + ")",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that differ from the models",
    )


def stale_files(output_dirs: list[Path], files: dict[str, str]) -> list[Path]:
    """The files under ``output_dirs`` that are missing or differ from ``files``."""
    stale = []
    for directory in output_dirs:
        for name, text in files.items():
            path = directory / name
            if not path.is_file() or path.read_text() != text:
                stale.append(path)
    return stale


def run(args: argparse.Namespace) -> int:
    output_dirs: list[Path] = args.output_dirs or list(DEFAULT_OUTPUT_DIRS)
    files = render_crd_files()
    if args.check:
        stale = stale_files(output_dirs, files)
        for path in stale:
            print(f"{path}: differs from the models (run `make crds`)", file=sys.stderr)
        if not stale:
            print(f"{len(files) * len(output_dirs)} CRD file(s) match the models")
        return 1 if stale else 0
    for directory in output_dirs:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = directory / name
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
                print(f"wrote {path}")
    return 0
