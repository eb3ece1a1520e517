"""Optimal assignments of small instances with a MILP solver (SciPy's HiGHS), to measure how
far the engine's greedy plans are from the best possible.

The model has the engine's hard rules and nothing else: which job may go on which node
(the reference's static rules), free GPUs per node, power per site, maxReplicasPerSite,
and minSites (a job placed at all is placed on at least minSites sites). Priorities count
only in ``served_by_priority``, the lexicographic optimum (the most GPUs of the highest
priority, then of the next with that fixed, ...); nothing runs in these instances, so
preemption plays no part.

Variables: ``x[j,n]`` replicas of job j on node n (integer), and for spread jobs binaries
``z[j]`` (placed at all) and ``y[j,s]`` (uses site s).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from cango_operator.placement import JobRequest, Snapshot
from tests.unit.placement.reference import Reference


@dataclass
class Instance:
    """The allowed (job, node) pairs of a snapshot with their cost, latency and needs."""

    snapshot: Snapshot
    jobs: list[JobRequest]
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (job index, node index)
    cost: list[float] = field(default_factory=list)  # USD per hour at the meter
    latency: list[float] = field(default_factory=list)  # ms to the client region
    need_w: list[int] = field(default_factory=list)
    site_of_pair: list[str] = field(default_factory=list)

    @property
    def ref(self) -> Reference:
        return self._ref

    @classmethod
    def of(cls, snapshot: Snapshot) -> Instance:
        ref = Reference(snapshot)
        self = cls(snapshot, sorted(snapshot.jobs, key=lambda j: j.key))
        self._ref = ref
        for j, job in enumerate(self.jobs):
            for n in range(len(ref.nodes)):
                if ref.static_reason(job, n) is not None:
                    continue
                site = ref.sites[ref.nodes[n].site]
                need = ref.need(job, n)
                self.pairs.append((j, n))
                self.need_w.append(need)
                self.cost.append(need * site.energy_price_usd_per_mwh / 1e6)
                self.latency.append(ref.latency(job, n) or 0.0)
                self.site_of_pair.append(site.name)
        return self


def solve(
    inst: Instance,
    objective: str | tuple[str, int],
    counts: dict[str, int] | None = None,
    floors: dict[int, int] | None = None,
) -> dict[tuple[str, str], int] | None:
    """Solve for ``objective``: "jobs" (most jobs fully placed), "replicas" (most
    replicas), "cost" or "latency" (least, placing exactly ``counts`` replicas per job),
    or ``("gpus", p)``: most GPUs of the jobs of priority ``p``. ``floors``: priority ->
    GPUs its jobs must at least be served. Returns (job, node) -> replicas, or None when
    the solver finds nothing."""
    ref = inst.ref
    jobs = inst.jobs
    npairs = len(inst.pairs)
    spread = [j for j, job in enumerate(jobs) if job.min_sites > 1]
    site_names = sorted(ref.sites)
    # variable layout: x pairs | z per spread job | y per (spread job, site) | w per job
    z_at = {j: npairs + k for k, j in enumerate(spread)}
    y_at: dict[tuple[int, str], int] = {}
    for j in spread:
        for s in site_names:
            y_at[(j, s)] = npairs + len(spread) + len(y_at)
    w_base = npairs + len(spread) + len(y_at)
    nvars = w_base + len(jobs)

    rows: list[tuple[dict[int, float], float, float]] = []

    def add(coeffs: dict[int, float], lo: float, hi: float) -> None:
        rows.append((coeffs, lo, hi))

    by_job: dict[int, list[int]] = {}
    by_node: dict[int, list[int]] = {}
    by_site: dict[str, list[int]] = {}
    by_job_site: dict[tuple[int, str], list[int]] = {}
    for k, (j, n) in enumerate(inst.pairs):
        by_job.setdefault(j, []).append(k)
        by_node.setdefault(n, []).append(k)
        by_site.setdefault(inst.site_of_pair[k], []).append(k)
        by_job_site.setdefault((j, inst.site_of_pair[k]), []).append(k)

    for j, job in enumerate(jobs):
        ks = by_job.get(j, [])
        if counts is not None:
            add({k: 1.0 for k in ks}, counts.get(job.key, 0), counts.get(job.key, 0))
        else:
            add({k: 1.0 for k in ks}, 0, job.replicas)
        # w[j] = 1 only if every replica is placed
        add({**{k: 1.0 for k in ks}, w_base + j: -float(job.replicas)}, 0, np.inf)
    for n, ks in by_node.items():
        add({k: float(jobs[inst.pairs[k][0]].gpu_count) for k in ks}, -np.inf, ref.world.free[n])
    for s, ks in by_site.items():
        add({k: float(inst.need_w[k]) for k in ks}, -np.inf, ref.world.power[s])
    for (j, _site), ks in by_job_site.items():
        cap = jobs[j].max_replicas_per_site
        if cap > 0:
            add({k: 1.0 for k in ks}, -np.inf, cap)
    for priority, least in (floors or {}).items():
        gpus = {k: float(jobs[j].gpu_count) for k, (j, _) in enumerate(inst.pairs)}
        add(
            {k: g for k, g in gpus.items() if jobs[inst.pairs[k][0]].priority == priority},
            least,
            np.inf,
        )
    for j in spread:
        job = jobs[j]
        add({**{k: 1.0 for k in by_job.get(j, [])}, z_at[j]: -float(job.replicas)}, -np.inf, 0)
        add({**{y_at[(j, s)]: 1.0 for s in site_names}, z_at[j]: -float(job.min_sites)}, 0, np.inf)
        for s in site_names:
            add({y_at[(j, s)]: 1.0, **{k: -1.0 for k in by_job_site.get((j, s), [])}}, -np.inf, 0)

    c = np.zeros(nvars)
    if objective == "jobs":
        c[w_base:] = -1.0
        c[:npairs] = -1e-3  # then as many replicas as possible
    elif objective == "replicas":
        c[:npairs] = -1.0
    elif objective == "cost":
        c[:npairs] = inst.cost
    elif objective == "latency":
        c[:npairs] = inst.latency
    elif isinstance(objective, tuple) and objective[0] == "gpus":
        for k, (j, _) in enumerate(inst.pairs):
            if jobs[j].priority == objective[1]:
                c[k] = -float(jobs[j].gpu_count)
    else:
        raise ValueError(objective)

    matrix = lil_matrix((len(rows), nvars))
    lo = np.empty(len(rows))
    hi = np.empty(len(rows))
    for r, (coeffs, low, high) in enumerate(rows):
        for k, v in coeffs.items():
            matrix[r, k] = v
        lo[r], hi[r] = low, high
    upper = np.ones(nvars)
    for k, (j, _) in enumerate(inst.pairs):
        upper[k] = jobs[j].replicas
    with _quiet_stdout():  # HiGHS writes progress notes straight to file descriptor 1
        result = milp(
            c,
            constraints=LinearConstraint(matrix.tocsr(), lo, hi),
            integrality=np.ones(nvars),
            bounds=Bounds(np.zeros(nvars), upper),
            options={"time_limit": 120.0},
        )
    if result.x is None:
        return None
    out: dict[tuple[str, str], int] = {}
    for k, (j, n) in enumerate(inst.pairs):
        v = round(result.x[k])
        if v:
            out[(jobs[j].key, ref.nodes[n].name)] = v
    return out


def served_by_priority(inst: Instance) -> dict[int, int]:
    """The lexicographic optimum: priority -> GPUs served, highest priority first."""
    floors: dict[int, int] = {}
    for priority in sorted({j.priority for j in inst.jobs}, reverse=True):
        best = solve(inst, ("gpus", priority), floors=floors)
        assert best is not None, "serving nothing is always feasible"
        floors[priority] = gpus_by_priority(inst, best).get(priority, 0)
    return floors


def gpus_by_priority(inst: Instance, assignment: dict[tuple[str, str], int]) -> dict[int, int]:
    jobs = {j.key: j for j in inst.jobs}
    out: dict[int, int] = {}
    for (key, _), n in assignment.items():
        job = jobs[key]
        out[job.priority] = out.get(job.priority, 0) + n * job.gpu_count
    return out


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)
