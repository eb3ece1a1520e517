"""The order of the GPU check's steps, and its exit code (see ``report``).

NVML is initialised first: a machine where it cannot be (no driver, no library) or
where it lists no GPU ends there, with :data:`EXIT_NO_GPU` and NVML's own words. Every
later step runs even when one before it failed, and an exception in a step fails that
step only; the power limit is put back inside its own step.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from cango_operator.agent.gpucheck import steps
from cango_operator.agent.gpucheck.facts import Asker, gpu_facts, system_facts
from cango_operator.agent.gpucheck.power import power_limit_round_trip
from cango_operator.agent.gpucheck.report import EXIT_NO_GPU, Outcome, Report, Status
from cango_operator.agent.gpucheck.sampling import sample
from cango_operator.agent.nvml_source import NvmlSource, import_pynvml

OUT_ENV = "CANGO_GPU_CHECK_OUT"
DEFAULT_OUT = ".out/gpu-check"


@dataclass
class CheckConfig:
    out_dir: Path = Path(DEFAULT_OUT)
    label: str = ""
    #: the tests run with pytest; empty: that step is left out
    tests: Sequence[str] = steps.GPU_TESTS
    #: run ``cango-operator agent --once --print-status``
    agent_status: bool = True
    #: GPUs whose limit is lowered and put back
    power_gpus: Sequence[int] = (0,)
    sample_seconds: float = 5.0
    sample_interval_s: float = 0.5


def _step(report: Report, name: str, fn: Callable[[], Outcome]) -> None:
    try:
        outcome = fn()
    except Exception as exc:  # one step's surprise must not stop the others
        outcome = Outcome(name, Status.FAILED, f"{type(exc).__name__}: {exc}")
    report.add(outcome)


def _no_gpu(report: Report, why: str) -> Report:
    report.add(Outcome("NVML", Status.FAILED, f"no NVIDIA driver/GPU: {why}"))
    report.exit_code = EXIT_NO_GPU
    return report


def run_check(config: CheckConfig, nvml: Any = None) -> Report:
    """Every step, in order; ``nvml`` stands in for ``pynvml`` in tests."""
    nvml = nvml if nvml is not None else import_pynvml()
    report = Report(label=config.label)
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        reason = f"NVML could not be initialised ({exc})"
        no_driver = (nvml.NVML_ERROR_LIBRARY_NOT_FOUND, nvml.NVML_ERROR_DRIVER_NOT_LOADED)
        if getattr(exc, "value", None) in no_driver:
            return _no_gpu(report, reason)
        report.add(Outcome("NVML", Status.FAILED, reason))
        return report
    try:
        count = int(nvml.nvmlDeviceGetCount())
        if count == 0:
            return _no_gpu(report, "NVML initialised but lists no GPU")
        _facts(report, nvml, count)
        if config.tests:
            _step(report, "NVML tests", lambda: steps.run_gpu_tests(config.tests))
        if config.agent_status:
            _step(report, "agent status", lambda: steps.run_agent_status(count))
        _with_source(report, nvml, config, count)
    finally:
        nvml.nvmlShutdown()
    return report


def _facts(report: Report, nvml: Any, count: int) -> None:
    ask = Asker(nvml)
    report.facts += [*system_facts(ask), ("GPUs", str(count))]
    report.gpu_facts += [gpu_facts(ask, i) for i in range(count)]
    for name, value in report.facts:
        print(f"{name}: {value}")
    for gpu in report.gpu_facts:
        print(", ".join(f"{k} {v}" for k, v in gpu.items()))
    if ask.errors:
        report.add(Outcome("facts", Status.FAILED, f"{len(ask.errors)} calls failed", ask.errors))
    else:
        report.add(Outcome("facts", Status.PASSED, f"read for {count} GPUs"), echo=False)


def _with_source(report: Report, nvml: Any, config: CheckConfig, count: int) -> None:
    """The steps that go through the agent's own NVML source."""
    try:
        source = NvmlSource(nvml=nvml)
    except Exception as exc:
        report.add(Outcome("agent NVML source", Status.FAILED, f"{type(exc).__name__}: {exc}"))
        return
    try:
        for index in config.power_gpus:
            if 0 <= index < count:
                name = f"power limit round trip (GPU {index})"
                _step(report, name, partial(power_limit_round_trip, nvml, source, index))
            else:
                report.add(Outcome(f"power limit (GPU {index})", Status.FAILED, "no such GPU"))
        _step(
            report,
            "sampling",
            lambda: sample(source, config.sample_seconds, config.sample_interval_s),
        )
    finally:
        source.close()


def parse_args(argv: Sequence[str] | None) -> CheckConfig:
    parser = argparse.ArgumentParser(
        prog="gpu-check", description="The node agent's NVML path on this machine's GPUs."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get(OUT_ENV) or DEFAULT_OUT),
        help=f"report directory (default: ${OUT_ENV} or {DEFAULT_OUT})",
    )
    parser.add_argument("--label", default="", help="names the tree in the report (a commit)")
    parser.add_argument("--no-tests", action="store_true", help="leave the pytest step out")
    parser.add_argument("--no-agent", action="store_true", help="leave the agent step out")
    parser.add_argument(
        "--power-gpu",
        type=int,
        action="append",
        help="GPU whose power limit is lowered and put back (repeatable; default 0; -1: none)",
    )
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--sample-interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    if not 0 <= args.sample_seconds <= 60 or not 0.05 <= args.sample_interval <= 10:
        parser.error("--sample-seconds must be in [0, 60] and --sample-interval in [0.05, 10]")
    power = [g for g in (args.power_gpu or [0]) if g >= 0]
    return CheckConfig(
        out_dir=args.out,
        label=args.label,
        tests=() if args.no_tests else steps.GPU_TESTS,
        agent_status=not args.no_agent,
        power_gpus=power,
        sample_seconds=args.sample_seconds,
        sample_interval_s=args.sample_interval,
    )


def main(argv: Sequence[str] | None = None, nvml: Any = None) -> int:
    config = parse_args(argv)
    report = run_check(config, nvml)
    path = report.write(config.out_dir)
    print("\n" + "\n".join(report.summary()))
    print(f"report: {path}")
    return report.code()


if __name__ == "__main__":
    sys.exit(main())
