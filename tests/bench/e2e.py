"""The end-to-end scale benchmark: ``make bench-e2e`` (``python -m tests.bench.e2e``).

For each size asked (``--sizes``; each one on a local cluster of its own, kwok GPU nodes and
the real kube-scheduler, started here and torn down at the end), with the operator as a
real subprocess (``run --standalone``):

1. time from applying the InferenceJobs to all their replicas Running, against applying the
   very Deployments the operator made (plain, no operator) on the same cluster: medians of
   ``--repeat`` runs each, alternating, and their ratio;
2. the operator's RSS (peak ``VmHWM`` and end ``VmRSS``) and CPU seconds over the run;
3. every API request the operator made per placed replica, from the API server's audit
   log (see :mod:`tests.bench.apirequests`), and its writes by its own counter;
4. reaction time from a Site going Offline to its replicas Running elsewhere (p50/p99);
5. a rollout under chaos: the operator SIGKILLed every few seconds (see
   :mod:`tests.bench.chaos`); duplicates and lost jobs must both be zero.

Writes ``.out/bench-e2e/results-<time>.json`` (rewritten after each size, so a size that
fails keeps those before it) and prints a table per size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config

from cango_operator.devcluster import cluster_down, cluster_up, ensure_bin_dir
from tests.bench import apirequests
from tests.bench.chaos import chaos_rollout
from tests.bench.e2e_table import table
from tests.e2e.harness import Fleet, OperatorProcess, wait_for

REPO = Path(__file__).absolute().parents[2]
OUT_DIR = REPO / ".out" / "bench-e2e"
PEERING_CRDS = REPO / "charts" / "cango-operator" / "crds" / "kopf.dev_peerings.yaml"
OWN_PEERING_CRDS = REPO / "tests" / "e2e" / "peering-crds.yaml"
REPLICAS_PER_JOB = 2
GPUS_PER_NODE = 8
POLL_S = 0.5
#: The API server's default Service range, 10.0.0.0/24, holds 254 Services: the first
#: thing that broke at 2,000 replicas (1,000 jobs, one Service each).
CLUSTER_ARGS = [
    "--extra-args",
    "kube-apiserver=service-cluster-ip-range=10.96.0.0/16",
    "--extra-args",
    "kube-apiserver=audit-log-maxsize=0",
    "--kube-audit-policy",
]
#: ``--preset`` names: the sizes of the issue are one flag away.
PRESETS = {"default": "200", "issue": "500,2000", "big": "2000", "quick": "40"}


def parse_size(text: str) -> tuple[int, int]:
    """``N`` (N GPU nodes, N replicas) or ``NODESxREPLICAS``."""
    nodes, _, replicas = text.strip().partition("x")
    try:
        size = (int(nodes), int(replicas or nodes))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r}: N or NODESxREPLICAS") from None
    if min(size) < 1:
        raise argparse.ArgumentTypeError(f"size {text!r}: at least one node and one replica")
    return size


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.e2e", description=__doc__)
    parser.add_argument(
        "--sizes",
        help="comma-separated sizes, each N (N GPU nodes and N replicas) or NODESxREPLICAS "
        "(default: the preset's)",
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="named sizes: " + ", ".join(f"{k}={v}" for k, v in PRESETS.items()),
    )
    parser.add_argument("--sites", type=int, default=40, help="sites the nodes are spread over")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each kind (median)")
    parser.add_argument(
        "--timeout", type=float, help="seconds one rollout may take (default: 600 or 0.6 s/replica)"
    )
    parser.add_argument("--chaos-every", type=float, default=5.0, help="seconds between SIGKILLs")
    parser.add_argument("--chaos-kills", type=int, default=8, help="most SIGKILLs in one rollout")
    parser.add_argument("--no-chaos", action="store_true", help="skip the rollout under chaos")
    parser.add_argument(
        "--chaos-only", action="store_true", help="only the rollout under chaos (no timings)"
    )
    parser.add_argument(
        "--operator-src",
        type=Path,
        help="run the operator from this source tree (PYTHONPATH), e.g. an export of an "
        "older commit, for before/after comparisons",
    )
    args = parser.parse_args(argv)
    args.size_list = [parse_size(t) for t in (args.sizes or PRESETS[args.preset]).split(",")]
    for field in ("sites", "repeat"):
        if getattr(args, field) < 1:
            parser.error(f"--{field} must be at least 1")
    for nodes, replicas in args.size_list:
        if nodes < args.sites:
            parser.error(f"size {nodes}x{replicas}: fewer nodes than --sites {args.sites}")
        if replicas > nodes * GPUS_PER_NODE // 2:
            parser.error(f"size {nodes}x{replicas}: replicas must fit in half the GPUs")
    return args


def load() -> float:
    """The 1-minute load average: the machine is shared, so every measure records it."""
    return round(os.getloadavg()[0], 2)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def operator_source(src: Path | None) -> dict[str, Any]:
    """Which operator code ran: a source tree given, or this checkout's commit."""
    where = src if src is not None else REPO
    commit = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(where), "status", "--porcelain", "--", "cango_operator"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    stamp = where / "SOURCE_COMMIT"
    if src is not None and stamp.exists():
        commit, dirty = stamp.read_text().strip(), ""
    return {"path": str(where), "commit": commit or None, "modified": bool(dirty)}


class ProcessUsage:
    """RSS and CPU of one process, read from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def memory_mib(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024  # kB -> MiB
        return values

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")


def running_count(fleet: Fleet) -> int:
    return len(fleet.running_pods())


def time_until_running(
    fleet: Fleet, replicas: int, apply: Callable[[], None], timeout: float
) -> float:
    """Seconds from the start of ``apply`` to ``replicas`` pods Running in the namespace."""
    started = time.monotonic()
    apply()
    wait_for(
        f"{replicas} replicas Running in {fleet.namespace}",
        lambda: running_count(fleet) >= replicas,
        timeout=timeout,
        every=POLL_S,
        state=lambda: f"{running_count(fleet)} Running",
    )
    return time.monotonic() - started


def use_namespace(fleet: Fleet, name: str) -> None:
    fleet.core.create_namespace({"metadata": {"name": name}})
    fleet.namespace = name


def drop_namespace(fleet: Fleet, timeout: float) -> None:
    """Delete the namespace and wait for its pods to be gone, so GPUs are free again."""
    name = fleet.namespace
    fleet.core.delete_namespace(name)
    wait_for(
        f"pods of {name} to be gone",
        lambda: not fleet.core.list_namespaced_pod(name).items,
        timeout=timeout,
        every=1.0,
    )


def job_sizes(replicas: int) -> dict[str, int]:
    """Job name -> replicas: jobs of REPLICAS_PER_JOB, the last one smaller if need be."""
    sizes = {}
    for i, start in enumerate(range(0, replicas, REPLICAS_PER_JOB)):
        sizes[f"job-{i:04d}"] = min(REPLICAS_PER_JOB, replicas - start)
    return sizes


def apply_jobs(fleet: Fleet, replicas: int) -> Callable[[], None]:
    def apply() -> None:
        for name, count in job_sizes(replicas).items():
            fleet.job(name, replicas=count)

    return apply


def plain_copies(deployments: list[Any], api: client.ApiClient) -> list[dict[str, Any]]:
    """The operator's Deployments as plain manifests: same pod template, no owner."""
    copies = []
    for dep in deployments:
        body = api.sanitize_for_serialization(dep)
        meta = body["metadata"]
        copies.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": meta["name"], "labels": meta.get("labels", {})},
                "spec": body["spec"],
            }
        )
    return copies


def apply_plain(fleet: Fleet, manifests: list[dict[str, Any]]) -> Callable[[], None]:
    def apply() -> None:
        for body in manifests:
            fleet.apps.create_namespaced_deployment(fleet.namespace, body)

    return apply


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def site_of(node: str) -> str:
    return node.rsplit("-n", 1)[0]


def offline_reaction(fleet: Fleet, replicas: int, timeout: float) -> dict[str, Any]:
    """Take the site with most replicas Offline; seconds until each moved replica runs."""
    before = fleet.running_pods()
    per_site: dict[str, int] = {}
    for pod in before:
        per_site[site_of(pod.spec.node_name)] = per_site.get(site_of(pod.spec.node_name), 0) + 1
    site, affected = max(per_site.items(), key=lambda kv: kv[1])
    seen = {p.metadata.name for p in before}
    started = time.monotonic()
    fleet.patch_status("sites", site, {"phase": "Offline"})
    reactions: list[float] = []
    deadline = started + timeout
    while time.monotonic() < deadline:
        now_running = fleet.running_pods()
        now = time.monotonic() - started
        for pod in now_running:
            if pod.metadata.name not in seen and site_of(pod.spec.node_name) != site:
                seen.add(pod.metadata.name)
                reactions.append(now)
        elsewhere = [p for p in now_running if site_of(p.spec.node_name) != site]
        if len(reactions) >= affected and len(elsewhere) >= replicas:
            break
        time.sleep(POLL_S / 2)
    else:
        raise AssertionError(f"{len(reactions)}/{affected} replicas of {site} moved in time")
    return {
        "site": site,
        "replicas_moved": affected,
        "p50_s": round(percentile(reactions, 50), 2),
        "p99_s": round(percentile(reactions, 99), 2),
        "max_s": round(max(reactions), 2),
    }


def build_fleet(fleet: Fleet, nodes: int, sites: int) -> None:
    for s in range(sites):
        site = fleet.site(f"s{s:03d}", latency_ms=5 + (s * 80) // sites)
        count = nodes // sites + (1 if s < nodes % sites else 0)
        fleet.nodes(site, count, gpus=8)


def run_size(args: argparse.Namespace, nodes: int, replicas: int) -> dict[str, Any]:
    """One size on a cluster of its own: everything measured, the cluster torn down."""
    bin_dir = ensure_bin_dir()
    name = f"cango-bench-{os.getpid()}-{secrets.token_hex(2)}"
    workdir = Path(tempfile.mkdtemp(prefix="cango-bench-e2e-"))
    timeout = args.timeout or max(600.0, 0.6 * replicas)
    results: dict[str, Any] = {
        "size": {"nodes": nodes, "sites": args.sites, "replicas": replicas},
        "repeat": args.repeat,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    policy = apirequests.write_policy(workdir)
    cluster = cluster_up(name, workdir, bin_dir, extra_args=[*CLUSTER_ARGS, str(policy)])
    op: OperatorProcess | None = None
    try:
        peering = PEERING_CRDS if PEERING_CRDS.exists() else OWN_PEERING_CRDS
        cluster.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(peering))
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all", timeout=90
        )
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
        api.user_agent = apirequests.BENCH_USER_AGENT
        fleet = Fleet(cluster, api)
        setup = time.monotonic()
        build_fleet(fleet, nodes, args.sites)
        results["fleet_setup_s"] = round(time.monotonic() - setup, 1)
        src = args.operator_src.absolute() if args.operator_src is not None else None
        op = OperatorProcess(
            cluster,
            workdir,
            "bench",
            "--namespace",
            f"{fleet.prefix}-op-*",
            "--standalone",
            "--debounce",
            "0.3",
            "--node-stale-seconds",
            "86400",
            env={"PYTHONPATH": str(src)} if src is not None else None,
            cwd=src,
        )
        started = time.monotonic()
        op.start().wait_ready(timeout=300)
        results["operator_start_to_ready_s"] = round(time.monotonic() - started, 1)
        if args.chaos_only:
            windows: dict[str, tuple[datetime, datetime]] = {}
            results["chaos"] = measure_chaos(
                fleet, op, args, replicas=replicas, timeout=timeout, windows=windows
            )
            results["windows"] = windows
        else:
            results.update(
                measure(fleet, op, api, args, nodes=nodes, replicas=replicas, timeout=timeout)
            )
        results["requests"] = _requests(workdir, name, results.pop("windows"), replicas, args)
    except Exception as exc:  # recorded with the operator's last words; next size runs
        results["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  failed: {results['error']}", flush=True)
        if op is not None:
            results["operator_log_tail"] = op.log_tail(30)
    finally:
        results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        if op is not None:
            op.stop()
        cluster_down(name, workdir, bin_dir)
    return results


def _requests(
    workdir: Path,
    cluster: str,
    windows: dict[str, tuple[datetime, datetime]],
    replicas: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    logs = apirequests.audit_logs(workdir, cluster)
    counts = apirequests.count_requests(logs, windows)
    placed = replicas * args.repeat
    out: dict[str, Any] = {name: c.as_dict() for name, c in counts.items()}
    out["audit_files"] = [f"{p.name} ({p.stat().st_size // 2**20} MiB)" for p in logs]
    if "operator_runs" in counts:
        out["per_placed_replica"] = round(counts["operator_runs"].total / placed, 2)
    return out


def measure(
    fleet: Fleet,
    op: OperatorProcess,
    api: client.ApiClient,
    args: argparse.Namespace,
    *,
    nodes: int,
    replicas: int,
    timeout: float,
) -> dict[str, Any]:
    assert op.proc is not None
    usage = ProcessUsage(op.proc.pid)
    operator_s: list[float] = []
    plain_s: list[float] = []
    loads: list[float] = []
    windows: dict[str, tuple[datetime, datetime]] = {}
    writes_before = op.metric("cango_api_writes_total")
    rss_ready = usage.memory_mib()["VmRSS"]  # ready answers before kopf has listed anything
    op_started = datetime.now(UTC)
    op_busy = 0.0
    for rep in range(args.repeat):
        use_namespace(fleet, f"{fleet.prefix}-op-{rep}")
        loads.append(load())
        began = datetime.now(UTC)
        took = time_until_running(fleet, replicas, apply_jobs(fleet, replicas), timeout)
        op_busy += (datetime.now(UTC) - began).total_seconds()
        operator_s.append(took)
        manifests = plain_copies(fleet.deployments(), api)
        print(f"  run {rep + 1}: operator {took:.1f}s (load {loads[-1]})", end="", flush=True)
        drop_namespace(fleet, timeout)
        use_namespace(fleet, f"{fleet.prefix}-plain-{rep}")
        loads.append(load())
        took = time_until_running(fleet, replicas, apply_plain(fleet, manifests), timeout)
        plain_s.append(took)
        print(f", plain Deployments {took:.1f}s (load {loads[-1]})", flush=True)
        drop_namespace(fleet, timeout)
    # Requests while the operator placed (the plain runs between count too: the operator
    # still watches the fleet then, as a real one would).
    windows["operator_runs"] = (op_started, datetime.now(UTC))
    writes = op.metric("cango_api_writes_total") - writes_before
    # One more operator run, not timed, whose replicas a site outage then moves.
    use_namespace(fleet, f"{fleet.prefix}-op-outage")
    time_until_running(fleet, replicas, apply_jobs(fleet, replicas), timeout)
    outage_load = load()
    began = datetime.now(UTC)
    reaction = offline_reaction(fleet, replicas, timeout)
    windows["outage"] = (began, datetime.now(UTC))
    reaction["load"] = outage_load
    print(f"  site outage: {reaction}", flush=True)
    memory, cpu = usage.memory_mib(), usage.cpu_seconds()
    rounds = op.metric("cango_placement_rounds_total")
    round_sum = op.metric("cango_round_duration_seconds_sum")
    plan_sum = op.metric("cango_plan_duration_seconds_sum")
    events_skipped = op.metric("cango_watch_events_total", 'outcome="skip"')
    events_planned = op.metric("cango_watch_events_total", 'outcome="plan"')
    events_by_resource = {
        f"{plural} {outcome}": int(
            op.metric("cango_watch_events_total", f'resource="{plural}",outcome="{outcome}"')
        )
        for plural in ("inferencejobs", "sites", "gpunodes", "nodes", "deployments", "services")
        for outcome in ("plan", "skip")
    }
    placed = replicas * args.repeat
    op_median, plain_median = statistics.median(operator_s), statistics.median(plain_s)
    results: dict[str, Any] = {
        "to_running": {
            "operator_s": [round(x, 2) for x in operator_s],
            "plain_deployments_s": [round(x, 2) for x in plain_s],
            "operator_median_s": round(op_median, 2),
            "plain_median_s": round(plain_median, 2),
            "ratio": round(op_median / plain_median, 2),
            "loadavg_at_each_run": loads,
        },
        "operator": {
            "rss_peak_mib": round(memory["VmHWM"], 1),
            "rss_end_mib": round(memory["VmRSS"], 1),
            "rss_ready_mib": round(rss_ready, 1),
            "rss_peak_mib_per_1000_nodes": round(memory["VmHWM"] * 1000 / nodes, 1),
            "cpu_s": round(cpu, 1),
            "rounds": int(rounds),
            "round_seconds_total": round(round_sum, 1),
            "plan_seconds_total": round(plan_sum, 2),
            "watch_events_planned": int(events_planned),
            "watch_events_skipped": int(events_skipped),
            "watch_events_by_resource": events_by_resource,
            "api_writes_per_placed_replica": round(writes / placed, 2),
        },
        "site_offline": reaction,
        "windows": windows,
    }
    drop_namespace(fleet, timeout)
    fleet.patch_status("sites", reaction["site"], {"phase": "Ready"})
    if not args.no_chaos:
        results["chaos"] = measure_chaos(
            fleet, op, args, replicas=replicas, timeout=timeout, windows=windows
        )
    return results


def measure_chaos(
    fleet: Fleet,
    op: OperatorProcess,
    args: argparse.Namespace,
    *,
    replicas: int,
    timeout: float,
    windows: dict[str, tuple[datetime, datetime]],
) -> dict[str, Any]:
    use_namespace(fleet, f"{fleet.prefix}-op-chaos")
    chaos_load = load()
    began = datetime.now(UTC)
    chaos = chaos_rollout(
        fleet,
        op,
        job_sizes(replicas),
        apply_jobs(fleet, replicas),
        every=args.chaos_every,
        max_kills=args.chaos_kills,
        timeout=timeout,
        rng=random.Random(7),
    )
    windows["chaos"] = (began, datetime.now(UTC))
    chaos["load"] = chaos_load
    print(f"  chaos: {chaos}", flush=True)
    return chaos


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(["python", "-m", "tests.bench.e2e", *sys.argv[1:]]),
        "operator_source": operator_source(args.operator_src),
        "sizes": [],
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"results-{time.strftime('%Y%m%dT%H%M%S')}.json"
    failed = False
    for nodes, replicas in args.size_list:
        print(f"size {nodes} GPU nodes, {replicas} replicas:", flush=True)
        outcome = run_size(args, nodes, replicas)
        failed = failed or "error" in outcome
        results["sizes"].append(outcome)
        results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
