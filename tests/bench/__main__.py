"""The placement benchmark: ``make bench`` (``python -m tests.bench``).

1. Speed, side by side in one run: the engine (improvement stage included, at its default
   budget) and the plain-Python reference plan the same generated fleets (500, 2,000 and
   10,000 GPU nodes; 100 and 1,000 pending jobs, with running work to keep or preempt).
   Medians of repeated runs; the engine's greedy stage alone must make the very plan the
   reference makes, so every run is also a large-scale check against the oracle.
2. Service per priority against the lexicographic optimum on fleets short of GPUs or
   power (``tiers.py``), the greedy alone and with the improvement stage, side by side.
3. Quality against the optimum on small instances (``quality.py``): jobs and replicas
   placed, energy cost and mean latency, per objective, for both variants.

Prints a Markdown report and writes it to ``--output`` (default ``.out/bench.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy

from cango_operator.placement import DEFAULT_BUDGET, OFF, Objective, Plan, Snapshot, plan
from tests.bench import tiers
from tests.bench.fleets import generate
from tests.bench.quality import Comparison, compare
from tests.unit.placement.reference import reference_plan

VARIANTS = {"greedy": OFF, "greedy + improvement": DEFAULT_BUDGET}

SIZES = [(500, 100), (500, 1000), (2000, 100), (2000, 1000), (10000, 100), (10000, 1000)]
QUICK_SIZES = [(500, 100), (2000, 1000)]
ENGINE_RUNS = 7
#: The reference is repeated only while it is quick; one run otherwise.
REFERENCE_REPEAT_BELOW_S = 5.0


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"- CPU: {cpu}, `nproc` = {os.cpu_count()}; load average at start: {load}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}",
        f"- command: `{' '.join(['python', '-m', 'tests.bench', *sys.argv[1:]])}`",
    ]


def timed(
    fn: Callable[[Snapshot], Plan], snapshot: Snapshot, runs: int
) -> tuple[float, float, Plan]:
    """Median wall-clock and median CPU seconds of ``runs`` runs, and the last result.

    CPU time is reported too because the machine is shared: other processes stretch the
    wall clock, not the work done."""
    wall, cpu = [], []
    result = None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn(snapshot)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert result is not None
    return statistics.median(wall), statistics.median(cpu), result


def speed(sizes: list[tuple[int, int]]) -> list[str]:
    rows = [
        "| nodes | pending jobs | engine: wall | engine: CPU | reference: wall "
        "| reference / engine | new replicas | replicas / s | preempted | unschedulable "
        "| greedy = reference |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    plan(generate(100, 10))  # warm up imports and NumPy
    for nodes, jobs in sizes:
        snapshot = generate(nodes, jobs)
        engine_s, engine_cpu, mine = timed(plan, snapshot, ENGINE_RUNS)
        ref_s, _, theirs = timed(reference_plan, snapshot, 1)
        if ref_s < REFERENCE_REPEAT_BELOW_S:
            ref_s, _, theirs = timed(reference_plan, snapshot, 3)
        new = sum(p.new_replicas for p in mine.placements)
        preempted = sum(e.replicas for e in mine.evictions if e.reason.startswith("preempted"))
        greedy = plan(snapshot, budget=OFF)
        same = "yes" if greedy.to_json() == theirs.to_json() else "**NO**"
        rows.append(
            f"| {nodes:,} | {jobs:,} | {engine_s * 1000:.0f} ms | {engine_cpu * 1000:.0f} ms "
            f"| {ref_s:.2f} s | {ref_s / engine_s:.0f}x | {new:,} | {new / engine_s:,.0f} "
            f"| {preempted:,} | {len(mine.unschedulable):,} | {same} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def service(instances: int) -> list[str]:
    """GPUs served per priority / the lexicographic optimum: median and worst instance."""
    head = " | ".join(f"priority {p}" for p in tiers.PRIORITIES)
    rows = [
        f"| short of | variant | instances | {head} | plan CPU: median, worst |",
        "|---|---|---:|" + "---|" * len(tiers.PRIORITIES) + "---|",
    ]
    for short_of in tiers.SHORTAGES:
        found = [tiers.compare(seed, short_of, VARIANTS) for seed in range(instances)]
        for variant in VARIANTS:
            cells = []
            for p in tiers.PRIORITIES:
                ratios = [r.ratio(variant, p) for r in found if r.optimum.get(p, 0)]
                cells.append(
                    f"{statistics.median(ratios):.3f}, {min(ratios):.3f}" if ratios else "n/a"
                )
            cpu = [r.cpu_s[variant] for r in found]
            rows.append(
                f"| {short_of} | {variant} | {instances} | {' | '.join(cells)} "
                f"| {statistics.median(cpu) * 1000:.0f} ms, {max(cpu) * 1000:.0f} ms |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def quality(instances: int) -> list[str]:
    rows = [
        "| objective | variant | instances | jobs placed (engine / best) | replicas placed "
        "(engine / best) | energy cost / optimal: median, worst | mean latency / optimal: "
        "median, worst |",
        "|---|---|---:|---|---|---|---|",
    ]
    for objective in Objective:
        runs = [compare(seed, objective, budgets=VARIANTS) for seed in range(instances)]
        for variant in VARIANTS:
            found: list[Comparison] = [run[variant] for run in runs]
            jobs = [c.jobs[0] / c.jobs[1] for c in found if c.jobs[1]]
            replicas = [c.replicas[0] / c.replicas[1] for c in found if c.replicas[1]]
            cost = [c.cost[0] / c.cost[1] for c in found if c.cost[1]]
            latency = [c.latency[0] / c.latency[1] for c in found if c.latency[1]]
            rows.append(
                f"| {objective.value} | {variant} | {instances} "
                f"| {sum(c.jobs[0] for c in found)} / {sum(c.jobs[1] for c in found)} "
                f"(worst {min(jobs):.2f}) "
                f"| {sum(c.replicas[0] for c in found)} / {sum(c.replicas[1] for c in found)} "
                f"(worst {min(replicas):.2f}) "
                f"| {statistics.median(cost):.3f}, {max(cost):.3f} "
                f"| {statistics.median(latency):.3f}, {max(latency):.3f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two sizes, five instances each")
    parser.add_argument("--output", type=Path, default=Path(".out/bench.md"))
    args = parser.parse_args()
    report = ["## Machine", "", *machine(), "", "## Speed", ""]
    report += speed(QUICK_SIZES if args.quick else SIZES)
    report += ["", "## Service per priority against the lexicographic optimum", ""]
    report += service(5 if args.quick else 20)
    report += ["", "## Quality against the optimum", ""]
    report += quality(5 if args.quick else 20)
    text = "\n".join(report) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
