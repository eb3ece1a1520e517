"""The Prometheus binaries the observability tests run (Debian's prometheus package)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make system-deps` (Debian package prometheus)")
    return found


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
