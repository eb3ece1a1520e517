"""The steps that run a command: the NVML tests, and the agent's ``--print-status``.

Both run with this interpreter, from the current directory (the repository's root), so
they use the same packages and the tree being checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence

from cango_operator.agent.gpucheck.report import Outcome, Status

#: where the tests that need a GPU live (``-m gpu`` picks them)
GPU_TESTS = ("tests/integration/test_agent_nvml.py",)
REQUIRE_GPU = "CANGO_REQUIRE_GPU"
TESTS_TIMEOUT_S = 300
AGENT_TIMEOUT_S = 120
TAIL_LINES = 40


def _tail(text: str, lines: int = TAIL_LINES) -> list[str]:
    return text.rstrip().splitlines()[-lines:]


def run_gpu_tests(paths: Sequence[str] = GPU_TESTS) -> Outcome:
    """The ``gpu`` tests with skips turned into failures (see tests/conftest.py)."""
    name = "NVML tests (pytest -m gpu)"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "gpu", "-rA"]
    env = {**os.environ, REQUIRE_GPU: "1"}
    try:
        proc = subprocess.run(
            [*command, *paths],
            capture_output=True,
            text=True,
            env=env,
            timeout=TESTS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return Outcome(name, Status.FAILED, f"still running after {TESTS_TIMEOUT_S} s", _tail(out))
    lines = _tail(proc.stdout + proc.stderr)
    last = lines[-1].strip("= ") if lines else "no output"
    if proc.returncode != 0:
        return Outcome(name, Status.FAILED, f"exit {proc.returncode}: {last}", lines)
    return Outcome(name, Status.PASSED, last, lines)


def run_agent_status(gpu_count: int) -> Outcome:
    """``cango-operator agent --once --print-status``: the status it would write."""
    name = "agent --once --print-status"
    command = [sys.executable, "-m", "cango_operator", "agent", "--once", "--print-status"]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=AGENT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome(name, Status.FAILED, f"still running after {AGENT_TIMEOUT_S} s")
    if proc.returncode != 0:
        return Outcome(name, Status.FAILED, f"exit {proc.returncode}", _tail(proc.stderr))
    try:
        status = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        return Outcome(name, Status.FAILED, f"not JSON: {exc}", _tail(proc.stdout))
    lines = json.dumps(status, indent=2).splitlines()
    gpus = status.get("gpus") or []
    if len(gpus) != gpu_count:
        return Outcome(name, Status.FAILED, f"{len(gpus)} GPUs, NVML counts {gpu_count}", lines)
    summary = f"phase {status.get('phase')}, {len(gpus)} GPUs, {status.get('powerW')} W"
    return Outcome(name, Status.PASSED, summary, lines)
