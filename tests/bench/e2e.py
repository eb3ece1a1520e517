"""The end-to-end scale benchmark: ``make bench-e2e`` (``python -m tests.bench.e2e``).

On one local cluster of its own (kwok GPU nodes, the real kube-scheduler), started here and
torn down at the end, with the operator as a real subprocess (``run --standalone``):

1. time from applying the InferenceJobs to all their replicas Running, against applying the
   very Deployments the operator made (plain, no operator) on the same cluster: medians of
   ``--repeat`` runs each, alternating, and their ratio;
2. the operator's RSS (peak ``VmHWM`` and end ``VmRSS``) and CPU seconds over the run;
3. API writes per placed replica (the operator counts writes only: it has no counter of
   all API requests, so requests per replica are not reported);
4. reaction time from a Site going Offline to its replicas Running elsewhere (p50/p99).

Writes ``.out/bench-e2e/results-<time>.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config

from cango_operator.devcluster import cluster_down, cluster_up, ensure_bin_dir
from tests.e2e.harness import Fleet, OperatorProcess, wait_for

REPO = Path(__file__).absolute().parents[2]
OUT_DIR = REPO / ".out" / "bench-e2e"
PEERING_CRDS = REPO / "charts" / "cango-operator" / "crds" / "kopf.dev_peerings.yaml"
OWN_PEERING_CRDS = REPO / "tests" / "e2e" / "peering-crds.yaml"
REPLICAS_PER_JOB = 2
POLL_S = 0.5


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.e2e", description=__doc__)
    parser.add_argument("--nodes", type=int, default=200, help="kwok GPU nodes (8 GPUs each)")
    parser.add_argument("--sites", type=int, default=40, help="sites the nodes are spread over")
    parser.add_argument("--replicas", type=int, default=200, help="replicas per run (1 GPU each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (median)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a run may take")
    args = parser.parse_args(argv)
    for field in ("nodes", "sites", "replicas", "repeat"):
        if getattr(args, field) < 1:
            parser.error(f"--{field} must be at least 1")
    if args.nodes < args.sites:
        parser.error("--nodes must be at least --sites (one node per site or more)")
    if args.replicas > args.nodes * 8 // 2:
        parser.error("--replicas must fit in half the GPUs (--nodes x 8 / 2)")
    return args


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


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


def apply_jobs(fleet: Fleet, replicas: int) -> Callable[[], None]:
    def apply() -> None:
        left = replicas
        i = 0
        while left > 0:
            fleet.job(f"job-{i:04d}", replicas=min(REPLICAS_PER_JOB, left))
            left -= REPLICAS_PER_JOB
            i += 1

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


def run(args: argparse.Namespace) -> dict[str, Any]:
    bin_dir = ensure_bin_dir()
    name = f"cango-bench-{os.getpid()}-{secrets.token_hex(2)}"
    workdir = Path(tempfile.mkdtemp(prefix="cango-bench-e2e-"))
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(["python", "-m", "tests.bench.e2e", *sys.argv[1:]]),
        "size": {k: getattr(args, k) for k in ("nodes", "sites", "replicas", "repeat")},
    }
    cluster = cluster_up(name, workdir, bin_dir)
    op: OperatorProcess | None = None
    try:
        peering = PEERING_CRDS if PEERING_CRDS.exists() else OWN_PEERING_CRDS
        cluster.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(peering))
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all", timeout=90
        )
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
        fleet = Fleet(cluster, api)
        setup = time.monotonic()
        build_fleet(fleet, args.nodes, args.sites)
        results["fleet_setup_s"] = round(time.monotonic() - setup, 1)
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
        ).start()
        op.wait_ready(timeout=120)
        assert op.proc is not None
        usage = ProcessUsage(op.proc.pid)
        results.update(measure(fleet, op, usage, api, args))
    finally:
        if op is not None:
            op.stop()
        cluster_down(name, workdir, bin_dir)
    return results


def measure(
    fleet: Fleet,
    op: OperatorProcess,
    usage: ProcessUsage,
    api: client.ApiClient,
    args: argparse.Namespace,
) -> dict[str, Any]:
    operator_s: list[float] = []
    plain_s: list[float] = []
    writes_before = op.metric("cango_api_writes_total")
    rss_ready = usage.memory_mib()["VmRSS"]
    for rep in range(args.repeat):
        use_namespace(fleet, f"{fleet.prefix}-op-{rep}")
        jobs = apply_jobs(fleet, args.replicas)
        took = time_until_running(fleet, args.replicas, jobs, args.timeout)
        operator_s.append(took)
        manifests = plain_copies(fleet.deployments(), api)
        print(f"run {rep + 1}: operator {took:.1f}s", end="", flush=True)
        drop_namespace(fleet, args.timeout)
        use_namespace(fleet, f"{fleet.prefix}-plain-{rep}")
        took = time_until_running(fleet, args.replicas, apply_plain(fleet, manifests), args.timeout)
        plain_s.append(took)
        print(f", plain Deployments {took:.1f}s", flush=True)
        drop_namespace(fleet, args.timeout)
    writes = op.metric("cango_api_writes_total") - writes_before
    # One more operator run, not timed, whose replicas a site outage then moves.
    use_namespace(fleet, f"{fleet.prefix}-op-outage")
    time_until_running(fleet, args.replicas, apply_jobs(fleet, args.replicas), args.timeout)
    reaction = offline_reaction(fleet, args.replicas, args.timeout)
    print(f"site outage: {reaction}", flush=True)
    memory, cpu = usage.memory_mib(), usage.cpu_seconds()
    rounds = op.metric("cango_placement_rounds_total")
    round_sum = op.metric("cango_round_duration_seconds_sum")
    plan_sum = op.metric("cango_plan_duration_seconds_sum")
    placed = args.replicas * args.repeat
    op_median, plain_median = statistics.median(operator_s), statistics.median(plain_s)
    return {
        "to_running": {
            "operator_s": [round(x, 2) for x in operator_s],
            "plain_deployments_s": [round(x, 2) for x in plain_s],
            "operator_median_s": round(op_median, 2),
            "plain_median_s": round(plain_median, 2),
            "ratio": round(op_median / plain_median, 2),
        },
        "operator": {
            "rss_peak_mib": round(memory["VmHWM"], 1),
            "rss_end_mib": round(memory["VmRSS"], 1),
            "rss_ready_mib": round(rss_ready, 1),
            "rss_peak_mib_per_1000_nodes": round(memory["VmHWM"] * 1000 / args.nodes, 1),
            "cpu_s": round(cpu, 1),
            "rounds": int(rounds),
            "round_seconds_total": round(round_sum, 1),
            "plan_seconds_total": round(plan_sum, 2),
            "api_writes_per_placed_replica": round(writes / placed, 2),
            "api_requests_per_placed_replica": None,
        },
        "site_offline": reaction,
    }


def table(results: dict[str, Any]) -> str:
    m, size, run_, op = (
        results["machine"],
        results["size"],
        results["to_running"],
        results["operator"],
    )
    off = results["site_offline"]
    rows = [
        f"machine: {m['cpu']}, nproc {m['nproc']}, load average at start {m['loadavg_start']}",
        f"command: {results['command']}",
        f"size: {size['nodes']} GPU nodes, {size['sites']} sites, {size['replicas']} replicas,"
        f" {size['repeat']} runs each (fleet set up in {results['fleet_setup_s']} s)",
        "",
        f"{'measure':<48} {'value':>12}",
        f"{'apply -> all Running, operator (median)':<48} {run_['operator_median_s']:>10.2f} s",
        f"{'apply -> all Running, plain Deployments (median)':<48} "
        f"{run_['plain_median_s']:>10.2f} s",
        f"{'operator / plain':<48} {run_['ratio']:>11.2f}x",
        f"{'operator RSS peak':<48} {op['rss_peak_mib']:>8.1f} MiB",
        f"{'operator RSS end':<48} {op['rss_end_mib']:>8.1f} MiB",
        f"{'operator RSS when ready (fleet listed, no jobs)':<48} {op['rss_ready_mib']:>8.1f} MiB",
        f"{'operator RSS peak per 1,000 nodes':<48} {op['rss_peak_mib_per_1000_nodes']:>8.1f} MiB",
        f"{'operator CPU over the run':<48} {op['cpu_s']:>10.1f} s",
        f"{'planning rounds (time in rounds)':<48} "
        f"{op['rounds']:>6} ({op['round_seconds_total']} s)",
        f"{'  of which planning (the engine)':<48} {op['plan_seconds_total']:>10.2f} s",
        f"{'API writes per placed replica':<48} {op['api_writes_per_placed_replica']:>12.2f}",
        "API requests per placed replica: not measured (the operator counts writes only)",
        f"{'site Offline -> replicas Running elsewhere p50':<48} {off['p50_s']:>10.2f} s",
        f"{'site Offline -> replicas Running elsewhere p99':<48} {off['p99_s']:>10.2f} s",
        f"  ({off['replicas_moved']} replicas moved off {off['site']})",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = run(args)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"results-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
