"""The federated scale benchmark: ``make bench-federation`` (``python -m tests.bench.federation``).

Side by side in one run, on this machine: the same replicas (jobs of 2, one GPU each) on
the same kwok GPU nodes, placed by the operator

1. **federated**: a hub (the operator with ``--federation``, OCM's registration controller)
   and ``--sites`` site clusters (kube-scheduler, kwok and OCM's klusterlet agent each), one
   Site per cluster, the nodes split evenly;
2. **one cluster**: the same Sites and nodes in a single cluster, the operator as ever.

For each: seconds from applying the InferenceJobs to every replica Running (pods, at the
sites), each site cluster's own time and pods/s, the operator's API requests per placed
replica on its API server (the hub's audit log; see :mod:`tests.bench.apirequests`), the
operator's RSS and CPU, and the OCM agents' RSS. Writes
``.out/bench-federation/results-<time>.json`` and prints a table.

All site clusters share this machine's cores: the federated time is an upper bound of
what separate site machines would show, where each cluster's pods/s adds up.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import config

from cango_operator.devcluster import cluster_down, cluster_up, ensure_bin_dir
from cango_operator.devcluster.federation import agent_pids, federation_down, federation_up
from tests.bench import apirequests
from tests.bench.e2e import CLUSTER_ARGS, PEERING_CRDS, ProcessUsage, job_sizes, machine
from tests.e2e.harness import Fleet, OperatorProcess
from tests.federation.harness import FedFleet

REPO = Path(__file__).absolute().parents[2]
OUT_DIR = REPO / ".out" / "bench-federation"
GPUS_PER_NODE = 8
#: Room beyond the replicas' GPUs, so that placement is not a packing puzzle.
HEADROOM = 1.25


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench.federation", description=__doc__)
    p.add_argument("--replicas", type=int, default=2000, help="replicas (default: %(default)s)")
    p.add_argument("--sites", type=int, default=4, help="site clusters (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=1800, help="per measure, s")
    args = p.parse_args(argv)
    if args.replicas < 2 or not 1 <= args.sites <= 8:
        p.error("--replicas must be >= 2 and --sites 1..8")
    return args


def nodes_per_site(replicas: int, sites: int) -> int:
    return max(1, round(replicas * HEADROOM / GPUS_PER_NODE / sites + 0.499))


def running(counts: Callable[[], dict[str, int]]) -> int:
    return sum(counts().values())


def timed_rollout(
    apply: Callable[[], None], counts: Callable[[], dict[str, int]], replicas: int, timeout: float
) -> dict[str, Any]:
    """Apply, then poll Running pods per cluster until all ``replicas`` run: total seconds
    and each cluster's seconds to its last pod and pods/s."""
    started = time.monotonic()
    apply()
    applied = time.monotonic() - started
    done_at: dict[str, float] = {}  # when each cluster's count last grew
    last: dict[str, int] = {}
    deadline = started + timeout
    while True:
        now_counts = counts()
        now = time.monotonic() - started
        for cluster, n in now_counts.items():
            if n > last.get(cluster, 0):
                done_at[cluster] = now
        last = now_counts
        if sum(last.values()) >= replicas:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {last} Running of {replicas}")
        time.sleep(1.0)
    total = time.monotonic() - started
    per_cluster = {
        c: {
            "pods": n,
            "s": round(done_at.get(c, total), 1),
            "pods_per_s": round(n / max(done_at.get(c, total), 0.1), 1),
        }
        for c, n in last.items()
    }
    return {"apply_s": round(applied, 1), "all_running_s": round(total, 1), "clusters": per_cluster}


def window_requests(
    workdir: Path, cluster: str, start: datetime, end: datetime, placed: int
) -> dict[str, Any]:
    counts = apirequests.count_requests(
        apirequests.audit_logs(workdir, cluster), {"rollout": (start, end)}
    )["rollout"]
    return {**counts.as_dict(), "per_placed_replica": round(counts.total / placed, 2)}


OPERATOR_ARGS = ("--standalone", "--debounce", "0.3", "--node-stale-seconds", "86400")


def measure_rollout(
    op: OperatorProcess,
    create_job: Callable[[str, int], object],
    counts: Callable[[], dict[str, int]],
    audit: tuple[Path, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Start the operator, apply the jobs, time them to all Running; the operator's
    requests in that window (the audit log of cluster ``audit[1]`` under ``audit[0]``),
    its RSS and CPU."""
    op.start().wait_ready(timeout=300)
    assert op.proc is not None
    usage = ProcessUsage(op.proc.pid)
    cpu0 = usage.cpu_seconds()

    def apply() -> None:
        for job, count in job_sizes(args.replicas).items():
            create_job(job, count)

    start = datetime.now(UTC)
    rollout = timed_rollout(apply, counts, args.replicas, args.timeout)
    end = datetime.now(UTC)
    time.sleep(2)  # the audit log's last lines
    return {
        **rollout,
        "requests": window_requests(*audit, start, end, args.replicas),
        "operator_rss_mib": usage.memory_mib(),
        "operator_cpu_s": round(usage.cpu_seconds() - cpu0, 1),
    }


def run_federated(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    bin_dir = ensure_bin_dir()
    name = f"cango-benchfed-{secrets.token_hex(2)}"
    policy = apirequests.write_policy(workdir)
    site_names = [f"site-{i + 1}" for i in range(args.sites)]
    fed = federation_up(
        name,
        site_names,
        workdir,
        bin_dir,
        # The hub holds no Services; kwokctl v0.8.0 panics on --extra-args for a second
        # component after two for the first, so the hub gets the audit policy alone.
        hub_args=["--kube-audit-policy", str(policy)],
        site_args=CLUSTER_ARGS[:2],
    )
    op: OperatorProcess | None = None
    try:
        fleet = FedFleet(fed)
        fleet.hub_api.user_agent = apirequests.BENCH_USER_AGENT  # not counted as the operator
        setup = time.monotonic()
        per_site = nodes_per_site(args.replicas, args.sites)
        for i, cluster in enumerate(site_names):
            fleet.nodes(fleet.site(f"s{i}", cluster, latency_ms=5 + 10 * i), per_site)
        setup_s = round(time.monotonic() - setup, 1)
        op = OperatorProcess(fed.hub, workdir, "federated", "--federation", *OPERATOR_ARGS)
        measured = measure_rollout(
            op,
            lambda job, count: fleet.job(job, replicas=count),
            lambda: {
                c: sum(1 for p in fleet.pods(c) if p.status.phase == "Running")
                for c in fleet.site_apis
            },
            (workdir, fed.hub.name),
            args,
        )
        agents = {
            label: round(ProcessUsage(pid).memory_mib().get("VmRSS", 0.0), 1)
            for label, pid in agent_pids(fed).items()
        }
        return {
            "nodes": per_site * args.sites,
            "fleet_setup_s": setup_s,
            **measured,
            "ocm_rss_mib": agents,
        }
    finally:
        if op is not None:
            op.stop()
        federation_down(name, workdir, bin_dir)


def run_single(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    bin_dir = ensure_bin_dir()
    name = f"cango-benchone-{secrets.token_hex(2)}"
    policy = apirequests.write_policy(workdir)
    cluster = cluster_up(name, workdir, bin_dir, extra_args=[*CLUSTER_ARGS, str(policy)])
    op: OperatorProcess | None = None
    try:
        cluster.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(PEERING_CRDS))
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
        api.user_agent = apirequests.BENCH_USER_AGENT
        fleet = Fleet(cluster, api)
        per_site = nodes_per_site(args.replicas, args.sites)
        for i in range(args.sites):
            fleet.nodes(fleet.site(f"s{i}", latency_ms=5 + 10 * i), per_site)
        op = OperatorProcess(
            cluster, workdir, "single", "--namespace", fleet.namespace, *OPERATOR_ARGS
        )
        measured = measure_rollout(
            op,
            lambda job, count: fleet.job(job, replicas=count),
            lambda: {cluster.name: len(fleet.running_pods())},
            (workdir, name),
            args,
        )
        return {"nodes": per_site * args.sites, **measured}
    finally:
        if op is not None:
            op.stop()
        cluster_down(name, workdir, bin_dir)


def table(results: dict[str, Any]) -> str:
    fed, one = results["federated"], results["single"]
    ratio = fed["all_running_s"] / max(one["all_running_s"], 0.1)
    lines = [
        f"{results['replicas']} replicas, {fed['nodes']} nodes, {results['sites']} sites",
        f"{'':44}{'federated':>16}{'one cluster':>16}",
        f"{'apply -> all Running (s)':44}{fed['all_running_s']:>16}{one['all_running_s']:>16}",
        f"{'  ratio federated / one cluster':44}{ratio:>16.2f}",
        f"{'operator API requests per placed replica':44}"
        f"{fed['requests']['per_placed_replica']:>16}"
        f"{one['requests']['per_placed_replica']:>16}",
        f"{'operator RSS peak (MiB)':44}{fed['operator_rss_mib'].get('VmHWM', 0):>16.0f}"
        f"{one['operator_rss_mib'].get('VmHWM', 0):>16.0f}",
        f"{'operator CPU (s)':44}{fed['operator_cpu_s']:>16}{one['operator_cpu_s']:>16}",
    ]
    for cluster, c in sorted(fed["clusters"].items()):
        lines.append(f"  {cluster}: {c['pods']} pods Running by {c['s']} s ({c['pods_per_s']}/s)")
    lines.append(f"  OCM RSS (MiB): {fed['ocm_rss_mib']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"results-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    results: dict[str, Any] = {
        "command": "python -m tests.bench.federation " + " ".join(argv or sys.argv[1:]),
        "machine": machine(),
        "replicas": args.replicas,
        "sites": args.sites,
    }
    with tempfile.TemporaryDirectory(prefix="cango-bench-fed-") as tmp:
        workdir = Path(tmp)
        (workdir / "fed").mkdir()
        (workdir / "one").mkdir()
        print("federated ...", flush=True)
        results["federated"] = run_federated(args, workdir / "fed")
        out.write_text(json.dumps(results, indent=2))
        print("one cluster ...", flush=True)
        results["single"] = run_single(args, workdir / "one")
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
