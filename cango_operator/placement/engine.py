"""The planning run: review running work, then give each job its turn, highest priority first.

A job's turn (jobs ordered by priority, highest first, then ``namespace/name``):

1. ``missing`` = spec replicas - replicas still running. Nothing missing: nothing to do.
2. **Filter**: static filters (cached per job shape), then dynamic ones, over all nodes.
3. **Score** the nodes left: each score plugin gives 0..100, the objective's weights sum
   them; ties go to the node whose name sorts first.
4. **Spread first**: while the job runs on fewer than ``minSites`` sites, one replica goes
   to the best node of each best site it does not use yet.
5. **Fill**: walk the nodes best first, putting as many replicas on each as its free GPUs,
   its site's power and ``maxReplicasPerSite`` allow.
6. **Preempt** if replicas are still missing: find the node where evicting running
   replicas of lower-priority, preemptible jobs makes room with the least harm (lowest
   highest victim priority, then fewest victims, then best score), evict them, and go back
   to 2. Victims are re-placed at their own (later) turn.
7. A job that runs nowhere yet and cannot reach ``minSites`` gets nothing (its placements
   and preemptions are undone). Whatever is still missing is reported with the reasons.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cango_operator.placement.existing import review_running
from cango_operator.placement.explain import count_reasons, message
from cango_operator.placement.framework import JobShape, JobTurn, Profile, ShapeArrays
from cango_operator.placement.plan import Eviction, Placement, Plan, SitePower, Unschedulable
from cango_operator.placement.plugins import DEFAULT_PROFILE
from cango_operator.placement.snapshot import JobRequest, Snapshot
from cango_operator.placement.state import PlanState, Unit
from cango_operator.placement.table import FleetTable, IntArray

#: Nodes ranked up front beyond the replicas still wanted; more are sorted only if needed.
_RANK_SLACK = 8


class PlacementEngine:
    """Plans snapshots with one profile (the default one unless given)."""

    def __init__(self, profile: Profile = DEFAULT_PROFILE) -> None:
        self.profile = profile

    def plan(self, snapshot: Snapshot) -> Plan:
        return _Run(self.profile, snapshot).run()


def plan(snapshot: Snapshot, profile: Profile = DEFAULT_PROFILE) -> Plan:
    """Plan one snapshot: the same snapshot always gives the same plan."""
    return _Run(profile, snapshot).run()


class _Run:
    """One planning run over one snapshot."""

    def __init__(self, profile: Profile, snapshot: Snapshot) -> None:
        self.profile = profile
        self.fleet = FleetTable.build(snapshot)
        self.jobs = {j.key: j for j in snapshot.jobs}
        self.state = PlanState(self.fleet, self.jobs, snapshot.placements)
        self.all_nodes: IntArray = np.arange(self.fleet.n_nodes, dtype=np.int64)
        self.unschedulable: list[Unschedulable] = []
        self._arrays: dict[JobShape, ShapeArrays] = {}
        self._static: dict[JobShape, IntArray] = {}

    def run(self) -> Plan:
        review_running(self.profile, self.state, self.jobs, self.arrays_of)
        for job in sorted(self.jobs.values(), key=lambda j: (-j.priority, j.key)):
            self._turn(job)
        return self._result()

    # -- per shape (cached) --------------------------------------------------------------

    def arrays_of(self, job: JobRequest) -> ShapeArrays:
        shape = JobShape.of(job)
        arrays = self._arrays.get(shape)
        if arrays is None:
            arrays = self._arrays[shape] = ShapeArrays.build(shape, self.fleet)
        return arrays

    def _static_nodes(self, arrays: ShapeArrays) -> IntArray:
        nodes = self._static.get(arrays.shape)
        if nodes is None:
            ok = np.ones(self.fleet.n_nodes, dtype=np.bool_)
            for f in self.profile.static_filters:
                ok &= ~f.filter(arrays, self.fleet, self.all_nodes).rejected(self.fleet.n_nodes)
            nodes = self._static[arrays.shape] = np.flatnonzero(ok).astype(np.int64)
        return nodes

    # -- one job -------------------------------------------------------------------------

    def _turn(self, job: JobRequest) -> None:
        state = self.state
        running = state.replica_count(job.key)
        missing = job.replicas - running
        if job.min_sites > job.replicas:
            if job.replicas > 0:
                reason = f"minSites {job.min_sites} > replicas {job.replicas}"
                self._report(job, {reason: self.fleet.n_nodes}, reason, max(missing, 0))
            return
        if missing <= 0 and len(state.sites_of(job.key)) >= job.min_sites:
            return
        turn = JobTurn(job, self.arrays_of(job), state.site_count_array(job.key))
        static_nodes = self._static_nodes(turn.arrays)
        placed = 0
        with state.journal() as rollback:
            while placed < missing:
                placed += self._walk(turn, static_nodes, missing - placed)
                if placed == missing or not self._preempt(turn, static_nodes):
                    break
            if running == 0 and placed > 0 and self._sites_short(turn) > 0:
                rollback()
                placed = 0
                turn.site_counts = state.site_count_array(job.key)
        if placed < missing or self._sites_short(turn) > 0:
            self._explain(turn, missing - placed)

    def _sites_short(self, turn: JobTurn) -> int:
        used = int(np.count_nonzero(turn.site_counts[: self.fleet.n_sites]))
        return turn.job.min_sites - used

    def _feasible(self, turn: JobTurn, nodes: IntArray) -> IntArray:
        ok = np.ones(nodes.size, dtype=np.bool_)
        for f in self.profile.dynamic_filters:
            ok &= ~f.filter(turn, self.fleet, self.state, nodes).rejected(nodes.size)
        return nodes[ok]

    def _keys(self, turn: JobTurn, nodes: IntArray) -> IntArray:
        """Weighted score per node, made unique by the node's rank in name order."""
        total = np.zeros(nodes.size, dtype=np.int64)
        for plugin in self.profile.scores:
            weight = self.profile.weight(turn.job.objective, plugin.name)
            if weight:
                total += weight * plugin.score(turn, self.fleet, self.state, nodes)
        n = self.fleet.n_nodes
        return total * n + (n - 1 - nodes)

    def _walk(self, turn: JobTurn, static_nodes: IntArray, want: int) -> int:
        """Steps 2-5 of a turn; returns how many replicas were placed."""
        feasible = self._feasible(turn, static_nodes)
        if feasible.size == 0:
            return 0
        keys = self._keys(turn, feasible)
        placed = 0
        short = self._sites_short(turn)
        if short > 0:
            order = feasible[np.argsort(-keys)]
            sites = self.fleet.node_site[order]
            _, first = np.unique(sites, return_index=True)
            for i in np.sort(first):
                node, site = int(order[i]), int(sites[i])
                if turn.site_counts[site] > 0 or self._capacity(turn, node, 1) < 1:
                    continue
                self._place(turn, node, 1)
                placed += 1
                short -= 1
                if short == 0 or placed == want:
                    break
        for node in _ranked(feasible, keys, want - placed + _RANK_SLACK):
            if placed == want:
                break
            n = self._capacity(turn, node, want - placed)
            if n > 0:
                self._place(turn, node, n)
                placed += n
        return placed

    def _capacity(self, turn: JobTurn, node: int, limit: int) -> int:
        """How many more replicas of the job fit on ``node`` now (at most ``limit``)."""
        state, job = self.state, turn.job
        site = int(self.fleet.node_site[node])
        n = min(limit, int(state.free_gpus[node]) // job.gpu_count)
        need = int(turn.arrays.need_w[node])
        if need > 0:
            n = min(n, int(state.site_power_w[site]) // need)
        if job.max_replicas_per_site > 0:
            n = min(n, job.max_replicas_per_site - int(turn.site_counts[site]))
        return max(0, n)

    def _place(self, turn: JobTurn, node: int, replicas: int) -> None:
        unit = Unit(
            gpus=turn.job.gpu_count,
            power_w=float(turn.arrays.power_w[node]),
            need_w=int(turn.arrays.need_w[node]),
        )
        self.state.place(turn.job.key, node, replicas, unit)
        turn.site_counts[self.fleet.node_site[node]] += replicas

    # -- preemption ----------------------------------------------------------------------

    def _preempt(self, turn: JobTurn, static_nodes: IntArray) -> bool:
        """Step 6: evict the cheapest set of lower-priority replicas that makes room."""
        fleet, state, job = self.fleet, self.state, turn.job
        units = self._victim_units(job.priority)
        if not units:
            return False
        by_site: dict[int, list[tuple[int, str, int, Unit]]] = {}
        for u in units:
            by_site.setdefault(int(fleet.node_site[u[2]]), []).append(u)
        nodes = static_nodes[fleet.node_usable[static_nodes] >= job.gpu_count]
        site_of = fleet.node_site[nodes]
        if job.max_replicas_per_site > 0:
            nodes = nodes[turn.site_counts[site_of] < job.max_replicas_per_site]
            site_of = fleet.node_site[nodes]
        if self._sites_short(turn) > 0:
            nodes = nodes[turn.site_counts[site_of] == 0]
            site_of = fleet.node_site[nodes]
        nodes = nodes[np.isin(site_of, np.array(sorted(by_site), dtype=np.int64))]

        options: list[tuple[int, int, int, list[tuple[int, str, int, Unit]]]] = []
        for node in (int(n) for n in nodes):
            site = int(fleet.node_site[node])
            gpu_short = job.gpu_count - int(state.free_gpus[node])
            power_short = int(turn.arrays.need_w[node]) - int(state.site_power_w[site])
            chosen = _choose_victims(by_site[site], node, gpu_short, power_short)
            if chosen:
                options.append((max(v[0] for v in chosen), len(chosen), node, chosen))
        if not options:
            return False
        keys = self._keys(turn, np.array([o[2] for o in options], dtype=np.int64))
        best = min(range(len(options)), key=lambda i: (options[i][0], options[i][1], -keys[i]))
        evict: dict[tuple[str, int], int] = {}
        for _, key, node, _ in options[best][3]:
            evict[(key, node)] = evict.get((key, node), 0) + 1
        for (key, node), n in sorted(evict.items()):
            state.evict(key, node, n, f"preempted by {job.key}")
        return True

    def _victim_units(self, priority: int) -> list[tuple[int, str, int, Unit]]:
        """Every running replica that a job of ``priority`` may preempt, as
        (priority, job, node, unit), in the order victims are taken."""
        units = []
        for key, rows in self.state.kept.items():
            victim = self.jobs.get(key)
            if victim is None or not victim.preemptible or victim.priority >= priority:
                continue
            for node, row in rows.items():
                units.extend([(victim.priority, key, node, row.unit)] * row.replicas)
        units.sort(key=lambda u: (u[0], u[1], u[2]))
        return units

    # -- reporting -----------------------------------------------------------------------

    def _explain(self, turn: JobTurn, missing: int) -> None:
        counts, alive = count_reasons(self.profile, turn, self.fleet, self.state)
        fit = int(alive.sum())
        short = self._sites_short(turn) > 0
        spread = f"minSites {turn.job.min_sites} not reachable"
        if short:
            # Nodes that still fit are all at sites the job already uses: that is why.
            counts[spread] = fit
        text = message(counts, 0 if short else fit, self.fleet.n_nodes)
        if short and fit == 0:
            text = f"{text}; {spread}"
        if 0 < missing < turn.job.replicas:
            text = f"{missing} of {turn.job.replicas} replicas unplaced; {text}"
        elif missing == 0:
            text = f"runs on fewer than minSites {turn.job.min_sites} sites; {text}"
        self._report(turn.job, counts, text, missing)

    def _report(self, job: JobRequest, counts: dict[str, int], text: str, missing: int) -> None:
        self.unschedulable.append(Unschedulable(job.key, dict(counts), text, missing))

    def _result(self) -> Plan:
        fleet, state = self.fleet, self.state
        placements = []
        for key in sorted(set(state.kept) | set(state.new)):
            kept, new = state.kept.get(key, {}), state.new.get(key, {})
            for node in set(kept) | set(new):
                k = kept[node].replicas if node in kept else 0
                n = new[node].replicas if node in new else 0
                if k + n == 0:
                    continue
                gpus = (k * kept[node].unit.gpus if k else 0) + (
                    n * new[node].unit.gpus if n else 0
                )
                power = (k * kept[node].unit.power_w if k else 0.0) + (
                    n * new[node].unit.power_w if n else 0.0
                )
                placements.append(
                    Placement(
                        job=key,
                        site=fleet.sites[fleet.node_site[node]].name,
                        node=fleet.nodes[node].name,
                        replicas=k + n,
                        gpus=gpus,
                        power_w=power,
                        new_replicas=n,
                    )
                )
        placements.sort(key=lambda p: (p.job, p.site, p.node))
        evictions = [
            Eviction(job=job, node=node, replicas=n, reason=reason)
            for (job, node, reason), n in sorted(state.evicted.items())
        ]
        target = state.mining_target_w()
        sites = [
            SitePower(
                name=site.name,
                available_kw_before=max(0, int(state.initial_power_w[i])) / 1000,
                available_kw_after=max(0, int(state.site_power_w[i])) / 1000,
                mining_target_kw=int(target[i]) / 1000,
            )
            for i, site in enumerate(fleet.sites)
        ]
        return Plan(
            placements=tuple(placements),
            evictions=tuple(evictions),
            unschedulable=tuple(sorted(self.unschedulable, key=lambda u: u.job)),
            sites=tuple(sites),
        )


def _choose_victims(
    site_units: list[tuple[int, str, int, Unit]], node: int, gpu_short: int, power_short: int
) -> list[tuple[int, str, int, Unit]]:
    """The victims that make room for one replica on ``node``, or [] when none can.

    Replicas on the node go first (lowest priority first) until the GPUs fit; then any
    replica at the site until the power fits; then each victim that turns out not to be
    needed is spared again, the last taken first.
    """
    if gpu_short <= 0 and power_short <= 0:
        return []
    chosen: list[tuple[int, str, int, Unit]] = []
    taken: set[int] = set()
    for i, u in enumerate(site_units):
        if gpu_short <= 0:
            break
        if u[2] == node:
            chosen.append(u)
            taken.add(i)
            gpu_short -= u[3].gpus
            power_short -= u[3].need_w
    if gpu_short > 0:
        return []
    for i, u in enumerate(site_units):
        if power_short <= 0:
            break
        if i not in taken:
            chosen.append(u)
            gpu_short -= u[3].gpus if u[2] == node else 0
            power_short -= u[3].need_w
    if power_short > 0:
        return []
    for u in reversed(list(chosen)):
        back_gpu = gpu_short + (u[3].gpus if u[2] == node else 0)
        back_power = power_short + u[3].need_w
        if back_gpu <= 0 and back_power <= 0:
            chosen.remove(u)
            gpu_short, power_short = back_gpu, back_power
    return chosen


def _ranked(nodes: IntArray, keys: IntArray, first: int) -> Iterator[int]:
    """``nodes`` best key first; only the top ``first`` are sorted unless more are asked for."""
    if first < nodes.size:
        top = np.argpartition(-keys, first - 1)[:first]
        top = top[np.argsort(-keys[top])]
        yield from (int(n) for n in nodes[top])
        rest = np.argsort(-keys)[first:]
        yield from (int(n) for n in nodes[rest])
    else:
        yield from (int(n) for n in nodes[np.argsort(-keys)])
