"""What a plan has used so far: free GPUs per node, power per site, replicas per job.

The state starts from the snapshot (existing placements count as used, and so do GPUs and
power the sites report as taken by work the snapshot does not list) and changes only
through :meth:`PlanState.place` and :meth:`PlanState.evict`. While a journal is open every
change can be undone, which is how a job that cannot reach ``minSites`` leaves no trace.

Power headroom per site is kept in whole watts, in the docs/api.md form::

    capacity - reserve - otherLoad - max(gpuDraw, committed) + sheddable mining
    - power of new placements + power of evicted replicas

where ``committed`` is at least the power of the existing placements the snapshot lists.

Replicas that may not take the mining a site may shed (they earn less per kWh than the
mining: api/revenue.py) must also fit without it: per site, their power (kept and new)
stays within ``capacity - reserve - otherLoad`` (``site_unshed_w`` is what is left of
that). A replica's room is :meth:`PlanState.room_w`: the one place both rules meet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from cango_operator.api import budget, revenue
from cango_operator.placement.snapshot import ExistingPlacement, JobRequest
from cango_operator.placement.table import BoolArray, FleetTable, IntArray


@dataclass(frozen=True, slots=True)
class Unit:
    """What one replica of a job takes on one node."""

    gpus: int
    power_w: float
    need_w: int
    #: True: the replica may not take mining power (it earns less per kWh than mining)
    restricted: bool = False


@dataclass(slots=True)
class Row:
    """Some replicas of one job on one node, all with the same footprint."""

    replicas: int
    unit: Unit


@dataclass(frozen=True, slots=True)
class Orphan:
    """An existing placement on a node the snapshot does not have."""

    job: str
    node: str
    replicas: int


class PlanState:
    """Mutable bookkeeping for one planning run."""

    def __init__(
        self,
        fleet: FleetTable,
        jobs: Mapping[str, JobRequest],
        placements: tuple[ExistingPlacement, ...],
    ) -> None:
        self.fleet = fleet
        self.kept: dict[str, dict[int, Row]] = {}
        self.new: dict[str, dict[int, Row]] = {}
        self.orphans: list[Orphan] = []
        self.site_counts: dict[str, dict[int, int]] = {}
        self.evicted: dict[tuple[str, str, str], int] = {}
        self._journal: list[Callable[[], None]] | None = None

        used_gpus = np.zeros(fleet.n_nodes, dtype=np.int64)
        existing_w = np.zeros(fleet.n_sites + 1, dtype=np.int64)
        restricted_w = np.zeros(fleet.n_sites + 1, dtype=np.int64)
        for p in sorted(placements, key=lambda p: (p.job, p.node)):
            node = fleet.node_index.get(p.node)
            if node is None:
                self.orphans.append(Orphan(p.job, p.node, p.replicas))
                continue
            unit = _existing_unit(fleet, node, p, jobs.get(p.job))
            self.kept.setdefault(p.job, {})[node] = Row(p.replicas, unit)
            site = int(fleet.node_site[node])
            counts = self.site_counts.setdefault(p.job, {})
            counts[site] = counts.get(site, 0) + p.replicas
            used_gpus[node] += p.replicas * unit.gpus
            existing_w[site] += p.replicas * unit.need_w
            if unit.restricted:
                restricted_w[site] += p.replicas * unit.need_w

        self.free_gpus: IntArray = fleet.node_usable - np.maximum(fleet.node_allocated, used_gpus)
        committed = np.maximum(fleet.site_committed_w, existing_w)
        self.site_power_w: IntArray = np.array(
            [
                int(
                    budget.available(
                        int(fleet.site_base_w[i]),
                        budget.gpu_need(int(fleet.site_gpu_draw_w[i]), int(committed[i])),
                        int(fleet.site_sheddable_w[i]),
                    )
                )
                for i in range(fleet.n_sites + 1)
            ],
            dtype=np.int64,
        )
        self.initial_power_w: IntArray = self.site_power_w.copy()
        self.site_unshed_w: IntArray = fleet.site_base_w - restricted_w

    # -- reading -------------------------------------------------------------------------

    def kept_count(self, job: str) -> int:
        return sum(r.replicas for r in self.kept.get(job, {}).values())

    def replica_count(self, job: str) -> int:
        return sum(self.site_counts.get(job, {}).values())

    def sites_of(self, job: str) -> set[int]:
        return {s for s, n in self.site_counts.get(job, {}).items() if n > 0}

    def site_count_array(self, job: str) -> IntArray:
        counts = np.zeros(self.fleet.n_sites + 1, dtype=np.int64)
        for site, n in self.site_counts.get(job, {}).items():
            counts[site] = n
        return counts

    def room_w(self, sites: IntArray, may_shed: BoolArray) -> IntArray:
        """Power left at each of ``sites`` for a replica that may (or may not) take the
        mining its site may shed."""
        return power_room(self.site_power_w[sites], self.site_unshed_w[sites], may_shed)

    def room_at(self, site: int, may_shed: bool) -> int:
        """:meth:`room_w` for one site (the engine asks it per chosen node)."""
        power = int(self.site_power_w[site])
        return power if may_shed else min(power, int(self.site_unshed_w[site]))

    def mining_target_w(self) -> IntArray:
        """Mining load each site should run at so the planned GPU work fits (the GPU need
        being what the plan leaves of the site's power taken from what it had)."""
        fleet = self.fleet
        targets = []
        for i in range(fleet.n_sites + 1):
            base, shed = int(fleet.site_base_w[i]), int(fleet.site_sheddable_w[i])
            need = base + shed - int(self.site_power_w[i])
            targets.append(int(budget.mining_target(int(fleet.site_mining_w[i]), base, need, shed)))
        return np.array(targets, dtype=np.int64)

    # -- changing ------------------------------------------------------------------------

    def place(self, job: str, node: int, replicas: int, unit: Unit) -> None:
        rows = self.new.setdefault(job, {})
        row = rows.get(node)
        if row is None:
            rows[node] = Row(replicas, unit)
        else:
            row.replicas += replicas
        self._apply(job, node, -replicas, unit)
        if self._journal is not None:
            self._journal.append(lambda: self._unplace(job, node, replicas, unit))

    def evict(self, job: str, node: int, replicas: int, reason: str) -> None:
        """Stop ``replicas`` kept replicas of ``job`` on ``node``, freeing what they held."""
        row = self.kept[job][node]
        row.replicas -= replicas
        self._apply(job, node, replicas, row.unit)
        key = (job, self.fleet.nodes[node].name, reason)
        self.evicted[key] = self.evicted.get(key, 0) + replicas
        if self._journal is not None:
            self._journal.append(lambda: self._unevict(job, node, replicas, key))

    def withdraw_new(self) -> None:
        """Take back every new placement (the improvement stage then places its own)."""
        for job in sorted(self.new):
            for node, row in sorted(self.new[job].items()):
                if row.replicas > 0:
                    self._unplace(job, node, row.replicas, row.unit)
        self.new = {}

    def evict_orphans(self) -> None:
        for o in self.orphans:
            key = (o.job, o.node, "node gone")
            self.evicted[key] = self.evicted.get(key, 0) + o.replicas

    @contextmanager
    def journal(self) -> Iterator[Callable[[], None]]:
        """Record changes; the yielded function undoes all of them (newest first)."""
        self._journal = []
        entries = self._journal

        def rollback() -> None:
            self._journal = None
            while entries:
                entries.pop()()

        try:
            yield rollback
        finally:
            self._journal = None

    # -- internals -----------------------------------------------------------------------

    def _apply(self, job: str, node: int, replicas: int, unit: Unit) -> None:
        """Give back (replicas > 0) or take (replicas < 0) what ``replicas`` units hold."""
        site = int(self.fleet.node_site[node])
        self.free_gpus[node] += replicas * unit.gpus
        self.site_power_w[site] += replicas * unit.need_w
        if unit.restricted:
            self.site_unshed_w[site] += replicas * unit.need_w
        counts = self.site_counts.setdefault(job, {})
        counts[site] = counts.get(site, 0) - replicas

    def _unplace(self, job: str, node: int, replicas: int, unit: Unit) -> None:
        row = self.new[job][node]
        row.replicas -= replicas
        if row.replicas == 0:
            del self.new[job][node]
        self._apply(job, node, replicas, unit)

    def _unevict(self, job: str, node: int, replicas: int, key: tuple[str, str, str]) -> None:
        row = self.kept[job][node]
        row.replicas += replicas
        self._apply(job, node, -replicas, row.unit)
        self.evicted[key] -= replicas
        if self.evicted[key] == 0:
            del self.evicted[key]


def power_room(power_w: IntArray, unshed_w: IntArray, may_shed: BoolArray) -> IntArray:
    """A replica's room at its site: all the power left where it may take mining power,
    else no more than what is left without the mining."""
    out: IntArray = np.where(may_shed, power_w, np.minimum(power_w, unshed_w))
    return out


def need_w(power_w: float, pue: float) -> int:
    """Whole watts a replica of ``power_w`` (before PUE) takes from a site's budget."""
    return math.ceil(power_w * pue)


def _existing_unit(
    fleet: FleetTable, node: int, p: ExistingPlacement, job: JobRequest | None
) -> Unit:
    pue = float(fleet.site_pue[fleet.node_site[node]])
    gpus = job.gpu_count if job is not None else 0
    if p.gpus is not None:
        gpus = p.gpus // p.replicas
    nominal: float | None = None
    if job is not None:
        nominal = (
            job.estimated_power_w
            if job.estimated_power_w is not None
            else job.gpu_count * float(fleet.node_max_power_w[node])
        )
    power = p.power_w / p.replicas if p.power_w is not None else (nominal or 0.0)
    share = float(fleet.node_power_share[node])
    if nominal is not None and share < 1.0:
        # Capped GPUs draw the cap at most, whatever power was recorded before the cap.
        power = min(power, nominal * share)
    site_mining = float(fleet.site_mining_usd_per_kwh[fleet.node_site[node]])
    value = job.value_usd_per_gpu_hour if job is not None else None
    may_shed = revenue.may_take_mining(value, max(gpus, 1), power, site_mining)
    return Unit(gpus=gpus, power_w=power, need_w=need_w(power, pue), restricted=not may_shed)
