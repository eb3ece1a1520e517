"""The printed summary of ``python -m tests.bench.e2e``: one block per size."""

from __future__ import annotations

from typing import Any


def _row(label: str, value: str) -> str:
    return f"{label:<52} {value:>16}"


def size_block(r: dict[str, Any]) -> list[str]:
    size = r["size"]
    head = f"{size['nodes']} GPU nodes, {size.get('sites', '?')} sites, {size['replicas']} replicas"
    if "error" in r:
        return [head, f"  FAILED: {r['error']}"]
    if "to_running" not in r:  # --chaos-only
        return [head, *_chaos_rows(r["chaos"])]
    run, op, off, req = r["to_running"], r["operator"], r["site_offline"], r["requests"]
    rows = [
        f"{head}, {r['repeat']} runs each (fleet set up in {r['fleet_setup_s']} s,"
        f" operator ready in {r['operator_start_to_ready_s']} s),"
        f" load average {r['loadavg_start'][0]} -> {r['loadavg_end'][0]}",
        _row("apply -> all Running, operator (median)", f"{run['operator_median_s']:.2f} s"),
        _row("apply -> all Running, plain Deployments (median)", f"{run['plain_median_s']:.2f} s"),
        _row("operator / plain", f"{run['ratio']:.2f}x"),
        _row(
            "operator RSS at start (nothing listed) / peak / end",
            f"{op['rss_ready_mib']:.0f} / {op['rss_peak_mib']:.0f} / {op['rss_end_mib']:.0f} MiB",
        ),
        _row("operator CPU over the run", f"{op['cpu_s']:.1f} s"),
        _row(
            "planning rounds (s in rounds, s planning)",
            f"{op['rounds']} ({op['round_seconds_total']}, {op['plan_seconds_total']})",
        ),
        _row("API requests per placed replica (audit log)", f"{req['per_placed_replica']:.2f}"),
        _row(
            "API writes per placed replica (own counter)",
            f"{op['api_writes_per_placed_replica']:.2f}",
        ),
        _row(
            "site Offline -> Running elsewhere p50 / p99",
            f"{off['p50_s']:.2f} / {off['p99_s']:.2f} s",
        ),
        f"  ({off['replicas_moved']} replicas moved off {off['site']})",
    ]
    chaos = r.get("chaos")
    if chaos is not None:
        rows += _chaos_rows(chaos)
    return rows


def _chaos_rows(chaos: dict[str, Any]) -> list[str]:
    return [
        _row(
            "chaos: SIGKILLs / apply -> all Running",
            f"{chaos['kills']} / {chaos['to_running_s']:.1f} s",
        ),
        _row(
            "chaos: duplicate pods / Deployments / lost jobs",
            f"{chaos['duplicate_pods']} / {chaos['duplicate_deployments']} / {chaos['lost_jobs']}",
        ),
        _row("chaos: most surplus live pods at any poll", str(chaos["max_surplus_pods_seen"])),
    ]


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"machine: {m['cpu']}, nproc {m['nproc']}, {m['memory_gib']} GiB,"
        f" load average at start {m['loadavg_start']}",
        f"command: {results['command']}",
        f"operator: {results['operator_source']}",
    ]
    for r in results["sizes"]:
        lines += ["", *size_block(r)]
    return "\n".join(lines)
