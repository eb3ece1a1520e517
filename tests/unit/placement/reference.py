"""The placement rules again, in plain Python, one node at a time: the oracle for the engine.

Written from the rules in the docstrings of ``cango_operator.placement`` (engine, existing,
state, plugins), not from the engine's code: no NumPy, no shared helpers beyond the
snapshot and plan types. Slow on purpose: clarity over speed. The property tests demand
that the engine makes exactly the same decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cango_operator.placement import (
    Eviction,
    JobRequest,
    NodePhase,
    NodeState,
    Objective,
    Placement,
    Plan,
    SiteBudget,
    SitePhase,
    SiteState,
    Snapshot,
    Unschedulable,
)

WEIGHTS = {
    Objective.LATENCY: {"latency": 12, "price": 1, "headroom": 1, "packing": 1, "spread": 1},
    Objective.COST: {"latency": 1, "price": 12, "headroom": 1, "packing": 1, "spread": 1},
    Objective.BALANCED: {"latency": 6, "price": 6, "headroom": 1, "packing": 1, "spread": 1},
}
TAKES_WORK = (SitePhase.READY, SitePhase.DEGRADED)


def w(kw: float) -> int:
    return round(kw * 1000)


@dataclass
class Row:
    replicas: int
    gpus: int
    power: float
    need: int
    outbid: bool = False  # earns less per kWh than the site's mining


@dataclass
class World:
    """Everything that changes while planning (copied whole to undo a job's turn)."""

    free: list[int]
    power: dict[str, int]
    #: per site: capacity - reserve - other load - power of outbid work
    unshed: dict[str, int]
    kept: dict[str, dict[int, Row]] = field(default_factory=dict)
    new: dict[str, dict[int, Row]] = field(default_factory=dict)
    evicted: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def copy(self) -> World:
        def rows(d: dict[str, dict[int, Row]]) -> dict[str, dict[int, Row]]:
            return {
                k: {i: Row(r.replicas, r.gpus, r.power, r.need, r.outbid) for i, r in v.items()}
                for k, v in d.items()
            }

        return World(
            list(self.free),
            dict(self.power),
            dict(self.unshed),
            rows(self.kept),
            rows(self.new),
            dict(self.evicted),
        )


class Reference:
    def __init__(self, snapshot: Snapshot) -> None:
        self.sites = {s.name: s for s in snapshot.sites}
        self.site_names = sorted(self.sites)
        self.nodes: list[NodeState] = sorted(snapshot.nodes, key=lambda n: n.name)
        self.index = {n.name: i for i, n in enumerate(self.nodes)}
        self.jobs = {j.key: j for j in snapshot.jobs}
        self.unschedulable: list[Unschedulable] = []
        self._allowed: dict[str, list[int]] = {}

        existing_gpus = [0] * len(self.nodes)
        existing_w: dict[str, int] = {}
        outbid_w: dict[str, int] = {}
        kept: dict[str, dict[int, Row]] = {}
        self.orphans = []
        for p in sorted(snapshot.placements, key=lambda p: (p.job, p.node)):
            if p.node not in self.index:
                self.orphans.append(p)
                continue
            i = self.index[p.node]
            node = self.nodes[i]
            job = self.jobs.get(p.job)
            gpus = job.gpu_count if job else 0
            if p.gpus is not None:
                gpus = p.gpus // p.replicas
            if p.power_w is not None:
                power = p.power_w / p.replicas
            elif job is not None and job.estimated_power_w is not None:
                power = job.estimated_power_w
            elif job is not None:
                power = job.gpu_count * node.gpu_max_power_w
            else:
                power = 0.0
            need = math.ceil(power * self.pue(node))
            outbid = job is not None and self.outbid(job, i, power, gpus)
            kept.setdefault(p.job, {})[i] = Row(p.replicas, gpus, power, need, outbid)
            if outbid:
                outbid_w[node.site] = outbid_w.get(node.site, 0) + p.replicas * need
            existing_gpus[i] += p.replicas * gpus
            existing_w[node.site] = existing_w.get(node.site, 0) + p.replicas * need
        free = [
            n.usable_gpus - max(n.allocated_gpus, existing_gpus[i])
            for i, n in enumerate(self.nodes)
        ]
        power, unshed = {}, {}
        for s in snapshot.sites:
            committed = max(w(s.committed_kw), existing_w.get(s.name, 0))
            base = w(s.capacity_kw) - w(s.reserve_kw) - w(s.other_load_kw)
            power[s.name] = base - max(w(s.gpu_draw_kw), committed) + self.sheddable(s)
            unshed[s.name] = base - outbid_w.get(s.name, 0)
        self.before = dict(power)
        self.world = World(free=free, power=power, unshed=unshed, kept=kept)

    # -- facts ---------------------------------------------------------------------------

    @staticmethod
    def sheddable(site: SiteState) -> int:
        nominal = site.mining_load_kw if site.mining_nominal_kw is None else site.mining_nominal_kw
        mining, curtailable = w(site.mining_load_kw), w(site.curtailable_kw)
        return max(0, min(curtailable, mining, mining - (w(nominal) - curtailable)))

    def outbid(self, job: JobRequest, i: int, power: float, gpus: int) -> bool:
        """The job earns less per kWh than the mining at node i's site."""
        site = self.site_of(i)
        if job.value_usd_per_gpu_hour is None or site is None or site.mining_usd_per_kwh is None:
            return False
        per_kwh = job.value_usd_per_gpu_hour * max(gpus, 1) / (max(power, 1.0) / 1000)
        return not per_kwh > site.mining_usd_per_kwh

    def room(self, job: JobRequest, i: int) -> int:
        site = self.nodes[i].site
        power = self.world.power[site]
        if self.outbid(job, i, self.replica_power(job, i), job.gpu_count):
            return min(power, self.world.unshed[site])
        return power

    def site_of(self, i: int) -> SiteState | None:
        return self.sites.get(self.nodes[i].site)

    def pue(self, node: NodeState) -> float:
        site = self.sites.get(node.site)
        return site.pue if site else 1.0

    def replica_power(self, job: JobRequest, i: int) -> float:
        if job.estimated_power_w is not None:
            return float(job.estimated_power_w)
        return job.gpu_count * self.nodes[i].gpu_max_power_w

    def need(self, job: JobRequest, i: int) -> int:
        return math.ceil(self.replica_power(job, i) * self.pue(self.nodes[i]))

    def latency(self, job: JobRequest, i: int) -> float | None:
        site = self.site_of(i)
        if site is None or job.client_region is None:
            return None
        return site.latency_ms.get(job.client_region)

    def count_at(self, key: str, site: str) -> int:
        total = 0
        for rows in (self.world.kept.get(key, {}), self.world.new.get(key, {})):
            for i, row in rows.items():
                if self.nodes[i].site == site:
                    total += row.replicas
        return total

    def sites_used(self, key: str) -> set[str]:
        return {
            self.nodes[i].site
            for rows in (self.world.kept.get(key, {}), self.world.new.get(key, {}))
            for i, row in rows.items()
            if row.replicas > 0
        }

    # -- rules, one node at a time -------------------------------------------------------

    def static_reason(self, job: JobRequest, i: int, running: bool = False) -> str | None:
        node = self.nodes[i]
        site = self.site_of(i)
        if not running:
            if node.phase in (NodePhase.UNHEALTHY, NodePhase.UNKNOWN):
                return f"node {node.phase.value}"
            if node.unschedulable:
                return "node unschedulable"
            if site is None:
                return "site not found"
            if site.phase not in TAKES_WORK:
                return f"site {site.phase.value}"
            if site.cordoned:
                return "site cordoned"
        else:
            if site is None:
                return "site not found"
            if site.phase == SitePhase.OFFLINE:
                return "site Offline"
            if node.phase in (NodePhase.UNHEALTHY, NodePhase.UNKNOWN):
                return f"node {node.phase.value}"
        if job.allowed_regions and site.region not in job.allowed_regions:
            return "region not allowed"
        if job.max_latency_ms is not None:
            latency = self.latency(job, i)
            if latency is None:
                return f"no latency to {job.client_region}"
            if latency > job.max_latency_ms:
                return f"latency > {job.max_latency_ms:g}ms"
        if job.gpu_models and node.gpu_model not in job.gpu_models:
            models = sorted(job.gpu_models)
            names = models[0] if len(models) == 1 else ", ".join(models[:-1]) + " or " + models[-1]
            return f"no {names}"
        if job.min_memory_mib > 0 and node.gpu_memory_mib < job.min_memory_mib:
            return f"GPU memory < {job.min_memory_mib}MiB"
        return None

    def allowed(self, job: JobRequest) -> list[int]:
        """Nodes the static rules allow for ``job`` (they never change during a plan)."""
        if job.key not in self._allowed:
            nodes = range(len(self.nodes))
            self._allowed[job.key] = [i for i in nodes if self.static_reason(job, i) is None]
        return self._allowed[job.key]

    def dynamic_reason(self, job: JobRequest, i: int) -> str | None:
        site = self.nodes[i].site
        if self.world.free[i] < job.gpu_count:
            return "not enough free GPUs"
        cap = job.max_replicas_per_site
        if cap > 0 and self.count_at(job.key, site) >= cap:
            return f"maxReplicasPerSite {cap} reached"
        if self.world.power[site] < self.need(job, i):
            return "no power at site"
        if self.room(job, i) < self.need(job, i):
            return "the power left is mining's, which earns more per kWh"
        return None

    def capacity(self, job: JobRequest, i: int, limit: int) -> int:
        site = self.nodes[i].site
        n = min(limit, self.world.free[i] // job.gpu_count)
        need = self.need(job, i)
        if need > 0:
            n = min(n, self.room(job, i) // need)
        if job.max_replicas_per_site > 0:
            n = min(n, job.max_replicas_per_site - self.count_at(job.key, site))
        return max(0, n)

    # -- scores --------------------------------------------------------------------------

    @staticmethod
    def spread_scores(values: list[float], higher_is_better: bool) -> list[int]:
        if not values:
            return []
        lo, hi = min(values), max(values)
        if lo == hi:
            return [100] * len(values)
        if higher_is_better:
            return [math.floor(100.0 * (v - lo) / (hi - lo)) for v in values]
        return [math.floor(100.0 * (hi - v) / (hi - lo)) for v in values]

    def keys(self, job: JobRequest, nodes: list[int]) -> list[int]:
        weights = WEIGHTS[job.objective]
        totals = [0] * len(nodes)
        if job.client_region is None:
            latency = [100] * len(nodes)
        else:
            values = [self.latency(job, i) for i in nodes]
            known = [v for v in values if v is not None]
            ranked = iter(self.spread_scores(known, higher_is_better=False))
            latency = [0 if v is None else next(ranked) for v in values]
        prices = []
        headroom = []
        packing = []
        spread = []
        for i in nodes:
            node = self.nodes[i]
            site = self.sites[node.site]
            prices.append(self.need(job, i) * site.energy_price_usd_per_mwh)
            headroom.append(self.room(job, i) - self.need(job, i))
            used_after = node.usable_gpus - self.world.free[i] + job.gpu_count
            share = math.floor(100 * used_after / max(node.usable_gpus, 1))
            packing.append(min(100, max(0, share)))
            spread.append(100 // (1 + self.count_at(job.key, node.site)))
        parts = {
            "latency": latency,
            "price": self.spread_scores(prices, higher_is_better=False),
            "headroom": self.spread_scores(headroom, higher_is_better=True),
            "packing": packing,
            "spread": spread,
        }
        for name, scores in parts.items():
            for k, s in enumerate(scores):
                totals[k] += weights[name] * s
        n = len(self.nodes)
        return [t * n + (n - 1 - i) for t, i in zip(totals, nodes, strict=True)]

    # -- changes -------------------------------------------------------------------------

    def evict(self, key: str, i: int, n: int, reason: str) -> None:
        row = self.world.kept[key][i]
        row.replicas -= n
        self.world.free[i] += n * row.gpus
        self.world.power[self.nodes[i].site] = self.world.power.get(self.nodes[i].site, 0) + (
            n * row.need
        )
        if row.outbid:
            self.world.unshed[self.nodes[i].site] += n * row.need
        k = (key, self.nodes[i].name, reason)
        self.world.evicted[k] = self.world.evicted.get(k, 0) + n

    def place(self, job: JobRequest, i: int, n: int) -> None:
        rows = self.world.new.setdefault(job.key, {})
        if i in rows:
            rows[i].replicas += n
        else:
            power = self.replica_power(job, i)
            outbid = self.outbid(job, i, power, job.gpu_count)
            rows[i] = Row(n, job.gpu_count, power, self.need(job, i), outbid)
        self.world.free[i] -= n * job.gpu_count
        self.world.power[self.nodes[i].site] -= n * self.need(job, i)
        if rows[i].outbid:
            self.world.unshed[self.nodes[i].site] -= n * self.need(job, i)

    def live(self, key: str) -> list[int]:
        return sorted(i for i, r in self.world.kept.get(key, {}).items() if r.replicas > 0)

    # -- running work --------------------------------------------------------------------

    def review(self) -> None:
        for o in self.orphans:
            k = (o.job, o.node, "node gone")
            self.world.evicted[k] = self.world.evicted.get(k, 0) + o.replicas
        kept = self.world.kept
        for key in sorted(kept):
            job = self.jobs.get(key)
            for i in self.live(key):
                if job is None:
                    self.evict(key, i, kept[key][i].replicas, "job deleted")
                    continue
                reason = self.static_reason(job, i, running=True)
                if reason is not None:
                    self.evict(key, i, kept[key][i].replicas, reason)
        for i in range(len(self.nodes)):
            rows = [(key, kept[key][i]) for key in sorted(kept) if i in self.live(key)]
            used = sum(r.replicas * r.gpus for _, r in rows)
            while used > self.nodes[i].usable_gpus:
                candidates = [(k, r) for k, r in rows if r.replicas > 0 and r.gpus > 0]
                candidates.sort(
                    key=lambda kr: (
                        not self.jobs[kr[0]].preemptible,
                        self.jobs[kr[0]].priority,
                        kr[0],
                    )
                )
                key, row = candidates[0]
                self.evict(key, i, 1, "node lost GPUs")
                used -= row.gpus
        for key in sorted(k for k in kept if k in self.jobs):
            job = self.jobs[key]
            while sum(kept[key][i].replicas for i in self.live(key)) > job.replicas:
                counts = self.kept_counts(key)
                site = max(counts, key=lambda s: (counts[s], self.site_rank(s)))
                self.evict_one_at(key, site, "scaled down")
            cap = job.max_replicas_per_site
            if cap > 0:
                counts = self.kept_counts(key)
                for site in sorted(counts, key=self.site_rank):
                    for _ in range(counts[site] - cap):
                        self.evict_one_at(key, site, f"maxReplicasPerSite {cap}")
        for name in self.site_names:
            site = self.sites[name]
            if site.phase not in (*TAKES_WORK, SitePhase.CURTAILED):
                continue
            reason = (
                "site Curtailed" if site.phase == SitePhase.CURTAILED else "site over power budget"
            )
            victims = sorted(
                (not self.jobs[key].preemptible, self.jobs[key].priority, key, i)
                for key in kept
                if key in self.jobs
                for i in self.live(key)
                if self.nodes[i].site == name and kept[key][i].need > 0
            )
            for _, _, key, i in victims:
                while kept[key][i].replicas > 0 and self.world.power[name] < 0:
                    self.evict(key, i, 1, reason)

    def site_rank(self, name: str) -> int:
        return self.site_names.index(name) if name in self.sites else len(self.site_names)

    def kept_counts(self, key: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self.live(key):
            site = self.nodes[i].site
            counts[site] = counts.get(site, 0) + self.world.kept[key][i].replicas
        return counts

    def evict_one_at(self, key: str, site: str, reason: str) -> None:
        rows = self.world.kept[key]
        nodes = [i for i in self.live(key) if self.nodes[i].site == site]
        nodes.sort(key=lambda i: (rows[i].replicas, -i))
        self.evict(key, nodes[0], 1, reason)

    # -- new work ------------------------------------------------------------------------

    def sites_short(self, job: JobRequest) -> int:
        return job.min_sites - len(self.sites_used(job.key))

    def turn(self, job: JobRequest) -> None:
        running = sum(r.replicas for r in self.world.kept.get(job.key, {}).values())
        missing = job.replicas - running
        if job.min_sites > job.replicas:
            if job.replicas > 0:
                reason = f"minSites {job.min_sites} > replicas {job.replicas}"
                self.unschedulable.append(
                    Unschedulable(job.key, {reason: len(self.nodes)}, reason, max(missing, 0))
                )
            return
        if missing <= 0 and self.sites_short(job) <= 0:
            return
        saved = self.world.copy() if running == 0 and job.min_sites > 1 else None
        static = self.allowed(job)
        placed = 0
        while placed < missing:
            placed += self.walk(job, static, missing - placed)
            if placed == missing or not self.preempt(job, static):
                break
        if saved is not None and placed > 0 and self.sites_short(job) > 0:
            self.world = saved
            placed = 0
        if placed < missing or self.sites_short(job) > 0:
            self.explain(job, missing - placed)

    def walk(self, job: JobRequest, static: list[int], want: int) -> int:
        feasible = [i for i in static if self.dynamic_reason(job, i) is None]
        if not feasible:
            return 0
        keys = self.keys(job, feasible)
        order = [i for _, i in sorted(zip(keys, feasible, strict=True), reverse=True)]
        placed = 0
        short = self.sites_short(job)
        if short > 0:
            seen: set[str] = set()
            for i in order:
                site = self.nodes[i].site
                if site in seen:
                    continue
                seen.add(site)
                if self.count_at(job.key, site) > 0 or self.capacity(job, i, 1) < 1:
                    continue
                self.place(job, i, 1)
                placed += 1
                short -= 1
                if short == 0 or placed == want:
                    break
        for i in order:
            if placed == want:
                break
            n = self.capacity(job, i, want - placed)
            if n > 0:
                self.place(job, i, n)
                placed += n
        return placed

    def preempt(self, job: JobRequest, static: list[int]) -> bool:
        units = []
        for key, rows in self.world.kept.items():
            victim = self.jobs.get(key)
            if victim is None or not victim.preemptible or victim.priority >= job.priority:
                continue
            for i, row in rows.items():
                units += [(victim.priority, key, i, row)] * row.replicas
        units.sort(key=lambda u: (u[0], u[1], u[2]))
        at_site: dict[str, list] = {}  # type: ignore[type-arg]
        for u in units:
            at_site.setdefault(self.nodes[u[2]].site, []).append(u)
        short_sites = self.sites_short(job) > 0
        options = []
        for i in static:
            node = self.nodes[i]
            site = node.site
            here = at_site.get(site, [])
            if node.usable_gpus < job.gpu_count or not here:
                continue
            cap = job.max_replicas_per_site
            if cap > 0 and self.count_at(job.key, site) >= cap:
                continue
            if short_sites and self.count_at(job.key, site) > 0:
                continue
            if self.room(job, i) < min(self.need(job, i), self.world.power[site]):
                continue  # evicting makes no room in mining the job may not take
            gpu_short = job.gpu_count - self.world.free[i]
            power_short = self.need(job, i) - self.world.power[site]
            chosen = self.victims(here, i, gpu_short, power_short)
            if chosen:
                options.append((max(u[0] for u in chosen), len(chosen), i, chosen))
        if not options:
            return False
        keys = self.keys(job, [o[2] for o in options])
        best = min(range(len(options)), key=lambda k: (options[k][0], options[k][1], -keys[k]))
        counts: dict[tuple[str, int], int] = {}
        for _, key, i, _ in options[best][3]:
            counts[(key, i)] = counts.get((key, i), 0) + 1
        for (key, i), n in sorted(counts.items()):
            self.evict(key, i, n, f"preempted by {job.key}")
        return True

    @staticmethod
    def victims(units: list, i: int, gpu_short: int, power_short: int) -> list:  # type: ignore[type-arg]
        if gpu_short <= 0 and power_short <= 0:
            return []
        chosen = []
        rest = []
        for u in units:
            if u[2] == i and gpu_short > 0:
                chosen.append(u)
                gpu_short -= u[3].gpus
                power_short -= u[3].need
            else:
                rest.append(u)
        if gpu_short > 0:
            return []
        for u in rest:
            if power_short <= 0:
                break
            chosen.append(u)
            if u[2] == i:
                gpu_short -= u[3].gpus
            power_short -= u[3].need
        if power_short > 0:
            return []
        for u in list(reversed(chosen)):
            g = gpu_short + (u[3].gpus if u[2] == i else 0)
            p = power_short + u[3].need
            if g <= 0 and p <= 0:
                chosen.remove(u)
                gpu_short, power_short = g, p
        return chosen

    def explain(self, job: JobRequest, missing: int) -> None:
        counts: dict[str, int] = {}
        fit = 0
        for i in range(len(self.nodes)):
            reason = self.static_reason(job, i) or self.dynamic_reason(job, i)
            if reason is None:
                fit += 1
            else:
                counts[reason] = counts.get(reason, 0) + 1
        short = job.min_sites > 1 and self.sites_short(job) > 0
        if short:
            counts[f"minSites {job.min_sites} not reachable"] = fit
        ranked = sorted(((r, n) for r, n in counts.items() if n), key=lambda kv: (-kv[1], kv[0]))
        text = f"{0 if short else fit}/{len(self.nodes)} nodes fit"
        if ranked:
            text += ": " + ", ".join(f"{n} {r}" for r, n in ranked)
        if short and fit == 0:
            text += f"; minSites {job.min_sites} not reachable"
        if 0 < missing < job.replicas:
            text = f"{missing} of {job.replicas} replicas unplaced; {text}"
        elif missing == 0:
            text = f"runs on fewer than minSites {job.min_sites} sites; {text}"
        self.unschedulable.append(Unschedulable(job.key, counts, text, missing))

    # -- the whole run -------------------------------------------------------------------

    def run(self) -> Plan:
        self.review()

        def queue(job: JobRequest) -> tuple[int, int, str]:
            return (-job.priority, len(self.allowed(job)), job.key)

        for job in sorted(self.jobs.values(), key=queue):
            self.turn(job)
        placements = []
        for key in set(self.world.kept) | set(self.world.new):
            kept = self.world.kept.get(key, {})
            new = self.world.new.get(key, {})
            for i in set(kept) | set(new):
                k = kept[i].replicas if i in kept else 0
                n = new[i].replicas if i in new else 0
                if k + n == 0:
                    continue
                gpus = (k * kept[i].gpus if k else 0) + (n * new[i].gpus if n else 0)
                power = (k * kept[i].power if k else 0.0) + (n * new[i].power if n else 0.0)
                node = self.nodes[i]
                placements.append(Placement(key, node.site, node.name, k + n, gpus, power, n))
        placements.sort(key=lambda p: (p.job, p.site, p.node))
        evictions = [
            Eviction(job, node, n, reason)
            for (job, node, reason), n in sorted(self.world.evicted.items())
            if n > 0
        ]
        sites = []
        for name in self.site_names:
            site = self.sites[name]
            now = self.world.power[name]
            shed = min(max(self.sheddable(site) - now, 0), self.sheddable(site))
            sites.append(
                SiteBudget(
                    name,
                    max(0, self.before[name]) / 1000,
                    max(0, now) / 1000,
                    (w(site.mining_load_kw) - shed) / 1000,
                )
            )
        return Plan(
            tuple(placements),
            tuple(evictions),
            tuple(sorted(self.unschedulable, key=lambda u: u.job)),
            tuple(sites),
        )


def reference_plan(snapshot: Snapshot) -> Plan:
    """Plan ``snapshot`` by the reference rules."""
    return Reference(snapshot).run()
