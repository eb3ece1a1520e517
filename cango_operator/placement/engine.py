"""The planning run: review running work, then give each job its turn, highest priority first.

Jobs take turns by priority, highest first; within one priority the most constrained job
(the fewest nodes its static rules allow) goes first, so flexible jobs do not take the
only nodes a picky one could use; ties go by ``namespace/name``. A job's turn:

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

Then the improvement stage (``improvement``) looks for a better plan within its budget
and replaces the greedy's new placements if it finds one; what is still missing is then
explained again, against the final plan.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cango_operator.placement.existing import review_running
from cango_operator.placement.explain import count_reasons, message
from cango_operator.placement.framework import JobShape, JobTurn, Profile, ShapeArrays
from cango_operator.placement.improvement import DEFAULT_BUDGET, ImprovementBudget, improve
from cango_operator.placement.plan import Eviction, Placement, Plan, SiteBudget, Unschedulable
from cango_operator.placement.plugins import DEFAULT_PROFILE
from cango_operator.placement.preemption import Victims
from cango_operator.placement.shapes import ShapeCache
from cango_operator.placement.snapshot import JobRequest, Snapshot
from cango_operator.placement.state import PlanState
from cango_operator.placement.table import BoolArray, FleetTable, IntArray

#: Nodes taken one by one (argmax) before the rest are sorted in one go.
_PICK_ONE_BY_ONE = 32


class PlacementEngine:
    """Plans snapshots with one profile (the default one unless given) and one budget for
    the improvement stage (``improvement.OFF``: the greedy plan alone)."""

    def __init__(
        self, profile: Profile = DEFAULT_PROFILE, budget: ImprovementBudget = DEFAULT_BUDGET
    ) -> None:
        self.profile = profile
        self.budget = budget

    def plan(self, snapshot: Snapshot) -> Plan:
        return _Run(self.profile, snapshot, self.budget).run()


def plan(
    snapshot: Snapshot,
    profile: Profile = DEFAULT_PROFILE,
    budget: ImprovementBudget = DEFAULT_BUDGET,
) -> Plan:
    """Plan one snapshot: the same snapshot always gives the same plan."""
    return _Run(profile, snapshot, budget).run()


class _Run:
    """One planning run over one snapshot."""

    def __init__(self, profile: Profile, snapshot: Snapshot, budget: ImprovementBudget) -> None:
        self.profile = profile
        self.budget = budget
        self.fleet = FleetTable.build(snapshot)
        self.jobs = {j.key: j for j in snapshot.jobs}
        self.state = PlanState(self.fleet, self.jobs, snapshot.placements)
        self.unschedulable: list[Unschedulable] = []
        self.shapes = ShapeCache(self.fleet, profile.static_filters)
        self._victims: Victims | None = None

    def run(self) -> Plan:
        review_running(self.profile, self.state, self.jobs, self.arrays_of)
        for job in sorted(self.jobs.values(), key=self._queue_order):
            self._turn(job)
        if improve(
            self.fleet,
            self.state,
            self.jobs,
            candidates=self._candidates,
            profile=self.profile,
            budget=self.budget,
        ):
            self._explain_again()
        return self._result()

    def _candidates(self, job: JobRequest) -> tuple[ShapeArrays, IntArray]:
        arrays = self.arrays_of(job)
        return arrays, self.shapes.static_nodes(arrays)

    def _explain_again(self) -> None:
        """Reasons for what the final plan still misses (the turns explained the greedy's)."""
        spread_past_replicas = {k for k, j in self.jobs.items() if j.min_sites > j.replicas}
        self.unschedulable = [u for u in self.unschedulable if u.job in spread_past_replicas]
        for job in sorted(self.jobs.values(), key=self._queue_order):
            if job.key in spread_past_replicas:
                continue
            turn = JobTurn(job, self.arrays_of(job), self.state.site_count_array(job.key))
            missing = job.replicas - self.state.replica_count(job.key)
            if missing > 0 or self._sites_short(turn) > 0:
                self._explain(turn, missing)

    def _queue_order(self, job: JobRequest) -> tuple[int, int, str]:
        """Highest priority first; within a priority the most constrained job (fewest
        nodes its static rules allow) first, then by name."""
        allowed = self.shapes.static_nodes(self.arrays_of(job)).size
        return (-job.priority, allowed, job.key)

    def arrays_of(self, job: JobRequest) -> ShapeArrays:
        return self.shapes.arrays(JobShape.of(job))

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
        static_nodes = self.shapes.static_nodes(turn.arrays)
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
        n = self.fleet.n_nodes
        total = np.zeros(nodes.size, dtype=np.int64)
        for plugin in self.profile.scores:
            weight = self.profile.weight(turn.job.objective, plugin.name)
            if weight:
                score = plugin.score(turn, self.fleet, self.state, nodes)
                total += score if weight == 1 else score * weight
        total *= n
        total += n - 1
        total -= nodes
        return total

    def _walk(self, turn: JobTurn, static_nodes: IntArray, want: int) -> int:
        """Steps 2-5 of a turn; returns how many replicas were placed."""
        feasible = self._feasible(turn, static_nodes)
        if feasible.size == 0:
            return 0
        keys = self._keys(turn, feasible)
        placed = 0
        short = self._sites_short(turn)
        if short > 0:
            for node in self._best_per_new_site(turn, feasible, keys):
                if self._capacity(turn, node, 1) < 1:
                    continue
                self._place(turn, node, 1)
                placed += 1
                short -= 1
                if short == 0 or placed == want:
                    break
        for node in _ranked(feasible, keys):
            if placed == want:
                break
            n = self._capacity(turn, node, want - placed)
            if n > 0:
                self._place(turn, node, n)
                placed += n
        return placed

    def _best_per_new_site(self, turn: JobTurn, nodes: IntArray, keys: IntArray) -> list[int]:
        """The best node of each site the job does not use yet, best site first."""
        n = self.fleet.n_nodes
        best = np.full(self.fleet.n_sites + 1, -1, dtype=np.int64)
        np.maximum.at(best, self.fleet.node_site[nodes], keys)
        best[turn.site_counts > 0] = -1
        sites = np.flatnonzero(best >= 0)
        ranked = best[sites[np.argsort(-best[sites])]]
        return [n - 1 - int(k) % n for k in ranked]

    def _capacity(self, turn: JobTurn, node: int, limit: int) -> int:
        """How many more replicas of the job fit on ``node`` now (at most ``limit``): the
        least any of the profile's dynamic rules allows."""
        n = limit
        for rule in self.profile.dynamic_filters:
            n = min(n, rule.capacity(turn, self.fleet, self.state, node))
            if n <= 0:
                return 0
        return n

    def _place(self, turn: JobTurn, node: int, replicas: int) -> None:
        self.state.place(turn.job.key, node, replicas, turn.arrays.unit(node))
        turn.site_counts[self.fleet.node_site[node]] += replicas

    # -- preemption ----------------------------------------------------------------------

    def _preempt(self, turn: JobTurn, static_nodes: IntArray) -> bool:
        """Step 6: evict the cheapest set of lower-priority replicas that makes room."""
        if self._victims is None:
            self._victims = Victims(self.state, self.jobs)
        takeable = self._victims.takeable(turn.job.priority)
        nodes = self._victims.reachable(takeable, static_nodes)
        if self._sites_short(turn) > 0:
            nodes = nodes[turn.site_counts[self.fleet.node_site[nodes]] == 0]
        if nodes.size == 0:
            return False
        gpus, watts = self._shortfalls(turn, nodes)
        option = self._victims.options(
            turn.job.priority,
            takeable,
            nodes,
            gpu_short=gpus,
            power_short=watts,
            keys=lambda n: self._keys(turn, n),
            resolvable=lambda n: self._resolvable(turn, n),
        )
        if option is None:
            return False
        evict: dict[tuple[str, int], int] = {}
        for victim, n in option.victims:
            evict[(victim.job, victim.node)] = evict.get((victim.job, victim.node), 0) + n
        for (key, node), n in sorted(evict.items()):
            self.state.evict(key, node, n, f"preempted by {turn.job.key}")
        return True

    def _shortfalls(self, turn: JobTurn, nodes: IntArray) -> tuple[IntArray, IntArray]:
        """What preemption must free on each node for every rule of the profile to pass:
        GPUs on the node, watts at its site (the most any rule asks)."""
        gpus = np.zeros(nodes.size, dtype=np.int64)
        watts = np.zeros(nodes.size, dtype=np.int64)
        for rule in self.profile.dynamic_filters:
            short = rule.shortfall(turn, self.fleet, self.state, nodes)
            np.maximum(gpus, short.gpus, out=gpus)
            np.maximum(watts, short.watts, out=watts)
        return gpus, watts

    def _resolvable(self, turn: JobTurn, nodes: IntArray) -> BoolArray:
        """Whether preemption may open each node, as the profile's rules say: none rules
        it out for good, and every rule that rejects it names something to free."""
        fleet, state = self.fleet, self.state
        blocked = np.zeros(nodes.size, dtype=np.bool_)
        for rule in self.profile.dynamic_filters:
            result = rule.filter(turn, fleet, state, nodes)
            short = rule.shortfall(turn, fleet, state, nodes)
            blocked |= result.unresolvable_mask(nodes.size)
            blocked |= result.rejected(nodes.size) & (short.gpus <= 0) & (short.watts <= 0)
        ok: BoolArray = ~blocked
        return ok

    # -- reporting -----------------------------------------------------------------------

    def _explain(self, turn: JobTurn, missing: int) -> None:
        static = self.shapes.static_reasons(turn.arrays)
        counts, alive = count_reasons(
            self.profile.dynamic_filters, static, turn, self.fleet, self.state
        )
        fit = int(alive.sum())
        short = turn.job.min_sites > 1 and self._sites_short(turn) > 0
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
            SiteBudget(
                name=site.name,
                available_kw_before=max(0, int(state.initial_power_w[i])) / 1000,
                available_kw_after=max(0, int(state.site_power_w[i])) / 1000,
                mining_target_kw=int(target[i]) / 1000,
                gpu_power_cap_share=_cap_share(fleet, i),
            )
            for i, site in enumerate(fleet.sites)
        ]
        return Plan(
            placements=tuple(placements),
            evictions=tuple(evictions),
            unschedulable=tuple(sorted(self.unschedulable, key=lambda u: u.job)),
            sites=tuple(sites),
        )


def _cap_share(fleet: FleetTable, site: int) -> float | None:
    """The power cap of the site's GPUs (placement.powercap caps a site's nodes alike)."""
    shares = fleet.node_power_share[fleet.node_site == site]
    low = float(shares.min()) if shares.size else 1.0
    return low if low < 1.0 else None


def _ranked(nodes: IntArray, keys: IntArray) -> Iterator[int]:
    """``nodes``, best key first. A walk usually needs only the first few, so they are
    picked one at a time; only a long walk pays for a full sort."""
    keys = keys.copy()
    for _ in range(min(_PICK_ONE_BY_ONE, nodes.size)):
        best = int(np.argmax(keys))
        yield int(nodes[best])
        keys[best] = -1
    rest = np.flatnonzero(keys >= 0)
    yield from (int(n) for n in nodes[rest[np.argsort(-keys[rest])]])
