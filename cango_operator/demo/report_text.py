"""The report as text: both worlds side by side, one line per measure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cango_operator.demo.report import (
    FEDERATED_WORLD_TITLES,
    WORLD_TITLES,
    EventImpact,
    Report,
    WorldReport,
)
from cango_operator.demo.report_mining import Revenue
from cango_operator.demo.scenario import format_time_of_day

LABEL_WIDTH = 48
COLUMN_WIDTH = 31
MAX_METRICS = 16
SHOWN_OVERRUNS = 3


def _num(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def _money(usd: float) -> str:
    """Cents while small, whole dollars beyond."""
    return _num(usd, 2 if usd < 100 else 0)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _row(label: str, cells: Sequence[str]) -> str:
    return f"{label:<{LABEL_WIDTH}}" + "".join(f"{c:<{COLUMN_WIDTH}}" for c in cells).rstrip()


def _when(impact: EventImpact) -> str:
    start = format_time_of_day(impact.sim_start)
    return f"{start}-{format_time_of_day(impact.sim_end)}" if impact.sim_end else start


def _impact_cell(impact: EventImpact) -> str:
    if impact.affected_replicas == 0:
        return "no replicas there"
    moved = f"{impact.moved_replicas} of {impact.affected_replicas} moved"
    if impact.disrupted_jobs == 0:
        return f"{moved}, no outage"
    if impact.recovered_after_s is None:
        return f"{moved}, not back"
    if impact.disrupted_jobs == 1 or impact.median_recovery_s is None:
        return f"{moved}, back in {impact.recovered_after_s:.0f} s"
    return f"{moved}, back {impact.median_recovery_s:.0f}/{impact.recovered_after_s:.0f} s"


def render_report(report: Report) -> str:
    worlds = list(report.worlds.values())

    def row(label: str, cell: Callable[[WorldReport], str]) -> str:
        return _row(label, [cell(w) for w in worlds])

    gap = report.sample_gap_s
    titles = FEDERATED_WORLD_TITLES if report.clusters else WORLD_TITLES
    where = (
        f"a hub and {len(report.clusters)} site clusters ({', '.join(report.clusters)})"
        if report.clusters
        else "one cluster"
    )
    lines = [
        f"== Report: scenario {report.scenario}: {report.sim_hours:.1f} simulated hours in "
        f"{_duration(report.real_seconds)} at {report.speed:g}x ==",
        f"on {where}: {report.samples} samples, every {_num(gap.median, 1)} s "
        f"(longest gap {_num(gap.max, 1)} s)",
        "",
        _row("", [titles.get(w.world, w.world) for w in worlds]),
        row(
            "jobs submitted / placed / all replicas Ready",
            lambda w: f"{w.jobs_submitted} / {w.jobs_placed} / {w.jobs_fully_running}",
        ),
        row(
            "time to Running, median / p95 / max (real s)",
            lambda w: " / ".join(
                _num(v)
                for v in (
                    w.time_to_running_s.median,
                    w.time_to_running_s.p95,
                    w.time_to_running_s.max,
                )
            ),
        ),
        row("replica-time served / requested", lambda w: _num(w.availability_pct, 1, " %")),
        row("latency-SLO attainment", lambda w: _num(w.slo_attainment_pct, 1, " %")),
        row("power-budget overruns (site-samples)", lambda w: str(w.overruns.site_samples)),
        row(
            "  overrun site-hours / worst excess kW",
            lambda w: f"{w.overruns.site_hours:.1f} / {w.overruns.max_kw:.1f}",
        ),
        row("  sites overrun", lambda w: str(len(w.overruns.sites))),
        row(
            "  cut below running work, met next sample",
            lambda w: str(w.overruns.reaction_samples),
        ),
        row(
            "GPU energy kWh / cost USD",
            lambda w: f"{_num(w.energy_kwh)} / {_money(w.energy_cost_usd)}",
        ),
        row("GPU utilisation (fleet)", lambda w: _num(w.gpu_utilisation_pct, 1, " %")),
        row(
            "replicas serving / requested at the end",
            lambda w: f"{w.replicas_at_end[0]} / {w.replicas_at_end[1]}",
        ),
    ]
    for cluster in report.clusters:
        cells = [str(w.serving_by_cluster.get(cluster, 0)) for w in worlds]
        lines.append(_row(f"  in site cluster {cluster}", cells))
    lines += _mining_lines(worlds, row)
    overrun_lines = [
        f"  {titles.get(w.world, w.world)}: {format_time_of_day(o.sim_s)} {o.site} "
        f"({o.phase or 'no phase'}) {o.committed_kw:,.1f} kW committed, budget "
        f"{o.budget_kw:,.1f} kW"
        for w in worlds
        for o in w.overruns.first[:SHOWN_OVERRUNS]
    ]
    if overrun_lines:
        lines += ["", f"first power-budget overruns (up to {SHOWN_OVERRUNS} per world):"]
        lines += overrun_lines
    if worlds and worlds[0].events:
        lines += [
            "",
            "events: replicas on the affected sites or nodes when it began, how many moved,",
            "and how long until the jobs it disrupted were fully served again",
            "(median/last job, real s)",
        ]
        for i, impact in enumerate(worlds[0].events):
            label = f"  {_when(impact)} {impact.kind} {impact.event}"
            if len(label) >= LABEL_WIDTH:
                label = label[: LABEL_WIDTH - 2] + "…"
            lines.append(_row(label, [_impact_cell(w.events[i]) for w in worlds]))
    if report.operator_metrics:
        lines += ["", "operator metrics at the end (counters: totals; histograms: count, mean):"]
        for name, value in list(sorted(report.operator_metrics.items()))[:MAX_METRICS]:
            lines.append(f"  {name:<{LABEL_WIDTH + COLUMN_WIDTH - 2}}{value:,.6g}")
    return "\n".join(lines)


def _mining_lines(
    worlds: list[WorldReport], row: Callable[[str, Callable[[WorldReport], str]], str]
) -> list[str]:
    """Mining kW, both sides' revenue over the day, and the curtailment responses."""
    if not worlds or worlds[0].revenue is None:
        return []

    def revenue(w: WorldReport) -> Revenue:
        assert w.revenue is not None
        return w.revenue

    lines = [
        row("mining, mean kW (cango: metered, driven)", lambda w: _num(revenue(w).mean_mining_kw)),
        row(
            "revenue USD: mining / GPUs / total",
            lambda w: " / ".join(
                _money(v) for v in (revenue(w).mining_usd, revenue(w).gpu_usd, revenue(w).total_usd)
            ),
        ),
    ]
    for i, c in enumerate(worlds[0].curtailments):
        lines.append(
            f"  curtailment {c.event} at {c.site} to {c.capacity_kw:,.0f} kW "
            f"(mining before {_num(c.mining_before_kw)} kW):"
        )
        responses = [w.curtailments[i] for w in worlds]
        lines.append(
            _row(
                "    mining at target / site within (real s)",
                [
                    f"{_num(r.mining_at_target_s, 1)} / {_num(r.site_within_s, 1)}"
                    for r in responses
                ],
            )
        )
        lines.append(
            _row("    lowest mining meanwhile kW", [_num(r.mining_during_kw) for r in responses])
        )
    return lines
