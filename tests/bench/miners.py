"""The mining controller at fleet size: ``make bench-miners`` (``python -m tests.bench.miners``).

500 fake miners (a third each of three generations, LuxOS on port 4028 at 127.N.y.z, each
answering in ``--latency-ms`` and ramping its draw over ``--ramp-s``) are read, shed to
half their draw, then restored, by the site-mining controller through the real library
(pyasic). Side by side in one run, each repeated ``--runs`` times (medians): the
controller at its default concurrency, and one miner at a time (what a plain loop over the
miners does), both in batches of 50. Reported: the first read of all miners, the shed
(read, plan, every batch sent), the meter's view (seconds until the fleet's true draw is
under the target), and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cango_operator.api import ShedOrder
from cango_operator.devcluster.fakeminers import FakeLuxMiner, FakeMinerFleet, mixed_fleet
from cango_operator.mining.controller import DEFAULT_CONCURRENCY, MiningController
from cango_operator.mining.luxos import LuxosDriver
from cango_operator.mining.ramp import RampLimits

#: Far from the test suite's octets (100..249 by pid).
SECOND_OCTET = 42


@dataclass
class Run:
    read_s: float
    shed_s: float
    metered_s: float  # from the shed's start until the true draw is under the target
    restore_s: float
    batches: int
    failed: int


async def one_run(fleet: FakeMinerFleet[FakeLuxMiner], concurrency: int, limits: RampLimits) -> Run:
    for miner in fleet.miners:  # every run starts from full power
        miner.asleep = False
        miner.profile = miner.model.profiles[0].name
        miner.atm_enabled = True
    await asyncio.sleep(max(m.ramp_s for m in fleet.miners))
    drivers = [LuxosDriver(a, timeout_s=5.0) for a in fleet.addresses]
    ctl = MiningController(drivers, limits, ShedOrder.SLEEP_FIRST, concurrency=concurrency)
    started = time.perf_counter()
    await ctl.refresh()
    read_s = time.perf_counter() - started
    target = fleet.draw_w() / 2
    started = time.perf_counter()
    report = await ctl.drive(target)
    shed_s = time.perf_counter() - started
    while fleet.draw_w() > target:
        await asyncio.sleep(0.05)
    metered_s = time.perf_counter() - started
    started = time.perf_counter()
    restored = await ctl.drive(target * 2)
    restore_s = time.perf_counter() - started
    return Run(
        read_s,
        shed_s,
        metered_s,
        restore_s,
        len(report.batches),
        len(report.failed) + len(restored.failed),
    )


async def bench(args: argparse.Namespace) -> list[str]:
    miners = mixed_fleet(args.miners, ramp_s=args.ramp_s, latency_s=args.latency_ms / 1000)
    limits = RampLimits(batch_size=args.batch_size, batch_interval_s=args.batch_interval_s)
    variants = {f"concurrency {DEFAULT_CONCURRENCY} (default)": DEFAULT_CONCURRENCY,
                "one at a time": 1}  # fmt: skip
    results: dict[str, list[Run]] = {name: [] for name in variants}
    async with FakeMinerFleet(miners, second_octet=SECOND_OCTET) as fleet:
        for _ in range(args.runs):
            for name, concurrency in variants.items():  # interleaved: same conditions
                results[name].append(await one_run(fleet, concurrency, limits))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def median(name: str, field: str) -> float:
        return float(statistics.median(float(getattr(r, field)) for r in results[name]))

    names = list(variants)
    base = names[1]
    lines = [
        f"{args.miners} LuxOS miners answering in {args.latency_ms:g} ms, shed to half their "
        f"draw and restored, batches of {args.batch_size} every {args.batch_interval_s:g} s, "
        f"miner ramp {args.ramp_s:g} s; medians of {args.runs} runs",
        "",
        "| | " + " | ".join(names) + " | ratio |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for field, label in (
        ("read_s", "read every miner (s)"),
        ("shed_s", "shed: read, plan, every batch sent (s)"),
        ("metered_s", "until the true draw is under the target (s)"),
        ("restore_s", "restore (s)"),
    ):
        values = [median(n, field) for n in names]
        ratio = values[0] / values[1] if values[1] else float("nan")
        lines.append(f"| {label} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {ratio:.2f} |")
    batches = {n: median(n, "batches") for n in names}
    failed = {n: sum(r.failed for r in results[n]) for n in names}
    lines += [
        f"| batches | {batches[names[0]]:.0f} | {batches[base]:.0f} | |",
        f"| failed actions (all runs) | {failed[names[0]]} | {failed[base]} | |",
        "",
        f"Peak RSS of the process (controller, library and the {args.miners} fake miners): "
        f"{rss_mib:.0f} MiB.",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.miners", description=__doc__)
    parser.add_argument("--miners", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--batch-interval-s", type=float, default=0.2)
    parser.add_argument("--ramp-s", type=float, default=1.0)
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="each miner's answer time (a real LAN)"
    )
    parser.add_argument("--output", type=Path, default=Path(".out/bench-miners.md"))
    args = parser.parse_args()
    started_load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = asyncio.run(bench(args))
    header = [
        f"- machine: {platform.processor() or platform.machine()}, `nproc` = {os.cpu_count()}, "
        f"load average at start {started_load}; Python {platform.python_version()}",
        f"- command: `{' '.join(['python', '-m', 'tests.bench.miners', *sys.argv[1:]])}`",
        "",
    ]
    text = "\n".join(header + lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
