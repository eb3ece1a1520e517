"""Preemption: which running replicas to stop so that a more important job fits.

Only replicas that ran before this plan can be victims (jobs are planned highest priority
first, so everything placed by this plan outranks the job being placed), and only those of
preemptible jobs with strictly lower priority.

For one candidate node the victims are chosen in a fixed order (lowest priority, then job
name, then node): replicas on the node until the GPUs fit, then replicas anywhere at the
site until the power fits; then every victim that turns out not to be needed is spared
again, the last taken first. Among the nodes where that works, the engine picks the one
whose highest victim priority is lowest, then the fewest victims, then the best score.

Replicas of one job on one node are identical, so they are handled as a row with a count
rather than one by one; the outcome is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from cango_operator.placement.snapshot import JobRequest
from cango_operator.placement.state import PlanState, Row
from cango_operator.placement.table import BoolArray, IntArray


@dataclass(frozen=True, slots=True)
class Victim:
    """Running replicas of one preemptible job on one node (``row`` is live)."""

    priority: int
    job: str
    node: int
    row: Row


@dataclass(frozen=True, slots=True)
class Option:
    """Room for one replica on ``node``, bought by stopping ``victims`` (row, count)."""

    node: int
    worst_priority: int
    count: int
    victims: tuple[tuple[Victim, int], ...]


class Victims:
    """The running replicas that may be preempted, in the order victims are taken."""

    def __init__(self, state: PlanState, jobs: Mapping[str, JobRequest]) -> None:
        fleet = state.fleet
        found = sorted(
            (jobs[key].priority, key, node, row)
            for key, rows in state.kept.items()
            if key in jobs and jobs[key].preemptible
            for node, row in rows.items()
            if row.replicas > 0
        )
        self.all = [Victim(p, key, node, row) for p, key, node, row in found]
        self.by_site: dict[int, list[Victim]] = {}
        for v in self.all:
            self.by_site.setdefault(int(fleet.node_site[v.node]), []).append(v)
        self._priority = np.array([v.priority for v in self.all], dtype=np.int64)
        self._node = np.array([v.node for v in self.all], dtype=np.int64)
        self._site = fleet.node_site[self._node] if self.all else np.zeros(0, dtype=np.int64)
        self._gpus = np.array([v.row.unit.gpus for v in self.all], dtype=np.int64)
        self._need = np.array([v.row.unit.need_w for v in self.all], dtype=np.int64)
        self._state = state

    def takeable(self, priority: int) -> IntArray:
        """Replicas of each victim row (aligned with :attr:`all`) a job of ``priority``
        may stop now: all that still run of a lower priority, none of the others."""
        live = np.array([v.row.replicas for v in self.all], dtype=np.int64)
        out: IntArray = np.where(self._priority < priority, live, 0)
        return out

    def reachable(self, takeable: IntArray, nodes: IntArray) -> IntArray:
        """Those of ``nodes`` at a site where a ``takeable`` replica runs: the only places
        preemption can make room (asked first, so a job that outranks no running work
        costs nothing more)."""
        fleet = self._state.fleet
        has = np.zeros(fleet.n_sites + 1, dtype=np.bool_)
        has[self._site[takeable > 0]] = True
        return nodes[has[fleet.node_site[nodes]]]

    def options(
        self,
        priority: int,
        takeable: IntArray,
        nodes: IntArray,
        *,
        gpu_short: IntArray,
        power_short: IntArray,
        keys: Callable[[IntArray], IntArray],
        resolvable: Callable[[IntArray], BoolArray],
    ) -> Option | None:
        """The best way to make room for one replica of a job of ``priority`` on one of
        ``nodes``, if any, by stopping ``takeable`` replicas.

        ``gpu_short`` GPUs must be freed on each node and ``power_short`` watts at its site
        (aligned with ``nodes``); ``resolvable`` says which nodes the rules let preemption
        open at all (both from the profile's rules: ``DynamicFilter.shortfall`` and
        ``unresolvable``; asked only of the nodes the victims could free enough on)."""
        fleet = self._state.fleet
        usable, live = takeable > 0, takeable
        node_gpus = np.bincount(
            self._node[usable],
            weights=(live * self._gpus)[usable],
            minlength=fleet.n_nodes,
        )
        site_w = np.bincount(
            self._site[usable], weights=(live * self._need)[usable], minlength=fleet.n_sites + 1
        )
        has_victims = np.bincount(self._node[usable], minlength=fleet.n_nodes) > 0
        site = fleet.node_site[nodes]
        viable = (
            ((gpu_short > 0) | (power_short > 0))
            & (gpu_short <= node_gpus[nodes])
            & (power_short <= site_w[site])
        )
        at = np.flatnonzero(viable)
        viable[at[~resolvable(nodes[at])]] = False
        found: list[Option] = []
        same_site: dict[tuple[int, int], Option] = {}
        for i in np.flatnonzero(viable).tolist():
            node = int(nodes[i])
            s, g, p = int(site[i]), int(gpu_short[i]), int(power_short[i])
            if not has_victims[node] and (s, p) in same_site:
                # Without victims on the node only the site's power matters: same answer.
                cached = same_site[(s, p)]
                found.append(Option(node, cached.worst_priority, cached.count, cached.victims))
                continue
            chosen = _choose(self.by_site[s], priority, node, g, p)
            option = Option(
                node=node,
                worst_priority=max(v.priority for v, _ in chosen),
                count=sum(n for _, n in chosen),
                victims=tuple(chosen),
            )
            if not has_victims[node]:
                same_site[(s, p)] = option
            found.append(option)
        if not found:
            return None
        ranked = keys(np.array([o.node for o in found], dtype=np.int64))
        best = min(
            range(len(found)),
            key=lambda k: (found[k].worst_priority, found[k].count, -int(ranked[k])),
        )
        return found[best]


def _choose(
    site_victims: list[Victim], priority: int, node: int, gpu_short: int, power_short: int
) -> list[tuple[Victim, int]]:
    """Victims (and how many replicas of each) that make room on ``node``.

    The caller has checked that the site's victims can cover both shortfalls.
    """
    candidates = [v for v in site_victims if v.priority < priority and v.row.replicas > 0]
    chosen: list[tuple[Victim, int]] = []
    taken: dict[int, int] = {}
    for i, v in enumerate(candidates):
        if gpu_short <= 0:
            break
        if v.node != node:
            continue
        gpus = v.row.unit.gpus
        n = v.row.replicas if gpus == 0 else min(v.row.replicas, -(-gpu_short // gpus))
        chosen.append((v, n))
        taken[i] = n
        gpu_short -= n * gpus
        power_short -= n * v.row.unit.need_w
    for i, v in enumerate(candidates):
        if power_short <= 0:
            break
        left = v.row.replicas - taken.get(i, 0)
        if left <= 0:
            continue
        need = v.row.unit.need_w
        n = left if need == 0 else min(left, -(-power_short // need))
        chosen.append((v, n))
        if v.node == node:
            gpu_short -= n * v.row.unit.gpus
        power_short -= n * need
    spared: list[tuple[Victim, int]] = []
    for v, n in reversed(chosen):
        gpus = v.row.unit.gpus if v.node == node else 0
        need = v.row.unit.need_w
        can = n
        if gpus > 0:
            can = min(can, -gpu_short // gpus)
        if need > 0:
            can = min(can, -power_short // need)
        can = max(0, can)
        gpu_short += can * gpus
        power_short += can * need
        if n - can > 0:
            spared.append((v, n - can))
    spared.reverse()
    return spared
