"""A site cut off from the hub for minutes while it serves, then healed: what the tenants
and the site see (the partitions issue's acceptance run).

    python -m tests.bench.partition --replicas 50 --cut-seconds 600   # make bench-partition
    python -m tests.bench.partition --flap-period 20 --cut-seconds 300  # a flapping link
    python -m tests.bench.partition --hub-outage --cut-seconds 1800    # no hub for 30 min

One run: a hub and three site clusters, each site's OCM agent reaching the hub through a
WAN link of its own (a loopback TCP proxy that is cut and healed for real). All jobs
start at the nearest site (site-a); four in five may be replaced after their grace
(``spec.failover.replaceAfterSeconds``), one in five waits (``replace: false``). The
link of site-a is cut for ``--cut-seconds``, then healed. Measured:

- detection: cut -> the Site says ``ClusterReachable: False`` (the hub knows);
- replacement: the Site's mark -> each replacing job's replicas all Running at the other
  clusters (p50, p99, max), against the grace;
- pods lost at the cut site while cut (Running pods that vanished or restarted);
- the waiting jobs replaced (must be 0);
- surplus removal: heal -> every job runs exactly its plan, once, nothing unknown;
- at the end: duplicates (anything beyond the plan) and jobs short of replicas.

With ``--flap-period P`` the link is cut and healed every P seconds for ``--cut-seconds``
instead, and the run counts restarts at the site, replacement pods created elsewhere and
whether the operator lived through it. With ``--hub-outage`` the hub's control plane is
stopped for ``--cut-seconds`` instead: pods lost at every site, ManifestWorks rewritten
after it is back (must be none: nothing changed), and the time until all is as planned.

Prints a Markdown table and one JSON line; nothing is asserted (this is a measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cango_operator.demo.report import percentile
from cango_operator.devcluster import ensure_bin_dir
from cango_operator.devcluster.cluster import cluster_start, cluster_stop
from cango_operator.devcluster.federation import (
    Federation,
    availability,
    cut_link,
    federation_down,
    federation_up,
    heal_link,
)
from tests.bench.e2e import machine
from tests.e2e.harness import OperatorProcess, wait_for
from tests.federation.harness import FedFleet, running_pods

SITES = ("site-a", "site-b", "site-c")
GPUS_PER_NODE = 8
OPERATOR_ARGS = ("--federation", "--standalone", "--debounce", "0.3")
POLL_S = 1.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench.partition", description=__doc__)
    p.add_argument("--replicas", type=int, default=50, help="replicas at the cut site (even)")
    p.add_argument("--cut-seconds", type=float, default=600, help="how long the link is cut")
    p.add_argument("--grace", type=int, default=60, help="replaceAfterSeconds of the jobs")
    p.add_argument("--timeout", type=float, default=300, help="per wait, s")
    p.add_argument(
        "--hub-outage",
        action="store_true",
        help="stop the hub for --cut-seconds instead of cutting a site's link",
    )
    p.add_argument(
        "--flap-period",
        type=float,
        default=0,
        help="cut and heal the link every this many seconds instead of one long cut",
    )
    args = p.parse_args(argv)
    if args.replicas < 10 or args.replicas % 2:
        p.error("--replicas must be even and >= 10")
    if args.hub_outage and args.flap_period:
        p.error("--hub-outage and --flap-period are two different runs")
    if not (args.flap_period or args.hub_outage) and args.cut_seconds < args.grace + 60:
        p.error("--cut-seconds must leave the grace and a minute for the replacements")
    return args


def job_pods(fleet: FedFleet, cluster: str) -> dict[str, int]:
    """Running pods per job label in ``cluster``."""
    out: dict[str, int] = {}
    for pod in fleet.pods(cluster):
        if pod.status.phase == "Running":
            job = (pod.metadata.labels or {}).get("compute.cango.io/job", "?")
            out[job] = out.get(job, 0) + 1
    return out


def site_reachable(fleet: FedFleet, site: str) -> str | None:
    for cond in (fleet.site_object(site).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "ClusterReachable":
            return str(cond.get("status"))
    return None


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    name = f"cango-bench-partition-{os.getpid()}"
    bin_dir = ensure_bin_dir()
    fed = federation_up(name, SITES, workdir, bin_dir, wan_links=True)
    try:
        fleet = FedFleet(fed)
        nodes = args.replicas // GPUS_PER_NODE + 1
        near = fleet.site("near", "site-a", latency_ms=10)
        fleet.nodes(near, nodes)
        for suffix, cluster, ms in (("b", "site-b", 30), ("c", "site-c", 40)):
            fleet.nodes(fleet.site(suffix, cluster, latency_ms=ms), nodes)
        jobs = [f"j{i:03d}" for i in range(args.replicas // 2)]
        waiting = set(jobs[::5])
        for job in jobs:
            failover = {"replace": False} if job in waiting else {"replaceAfterSeconds": args.grace}
            fleet.job(job, replicas=2, failover=failover)
        op = OperatorProcess(fed.hub, workdir, "bench", *OPERATOR_ARGS).start()
        try:
            op.wait_ready(timeout=300)
            fleet.wait_running(jobs, timeout=args.timeout)
            run_ = Run(fed, fleet, near, jobs, waiting=waiting, args=args)
            if args.hub_outage:
                result = run_.hub_outage()
            elif args.flap_period:
                result = run_.flapping()
            else:
                result = run_.long_cut()
            result.update(run_.settle())
            result["operator_alive"] = op.alive()
        finally:
            op.stop()
        return {
            "machine": machine(),
            "replicas_at_cut_site": args.replicas,
            "jobs": len(jobs),
            "waiting_jobs": len(waiting),
            "cut_s": args.cut_seconds,
            "grace_s": args.grace,
            **result,
        }
    finally:
        federation_down(name, workdir, bin_dir)


class Run:
    """The fleet of one run, all of it Running at site-a when the faults start."""

    def __init__(
        self,
        fed: Federation,
        fleet: FedFleet,
        near: str,
        jobs: list[str],
        *,
        waiting: set[str],
        args: argparse.Namespace,
    ) -> None:
        self.fed, self.fleet, self.near, self.args = fed, fleet, near, args
        self.jobs, self.waiting = jobs, waiting
        self.before = running_pods(fleet, "site-a")
        assert len(self.before) == args.replicas, f"{len(self.before)} pods at site-a, not all"
        self.lost: set[tuple[str, str]] = set()
        self.elsewhere_pods: set[tuple[str, str]] = set()

    def _observe(self) -> dict[str, int]:
        """Note pods lost at site-a and pods started elsewhere; Running pods per job at
        the other clusters."""
        self.lost |= self.before - running_pods(self.fleet, "site-a")
        elsewhere: dict[str, int] = {}
        for cluster in ("site-b", "site-c"):
            self.elsewhere_pods |= running_pods(self.fleet, cluster)
            for job, n in job_pods(self.fleet, cluster).items():
                elsewhere[job] = elsewhere.get(job, 0) + n
        return elsewhere

    def long_cut(self) -> dict[str, Any]:
        cut_at = time.monotonic()
        cut_link(self.fed, "site-a")
        marked: float | None = None
        replaced_at: dict[str, float] = {}
        waiting_replaced: set[str] = set()
        replacing = [j for j in self.jobs if j not in self.waiting]
        while time.monotonic() - cut_at < self.args.cut_seconds:
            elsewhere = self._observe()
            now = time.monotonic()
            if marked is None and site_reachable(self.fleet, self.near) == "False":
                marked = now
            for job in replacing:
                if job not in replaced_at and elsewhere.get(job, 0) >= 2:
                    replaced_at[job] = now
            waiting_replaced |= {j for j in self.waiting if elsewhere.get(j)}
            time.sleep(POLL_S)
        heal_link(self.fed, "site-a")
        mark = marked if marked is not None else float("nan")
        since_mark = [t - mark for t in replaced_at.values()]
        return {
            "detection_s": round(mark - cut_at, 1),
            "replaced_jobs": f"{len(replaced_at)}/{len(replacing)}",
            "replacement_after_mark_s": {
                "p50": _round(percentile(since_mark, 50)),
                "p99": _round(percentile(since_mark, 99)),
                "max": _round(max(since_mark, default=None)),
            },
            "pods_lost_at_cut_site": len(self.lost),
            "waiting_jobs_replaced": len(waiting_replaced),
        }

    def flapping(self) -> dict[str, Any]:
        started = time.monotonic()
        cuts = 0
        while time.monotonic() - started < self.args.cut_seconds:
            cut_link(self.fed, "site-a")
            cuts += 1
            self._sleep_observing(self.args.flap_period)
            heal_link(self.fed, "site-a")
            self._sleep_observing(self.args.flap_period)
        return {
            "flap_period_s": self.args.flap_period,
            "cuts": cuts,
            "pods_lost_at_cut_site": len(self.lost),
            "replacement_pods_created": len(self.elsewhere_pods),
        }

    def hub_outage(self) -> dict[str, Any]:
        everywhere = {c: running_pods(self.fleet, c) for c in SITES}
        works = {w["metadata"]["name"]: w["metadata"]["generation"] for w in self.fleet.works()}
        cluster_stop(self.fed.hub)
        lost = 0
        try:
            started = time.monotonic()
            while time.monotonic() - started < self.args.cut_seconds:
                now = {c: running_pods(self.fleet, c) for c in SITES}
                lost = max(lost, sum(len(everywhere[c] - now[c]) for c in SITES))
                time.sleep(5 * POLL_S)
        finally:
            cluster_start(self.fed.hub)
        back_at = time.monotonic()
        wait_for(
            "every site Available on the hub again",
            lambda: all(availability(self.fed.hub, c) == "True" for c in SITES),
            timeout=self.args.timeout,
        )
        available_s = time.monotonic() - back_at
        time.sleep(10)  # a few rounds of the operator on the hub that is back
        after = {w["metadata"]["name"]: w["metadata"]["generation"] for w in self.fleet.works()}
        return {
            "hub_outage_s": self.args.cut_seconds,
            "pods_lost_anywhere": lost,
            "works_rewritten": sum(1 for n, g in after.items() if works.get(n) != g),
            "sites_available_again_s": round(available_s, 1),
        }

    def _sleep_observing(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self._observe()
            time.sleep(POLL_S)

    def settle(self) -> dict[str, Any]:
        """After the last heal: until the hub reaches the site again (its Site says so),
        then until every job runs exactly its plan, nothing unknown."""
        healed_at = time.monotonic()
        wait_for(
            "the Site to say its cluster is reachable again",
            lambda: site_reachable(self.fleet, self.near) == "True",
            timeout=self.args.timeout,
            every=0.5,
        )
        reachable_s = time.monotonic() - healed_at

        def settled() -> bool:
            unknown = [
                (j.get("status") or {}).get("unknownReplicas") for j in self.fleet.jobs().values()
            ]
            return not any(unknown) and not self.fleet.exactly_as_planned()

        wait_for(
            "every job to run exactly its plan, nothing unknown",
            settled,
            timeout=self.args.timeout,
            every=0.5,
            state=self.fleet.exactly_as_planned,
        )
        short = [
            n
            for n, j in self.fleet.jobs().items()
            if (j.get("status") or {}).get("readyReplicas", 0) < j["spec"]["replicas"]
        ]
        return {
            "reachable_again_s": round(reachable_s, 1),
            "surplus_removed_s": round(time.monotonic() - healed_at, 1),
            "duplicates_or_mismatches_at_end": len(self.fleet.exactly_as_planned()),
            "jobs_short_at_end": len(short),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def table(result: dict[str, Any]) -> str:
    rows = [
        ("replicas at the cut site / jobs (waiting ones)",
         f"{result['replicas_at_cut_site']} / {result['jobs']} ({result['waiting_jobs']})"),
    ]  # fmt: skip
    if "hub_outage_s" in result:
        rows += [
            ("hub stopped for", f"{result['hub_outage_s']:.0f} s"),
            ("pods lost at any site", str(result["pods_lost_anywhere"])),
            ("ManifestWorks rewritten after it is back", str(result["works_rewritten"])),
            ("hub back -> every site Available", f"{result['sites_available_again_s']} s"),
        ]
    elif "flap_period_s" in result:
        rows += [
            ("link cut and healed every / for",
             f"{result['flap_period_s']:.0f} s / {result['cut_s']:.0f} s ({result['cuts']} cuts)"),
            ("failover grace", f"{result['grace_s']} s"),
            ("pods lost (restarted) at the site", str(result["pods_lost_at_cut_site"])),
            ("replacement pods created elsewhere", str(result["replacement_pods_created"])),
            ("operator alive at the end", str(result["operator_alive"])),
        ]  # fmt: skip
    else:
        repl = result["replacement_after_mark_s"]
        rows += [
            ("link cut for / failover grace", f"{result['cut_s']:.0f} s / {result['grace_s']} s"),
            ("detection: cut -> Site ClusterReachable False", f"{result['detection_s']} s"),
            ("replacements Running after the mark, p50 / p99 / max",
             f"{repl['p50']} / {repl['p99']} / {repl['max']} s ({result['replaced_jobs']} jobs)"),
            ("pods lost at the cut site while cut", str(result["pods_lost_at_cut_site"])),
            ("waiting jobs (replace: false) replaced", str(result["waiting_jobs_replaced"])),
        ]  # fmt: skip
    rows += [
        ("heal -> the Site says reachable again", f"{result['reachable_again_s']} s"),
        ("heal -> surplus gone, every job exactly its plan", f"{result['surplus_removed_s']} s"),
        ("duplicates / jobs short at the end",
         f"{result['duplicates_or_mismatches_at_end']} / {result['jobs_short_at_end']}"),
    ]  # fmt: skip
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="cango-bench-partition-") as tmp:
        result = run(args, Path(tmp))
    print(table(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
