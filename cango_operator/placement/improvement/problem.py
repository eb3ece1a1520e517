"""The greedy plan's assignment problem as an integer program: what may change and how.

What may change: where the plan's new replicas go (all of them are withdrawn and placed
again), and the running replicas of jobs with ``maxMovesPerRound`` > 0 (up to that many
of them may leave their node). Everything else stays as the greedy left it: running
replicas of other jobs, and every eviction (review of running work, preemption).

Variables, in this order:

- one integer per **pair**: replicas of a job on a node, either new ones (0..upper, on
  nodes the profile's static filters allow) or, for a movable running row, how many of
  its replicas stay (0..running);
- per job with ``minSites`` > 1: a binary per site it could use ("uses the site") and,
  for a job that runs nowhere yet, a binary "placed at all".

Rows: those of the capacity rules the profile runs (its dynamic filters: ``FreeGpus``,
free GPUs per node; ``SitePower``, power per site and, per site, the power of replicas
that may not take mining power within what is left without it, ``PlanState.room_w``;
``MaxReplicasPerSite``), and always replicas per job, moves per job and ``minSites`` (a
job that runs nowhere yet is placed on ``minSites`` sites or not at all; a running job
keeps at least the spread the greedy gave it, up to ``minSites``).

The objective per pair (used once the service of every priority is fixed) is latency for
``objective: latency``, energy cost for ``cost``, both for ``balanced``, each divided by
the largest value in the fleet so that jobs of different objectives add up; the other
term weighs a hundredth, so it only breaks ties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from cango_operator.placement.framework import ShapeArrays
from cango_operator.placement.snapshot import JobRequest, Objective
from cango_operator.placement.state import PlanState, Unit, power_room
from cango_operator.placement.table import FleetTable, FloatArray, IntArray

#: (latency weight, cost weight) per objective.
_WEIGHTS = {
    Objective.LATENCY: (1.0, 0.01),
    Objective.COST: (0.01, 1.0),
    Objective.BALANCED: (0.5, 0.5),
}

#: The static arrays of a job and the nodes its static rules allow.
Candidates = Callable[[JobRequest], tuple[ShapeArrays, IntArray]]

#: The dynamic filters (by plugin name) whose rules the problem's rows can hold.
FREE_GPUS, SITE_POWER, MAX_PER_SITE = "FreeGpus", "SitePower", "MaxReplicasPerSite"
ENCODED_RULES = frozenset({FREE_GPUS, SITE_POWER, MAX_PER_SITE})


@dataclass(slots=True)
class Rows:
    """Sparse rows ``lo <= sum(value * var) <= hi``."""

    index: list[IntArray] = field(default_factory=list)
    value: list[FloatArray] = field(default_factory=list)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)

    def add(self, index: IntArray, value: FloatArray | float, lo: float, hi: float) -> None:
        index = np.asarray(index, dtype=np.int64)
        self.index.append(index)
        self.value.append(np.broadcast_to(np.asarray(value, dtype=np.float64), index.shape))
        self.lo.append(lo)
        self.hi.append(hi)

    def __len__(self) -> int:
        return len(self.lo)

    def holds(self, x: FloatArray, tolerance: float = 1e-6) -> bool:
        for index, value, lo, hi in zip(self.index, self.value, self.lo, self.hi, strict=True):
            total = float(value @ x[index])
            if total < lo - tolerance or total > hi + tolerance:
                return False
        return True


class _Pair(NamedTuple):
    """One pair variable while the pairs are collected."""

    job: int
    node: int
    unit: Unit
    upper: int
    kept: int
    initial: int
    cost: float


@dataclass(frozen=True, slots=True)
class Problem:
    """The integer program and how to read its solutions back."""

    jobs: tuple[JobRequest, ...]
    pair_job: IntArray
    pair_node: IntArray
    pair_units: tuple[Unit, ...]
    #: running replicas of a movable row (the variable is how many stay); 0: new replicas
    pair_kept: IntArray
    #: GPUs one unit of the pair serves
    pair_gpus: FloatArray
    pair_cost: FloatArray
    #: index into ``tiers`` (0: the highest priority)
    pair_tier: IntArray
    tiers: tuple[int, ...]
    #: most GPUs each tier could be served (to skip solving what the greedy served fully)
    tier_demand: FloatArray
    upper: FloatArray
    rows: Rows
    #: the greedy plan as a solution
    initial: FloatArray

    @property
    def n_pairs(self) -> int:
        return int(self.pair_job.size)

    @property
    def n_vars(self) -> int:
        return int(self.upper.size)

    def feasible(self, x: FloatArray) -> bool:
        whole = bool(np.all(x == np.rint(x)))
        return whole and bool(np.all(x >= 0) & np.all(x <= self.upper)) and self.rows.holds(x)


def _movable(job: JobRequest, state: PlanState) -> bool:
    """Running replicas of the job may move; never for a job the problem leaves out
    (``minSites`` above its replicas), whose replicas then hold what they hold."""
    return (
        job.max_moves_per_round > 0
        and job.min_sites <= job.replicas
        and state.kept_count(job.key) > 0
    )


def _room(job: JobRequest, state: PlanState) -> int:
    """New replicas the job may get without moving any running one."""
    return job.replicas - state.kept_count(job.key)


def within(
    jobs: Mapping[str, JobRequest], state: PlanState, candidates: Candidates, max_pairs: int
) -> bool:
    """Whether the problem has at most ``max_pairs`` pairs (counted from the static rules
    alone, and only until the count passes the limit, so a large fleet costs little)."""
    total = 0
    for job in jobs.values():
        if job.min_sites <= job.replicas and (_room(job, state) > 0 or _movable(job, state)):
            total += int(candidates(job)[1].size)
            if total > max_pairs:
                return False
    return True


def build(
    fleet: FleetTable,
    state: PlanState,
    jobs: Mapping[str, JobRequest],
    candidates: Candidates,
    rules: frozenset[str] = ENCODED_RULES,
) -> Problem | None:
    """The problem of the plan in ``state``; None when nothing can change. ``rules``: the
    capacity rules (of :data:`ENCODED_RULES`) the profile runs; the others hold no row."""
    free, power, unshed = _capacity_without_changes(fleet, state, jobs)
    cost_of = _Costs(fleet)
    pairs: list[_Pair] = []
    chosen: list[JobRequest] = []
    for key in sorted(jobs):
        job = jobs[key]
        room, movable = _room(job, state), _movable(job, state)
        if job.min_sites > job.replicas or (room <= 0 and not movable):
            continue
        arrays, nodes = candidates(job)
        j = len(chosen)
        chosen.append(job)
        fixed_at_site = np.zeros(fleet.n_sites + 1, dtype=np.int64)
        for node, row in sorted(state.kept.get(key, {}).items()):
            if row.replicas <= 0:
                continue
            if movable:
                cost = float(cost_of(job, arrays, np.array([node], dtype=np.int64))[0])
                n = row.replicas
                pairs.append(_Pair(j, node, row.unit, n, n, n, cost))
            else:
                fixed_at_site[fleet.node_site[node]] += row.replicas
        limit = room + (job.max_moves_per_round if movable else 0)
        upper = _upper(
            fleet,
            job,
            arrays,
            nodes,
            free=free,
            room=_Room(power, unshed),
            limit=limit,
            fixed=fixed_at_site,
            rules=rules,
        )
        nodes, upper = nodes[upper > 0], upper[upper > 0]
        greedy = state.new.get(key, {})
        if any(
            row.replicas > 0 and node not in set(nodes.tolist()) for node, row in greedy.items()
        ):
            return None  # cannot happen with the engine's own rules; keep its plan then
        costs = cost_of(job, arrays, nodes)
        for node, up, cost in zip(nodes.tolist(), upper.tolist(), costs.tolist(), strict=True):
            unit = arrays.unit(node)
            placed = greedy.get(node)
            start = placed.replicas if placed is not None else 0
            pairs.append(_Pair(j, node, unit, max(up, start), 0, start, cost))
    if not pairs:
        return None
    return _assemble(fleet, state, chosen, pairs, free=free, room=_Room(power, unshed), rules=rules)


class _Room(NamedTuple):
    """Power per site: for any replica, and for those that may not take mining power."""

    power: IntArray
    unshed: IntArray


def _capacity_without_changes(
    fleet: FleetTable, state: PlanState, jobs: Mapping[str, JobRequest]
) -> tuple[IntArray, IntArray, IntArray]:
    """Free GPUs per node, power per site and power per site without mining (see
    ``PlanState.room_w``), with the greedy's new replicas and the movable running ones
    taken out."""
    free, power = state.free_gpus.copy(), state.site_power_w.copy()
    unshed = state.site_unshed_w.copy()
    rows = [row_at for rows in state.new.values() for row_at in rows.items()]
    for key, kept in state.kept.items():
        job = jobs.get(key)
        if job is not None and _movable(job, state):
            rows += kept.items()
    for node, row in rows:
        free[node] += row.replicas * row.unit.gpus
        power[fleet.node_site[node]] += row.replicas * row.unit.need_w
        if row.unit.restricted:
            unshed[fleet.node_site[node]] += row.replicas * row.unit.need_w
    return free, power, unshed


def _upper(
    fleet: FleetTable,
    job: JobRequest,
    arrays: ShapeArrays,
    nodes: IntArray,
    *,
    free: IntArray,
    room: _Room,
    limit: int,
    fixed: IntArray,
    rules: frozenset[str],
) -> IntArray:
    """The most new replicas of ``job`` each node could take on its own."""
    site = fleet.node_site[nodes]
    most: IntArray = np.full(nodes.size, limit, dtype=np.int64)
    if FREE_GPUS in rules:
        most = np.minimum(most, free[nodes] // job.gpu_count)
    if SITE_POWER in rules:
        need = arrays.need_w[nodes]
        power = power_room(room.power[site], room.unshed[site], arrays.may_shed[nodes])
        most = np.where(need > 0, np.minimum(most, power // np.maximum(need, 1)), most)
    if MAX_PER_SITE in rules and job.max_replicas_per_site > 0:
        most = np.minimum(most, job.max_replicas_per_site - fixed[site])
    return most


class _Costs:
    """The objective's value of one replica of a job on each of some nodes."""

    def __init__(self, fleet: FleetTable) -> None:
        self.fleet = fleet
        known = fleet.site_latency[np.isfinite(fleet.site_latency)]
        self.latency_scale = float(known.max()) if known.size and known.max() > 0 else 1.0
        top = (
            float(np.abs(fleet.site_price).max())
            * float(fleet.site_pue.max())
            * float(fleet.node_max_power_w.max(initial=0.0))
            / 1e6
        )
        self.cost_scale = top if top > 0 else 1.0

    def __call__(self, job: JobRequest, arrays: ShapeArrays, nodes: IntArray) -> FloatArray:
        fleet = self.fleet
        if job.client_region is None:
            latency = np.zeros(nodes.size)
        else:
            latency = np.nan_to_num(arrays.latency_ms[nodes], nan=self.latency_scale)
        cost = arrays.need_w[nodes] * fleet.site_price[fleet.node_site[nodes]] / 1e6
        w_latency, w_cost = _WEIGHTS[job.objective]
        out: FloatArray = w_latency * latency / self.latency_scale + w_cost * cost / self.cost_scale
        return out


def _assemble(
    fleet: FleetTable,
    state: PlanState,
    jobs: list[JobRequest],
    pairs: list[_Pair],
    *,
    free: IntArray,
    room: _Room,
    rules: frozenset[str],
) -> Problem:
    pj = np.array([p.job for p in pairs], dtype=np.int64)
    pn = np.array([p.node for p in pairs], dtype=np.int64)
    kept = np.array([p.kept for p in pairs], dtype=np.int64)
    gpus = np.array([p.unit.gpus for p in pairs], dtype=np.float64)
    need = np.array([p.unit.need_w for p in pairs], dtype=np.float64)
    start = np.array([p.initial for p in pairs], dtype=np.float64)
    site = fleet.node_site[pn]
    rows = Rows()
    if FREE_GPUS in rules:
        for node, at in _groups(pn):
            rows.add(at, gpus[at], -np.inf, max(float(free[node]), float(gpus[at] @ start[at])))
    restricted = np.array([p.unit.restricted for p in pairs], dtype=np.bool_)
    for s, here in _groups(site) if SITE_POWER in rules else ():
        at = here[need[here] > 0]
        if at.size:
            rows.add(at, need[at], -np.inf, max(float(room.power[s]), float(need[at] @ start[at])))
        at = at[restricted[at]]
        if at.size:
            rows.add(at, need[at], -np.inf, max(float(room.unshed[s]), float(need[at] @ start[at])))
    uppers = [float(p.upper) for p in pairs]
    extra_start: list[float] = []
    for j, at in _groups(pj):
        job = jobs[j]
        movable = _movable(job, state)
        fixed = 0 if movable else state.kept_count(job.key)
        rows.add(at, 1.0, -np.inf, job.replicas - fixed)
        moving = at[kept[at] > 0]
        if moving.size:
            rows.add(moving, 1.0, float(kept[moving].sum() - job.max_moves_per_round), np.inf)
        fixed_sites = _fixed_sites(fleet, state, job, movable)
        if MAX_PER_SITE in rules and job.max_replicas_per_site > 0:
            for s, here in _groups(site[at]):
                rows.add(at[here], 1.0, -np.inf, job.max_replicas_per_site - fixed_sites.get(s, 0))
        if job.min_sites > 1:
            _spread(
                rows,
                _Binaries(uppers, extra_start),
                state,
                job,
                at=at,
                site=site,
                start=start,
                fixed_sites=fixed_sites,
            )
    tiers = tuple(sorted({job.priority for job in jobs}, reverse=True))
    tier_of = {p: t for t, p in enumerate(tiers)}
    pair_tier = np.array([tier_of[jobs[j].priority] for j in pj.tolist()], dtype=np.int64)
    demand = np.zeros(len(tiers))
    for job in jobs:
        fixed = 0 if _movable(job, state) else state.kept_count(job.key)
        demand[tier_of[job.priority]] += (job.replicas - fixed) * job.gpu_count
    return Problem(
        jobs=tuple(jobs),
        pair_job=pj,
        pair_node=pn,
        pair_units=tuple(p.unit for p in pairs),
        pair_kept=kept,
        pair_gpus=gpus,
        pair_cost=np.array([p.cost for p in pairs], dtype=np.float64),
        pair_tier=pair_tier,
        tiers=tiers,
        tier_demand=demand,
        upper=np.array(uppers, dtype=np.float64),
        rows=rows,
        initial=np.concatenate([start, np.array(extra_start, dtype=np.float64)]),
    )


def _fixed_sites(
    fleet: FleetTable, state: PlanState, job: JobRequest, movable: bool
) -> dict[int, int]:
    """Running replicas of ``job`` per site that stay whatever the solution is."""
    out: dict[int, int] = {}
    if movable:
        return out
    for node, row in state.kept.get(job.key, {}).items():
        if row.replicas > 0:
            s = int(fleet.node_site[node])
            out[s] = out.get(s, 0) + row.replicas
    return out


@dataclass(slots=True)
class _Binaries:
    """Adds binaries after the pair variables: their upper bounds and starting values."""

    uppers: list[float]
    start: list[float]

    def __call__(self, initial: bool) -> int:
        self.uppers.append(1.0)
        self.start.append(1.0 if initial else 0.0)
        return len(self.uppers) - 1


def _spread(
    rows: Rows,
    binary: _Binaries,
    state: PlanState,
    job: JobRequest,
    *,
    at: IntArray,
    site: IntArray,
    start: FloatArray,
    fixed_sites: dict[int, int],
) -> None:
    """``minSites`` rows for one job (``at``: its pairs)."""
    uses = []
    for s, here in _groups(site[at]):
        if s in fixed_sites:
            continue
        y = binary(bool(start[at[here]].sum() > 0))
        uses.append(y)
        rows.add(
            np.array([y, *at[here].tolist()]), np.array([1.0] + [-1.0] * here.size), -np.inf, 0
        )
    ys = np.array(uses, dtype=np.int64)
    if state.kept_count(job.key) > 0:
        target = min(job.min_sites, len(state.sites_of(job.key))) - len(fixed_sites)
        if target > 0:
            rows.add(ys, 1.0, target, np.inf)
        return
    z = binary(bool(start[at].sum() > 0))
    rows.add(np.array([*at.tolist(), z]), np.array([1.0] * at.size + [-job.replicas]), -np.inf, 0)
    rows.add(np.array([*ys.tolist(), z]), np.array([1.0] * ys.size + [-job.min_sites]), 0, np.inf)


def _groups(keys: IntArray) -> list[tuple[int, IntArray]]:
    """(key, positions holding it) for each distinct key, keys ascending."""
    order = np.argsort(keys, kind="stable")
    values, starts = np.unique(keys[order], return_index=True)
    bounds = [*starts.tolist(), keys.size]
    return [(int(v), order[bounds[i] : bounds[i + 1]]) for i, v in enumerate(values.tolist())]
