"""The demo's report: what happened to the jobs in each world, computed from the samples.

Inputs are only what was measured: :class:`~.samples.Snapshot` s of the cluster's
objects, the per-job pod history (:class:`~.samples.JobRecord`), when each event
started and ended (:class:`EventRecord`, times the demo applied them), and the
operator's ``/metrics``. Each snapshot's state is taken to hold until the next one
(simulated seconds between them are its weight).

- *time to Running*: from the job's creation to the moment its ``replicas``-th pod was
  Ready (Kubernetes timestamps, 1 s resolution);
- *availability*: replica-time serving / replica-time requested;
- *latency-SLO attainment*: replica-time serving from a site whose latency to the job's
  client region is within ``maxLatencyMs`` / replica-time requested;
- *power-budget overruns*: site-samples where the power committed to serving replicas
  (their power times the site's PUE) exceeded what the site could give GPUs
  (capacity - reserve - other load + sheddable mining, from the Site object). One
  excess is counted apart, as a *reaction*, not an overrun: the first sample after the
  site's budget fell below work that fitted it one sample before, with nothing added
  since; no operator can act before it has seen the cut (a grid demand-response order
  gives minutes to comply; one sample is 1-2 real seconds, minutes of simulated time).
  The excess still there one sample later is an overrun;
- *energy*: that committed power integrated over simulated time, priced at each site's
  price in effect (Site status);
- *GPU utilisation*: GPUs held by serving replicas / GPUs of the world's fleet;
- per event: replicas on the affected sites or nodes when it started, how many of those
  pods were deleted (moved) while it lasted, and how long until every job it disrupted
  was fully serving again.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from cango_operator.demo.report_mining import (
    CurtailmentResponse,
    Revenue,
    curtailment_response,
    revenue,
)
from cango_operator.demo.samples import WORLDS, JobRecord, Snapshot

#: Below this a site's committed power counts as within its budget (float noise).
OVERRUN_TOLERANCE_KW = 0.001
KEPT_OVERRUNS = 10
WORLD_TITLES = {"cango": "cango-operator", "baseline": "baseline (kube-scheduler)"}
#: Federated, the baseline is OCM's placement first, then kube-scheduler at the site.
FEDERATED_WORLD_TITLES = {**WORLD_TITLES, "baseline": "baseline (OCM Placement)"}


@dataclass(frozen=True)
class EventRecord:
    """One scenario event as the demo applied it (times measured when it was applied)."""

    name: str
    kind: str
    sim_start: float
    real_start: float
    sim_end: float | None = None
    real_end: float | None = None
    sites: tuple[str, ...] = ()
    nodes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # world -> nodes


@dataclass(frozen=True)
class Stats:
    count: int
    median: float | None
    p95: float | None
    max: float | None


@dataclass(frozen=True)
class EventImpact:
    event: str
    kind: str
    sim_start: float
    sim_end: float | None
    affected_replicas: int
    moved_replicas: int
    disrupted_jobs: int
    recovered_after_s: float | None  # real seconds until the last; None: not all back
    median_recovery_s: float | None = None  # real seconds, over the jobs that came back


@dataclass(frozen=True)
class Overrun:
    """One site over its budget in one sample."""

    site: str
    sim_s: float
    committed_kw: float
    budget_kw: float
    phase: str


@dataclass(frozen=True)
class OverrunSummary:
    site_samples: int
    site_hours: float
    max_kw: float
    sites: tuple[str, ...]
    first: tuple[Overrun, ...] = ()  # the first few, to see where and when
    reaction_samples: int = 0  # excesses excused as the reaction to a budget cut (see above)


@dataclass(frozen=True)
class WorldReport:
    world: str
    jobs_submitted: int
    jobs_placed: int  # at least one replica served at some point
    jobs_fully_running: int  # every replica Ready at some point
    time_to_running_s: Stats
    availability_pct: float | None
    slo_attainment_pct: float | None
    overruns: OverrunSummary
    energy_kwh: float
    energy_cost_usd: float
    gpu_utilisation_pct: float | None
    replicas_at_end: tuple[int, int]  # (serving, requested) in the last sample
    events: tuple[EventImpact, ...]
    #: Replicas serving in the last sample by the site cluster they run in (federated).
    serving_by_cluster: Mapping[str, int] = field(default_factory=dict)
    revenue: Revenue | None = None
    curtailments: tuple[CurtailmentResponse, ...] = ()


@dataclass(frozen=True)
class Report:
    scenario: str
    speed: float
    sim_hours: float
    real_seconds: float
    samples: int
    sample_gap_s: Stats  # real seconds between samples: the resolution of the timings
    worlds: Mapping[str, WorldReport]
    operator_metrics: Mapping[str, float]
    #: The site clusters under the hub (none: the single-cluster demo).
    clusters: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


# -- arithmetic ---------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(values: Sequence[float]) -> Stats:
    return Stats(
        len(values), percentile(values, 50), percentile(values, 95), max(values, default=None)
    )


def weights(snapshots: Sequence[Snapshot]) -> list[float]:
    """Simulated seconds each snapshot's state holds: until the next one (the last: 0)."""
    gaps = [max(0.0, nxt.sim_s - cur.sim_s) for cur, nxt in itertools.pairwise(snapshots)]
    return gaps + [0.0] * min(1, len(snapshots))


def times_to_running(records: Iterable[JobRecord]) -> list[float]:
    """Seconds from each job's creation until its ``desired``-th pod was Ready."""
    result = []
    for record in records:
        ready = sorted(p.ready_at for p in record.pods.values() if p.ready_at is not None)
        if record.desired > 0 and len(ready) >= record.desired:
            result.append(max(0.0, (ready[record.desired - 1] - record.created).total_seconds()))
    return result


def service(snapshots: Sequence[Snapshot], world: str) -> tuple[float | None, float | None]:
    """(availability %, latency-SLO attainment %) over the run."""
    requested = served = within = 0.0
    for snap, dt in zip(snapshots, weights(snapshots), strict=True):
        if dt == 0:
            continue
        jobs = {j.job: j for j in snap.jobs_of(world)}
        serving: dict[str, int] = {}
        in_slo: dict[str, int] = {}
        for replica in snap.replicas_of(world):
            job = jobs.get(replica.job)
            if not replica.serving or job is None:
                continue
            serving[job.job] = serving.get(job.job, 0) + 1
            latency = snap.sites[replica.site].latency_ms.get(job.client_region, math.inf)
            if latency <= job.max_latency_ms:
                in_slo[job.job] = in_slo.get(job.job, 0) + 1
        for job in jobs.values():
            requested += job.desired * dt
            served += min(job.desired, serving.get(job.job, 0)) * dt
            within += min(job.desired, in_slo.get(job.job, 0)) * dt
    if requested == 0:
        return None, None
    return 100 * served / requested, 100 * within / requested


def committed_kw(snapshot: Snapshot, world: str) -> dict[str, float]:
    """Per site: power of the serving replicas times the site's PUE, in kW."""
    per_site: dict[str, float] = {}
    for replica in snapshot.replicas_of(world):
        if replica.serving:
            pue = snapshot.sites[replica.site].pue
            per_site[replica.site] = per_site.get(replica.site, 0.0) + replica.power_w * pue / 1000
    return per_site


def overruns(snapshots: Sequence[Snapshot], world: str) -> OverrunSummary:
    count = reactions = 0
    site_hours = worst = 0.0
    sites: set[str] = set()
    first: list[Overrun] = []
    before: dict[str, tuple[float, float]] = {}  # site -> (budget, committed) one sample ago
    for snap, dt in zip(snapshots, weights(snapshots), strict=True):
        committed = committed_kw(snap, world)
        for site, kw in committed.items():
            budget = snap.sites[site].budget_kw
            excess = kw - max(budget, 0.0)
            if excess <= OVERRUN_TOLERANCE_KW:
                continue
            if site in before and _cut_under_load(*before[site], budget, kw):
                reactions += 1
                continue
            count += 1
            site_hours += dt / 3600
            worst = max(worst, excess)
            sites.add(site)
            if len(first) < KEPT_OVERRUNS:
                first.append(
                    Overrun(
                        site, snap.sim_s, round(kw, 3), round(budget, 3), snap.sites[site].phase
                    )
                )
        before = {name: (s.budget_kw, committed.get(name, 0.0)) for name, s in snap.sites.items()}
    return OverrunSummary(
        count, site_hours, worst, tuple(sorted(sites)), tuple(first), reaction_samples=reactions
    )


def _cut_under_load(
    budget_before: float, committed_before: float, budget: float, committed: float
) -> bool:
    """The site's budget fell below work that fitted it one sample ago, and nothing was
    added since: the one sample an operator needs to see the cut and act on it."""
    fitted = committed_before - max(budget_before, 0.0) <= OVERRUN_TOLERANCE_KW
    return (
        fitted and budget < budget_before and committed <= committed_before + OVERRUN_TOLERANCE_KW
    )


def energy(snapshots: Sequence[Snapshot], world: str) -> tuple[float, float]:
    """(kWh, USD) of the power committed to serving replicas."""
    kwh = usd = 0.0
    for snap, dt in zip(snapshots, weights(snapshots), strict=True):
        for site, kw in committed_kw(snap, world).items():
            kwh += kw * dt / 3600
            usd += kw * dt / 3600 * snap.sites[site].price_usd_per_mwh / 1000
    return kwh, usd


def gpu_utilisation(snapshots: Sequence[Snapshot], world: str) -> float | None:
    used = total = 0.0
    for snap, dt in zip(snapshots, weights(snapshots), strict=True):
        used += sum(r.gpus for r in snap.replicas_of(world) if r.serving) * dt
        total += snap.gpus_total.get(world, 0) * dt
    return None if total == 0 else 100 * used / total


def replicas_at_end(snapshots: Sequence[Snapshot], world: str) -> tuple[int, int]:
    """(serving, requested) replicas in the last sample."""
    if not snapshots:
        return 0, 0
    last = snapshots[-1]
    serving = last.serving_by_job(world)
    jobs = last.jobs_of(world)
    return sum(min(j.desired, serving.get(j.job, 0)) for j in jobs), sum(j.desired for j in jobs)


def serving_by_cluster(snapshots: Sequence[Snapshot], world: str) -> dict[str, int]:
    """Replicas serving in the last sample, by the site cluster of their site."""
    if not snapshots:
        return {}
    last = snapshots[-1]
    counts = {s.cluster: 0 for s in last.sites.values() if s.cluster}
    for replica in last.replicas_of(world):
        site = last.sites.get(replica.site)
        if replica.serving and site is not None and site.cluster:
            counts[site.cluster] += 1
    return dict(sorted(counts.items()))


def event_impact(snapshots: Sequence[Snapshot], world: str, event: EventRecord) -> EventImpact:
    """What an event did to one world's replicas (see the module docstring)."""
    before = [s for s in snapshots if s.real_s <= event.real_start]
    after = [s for s in snapshots if s.real_s > event.real_start]
    start = before[-1] if before else (snapshots[0] if snapshots else None)
    nodes = set(event.nodes.get(world, ()))
    if start is None:
        return EventImpact(event.name, event.kind, event.sim_start, event.sim_end, 0, 0, 0, None)
    affected = [
        r
        for r in start.replicas_of(world)
        if r.serving and (r.site in event.sites or r.node in nodes)
    ]
    window_end = event.real_end if event.real_end is not None else math.inf
    in_window = [s for s in after if s.real_s <= window_end] or after[:1]
    still_there = {r.pod for r in in_window[-1].replicas_of(world)} if in_window else set()
    moved = sum(1 for r in affected if r.pod not in still_there)
    jobs = {r.job for r in affected}
    dropped_at: dict[str, float] = {}
    back_at: dict[str, float] = {}
    for snap in after:
        desired = {j.job: j.desired for j in snap.jobs_of(world)}
        serving = snap.serving_by_job(world)
        for job in sorted(jobs):
            if job not in desired:  # deleted by its tenant: nothing left to recover
                jobs.discard(job)
                if job not in back_at:
                    dropped_at.pop(job, None)
                continue
            full = serving.get(job, 0) >= desired[job]
            if job not in dropped_at and not full and snap.real_s <= window_end:
                dropped_at[job] = snap.real_s
            elif job in dropped_at and job not in back_at and full:
                back_at[job] = snap.real_s
    recovered: float | None = None
    if dropped_at and len(back_at) == len(dropped_at):
        recovered = max(back_at.values()) - event.real_start
    median = percentile([t - event.real_start for t in back_at.values()], 50)
    return EventImpact(
        event.name,
        event.kind,
        event.sim_start,
        event.sim_end,
        len(affected),
        moved,
        len(dropped_at),
        recovered,
        median,
    )


def world_report(
    snapshots: Sequence[Snapshot],
    records: Mapping[tuple[str, str], JobRecord],
    events: Sequence[EventRecord],
    world: str,
    prices: tuple[float, float] | None = None,
) -> WorldReport:
    """``prices``: (USD per kWh of mining, USD per GPU-hour) for the revenue; None: none."""
    mine = [r for (w, _), r in records.items() if w == world]
    placed = {r.job for snap in snapshots for r in snap.replicas_of(world) if r.serving} | {
        r.job for r in mine if any(p.ready_at for p in r.pods.values())
    }
    ttr = times_to_running(mine)
    availability, attainment = service(snapshots, world)
    kwh, usd = energy(snapshots, world)
    return WorldReport(
        world=world,
        jobs_submitted=len(mine),
        jobs_placed=len(placed),
        jobs_fully_running=len(ttr),
        time_to_running_s=stats(ttr),
        availability_pct=availability,
        slo_attainment_pct=attainment,
        overruns=overruns(snapshots, world),
        energy_kwh=kwh,
        energy_cost_usd=usd,
        gpu_utilisation_pct=gpu_utilisation(snapshots, world),
        replicas_at_end=replicas_at_end(snapshots, world),
        events=tuple(event_impact(snapshots, world, e) for e in events),
        serving_by_cluster=serving_by_cluster(snapshots, world),
        revenue=None if prices is None else revenue(snapshots, weights(snapshots), world, *prices),
        curtailments=tuple(
            curtailment_response(
                snapshots,
                world,
                event=e.name,
                site=e.sites[0],
                real_start=e.real_start,
                real_end=e.real_end,
            )
            for e in events
            if e.kind == "curtailment" and e.sites
        ),
    )


def build_report(
    *,
    scenario: str,
    speed: float,
    snapshots: Sequence[Snapshot],
    records: Mapping[tuple[str, str], JobRecord],
    events: Sequence[EventRecord],
    operator_metrics: Mapping[str, float],
    worlds: Sequence[str] = WORLDS,
    mining_usd_per_kwh: float | None = None,
    gpu_usd_per_hour: float | None = None,
) -> Report:
    prices = (
        None
        if mining_usd_per_kwh is None or gpu_usd_per_hour is None
        else (mining_usd_per_kwh, gpu_usd_per_hour)
    )
    return Report(
        scenario=scenario,
        speed=speed,
        sim_hours=(snapshots[-1].sim_s - snapshots[0].sim_s) / 3600 if snapshots else 0.0,
        real_seconds=(snapshots[-1].real_s - snapshots[0].real_s) if snapshots else 0.0,
        samples=len(snapshots),
        sample_gap_s=stats([b.real_s - a.real_s for a, b in itertools.pairwise(snapshots)]),
        worlds={w: world_report(snapshots, records, events, w, prices) for w in worlds},
        operator_metrics=dict(operator_metrics),
        clusters=tuple(
            sorted({s.cluster for s in snapshots[-1].sites.values() if s.cluster})
            if snapshots
            else ()
        ),
    )
