"""The hard promises of a plan, checked from the snapshot and the plan alone.

Each check recomputes what it needs from docs/api.md's definitions (a site's available power,
a replica's power times PUE) rather than asking the engine, and returns the broken
promises as readable lines (empty: all kept).
"""

from __future__ import annotations

import math

from cango_operator.placement import NodePhase, Plan, SitePhase, SiteState, Snapshot


def _w(kw: float) -> int:
    return round(kw * 1000)


def _sheddable_w(site: SiteState) -> int:
    """docs/api.md: the mining that may still be shed (never loadKw - curtailableKw)."""
    nominal = site.mining_load_kw if site.mining_nominal_kw is None else site.mining_nominal_kw
    mining, curtailable = _w(site.mining_load_kw), _w(site.curtailable_kw)
    return max(0, min(curtailable, mining, mining - (_w(nominal) - curtailable)))


def broken_promises(snapshot: Snapshot, plan: Plan) -> list[str]:
    sites = {s.name: s for s in snapshot.sites}
    nodes = {n.name: n for n in snapshot.nodes}
    jobs = {j.key: j for j in snapshot.jobs}
    broken: list[str] = []

    def new_replica_need_w(job_key: str, node_name: str) -> int:
        job, node = jobs[job_key], nodes[node_name]
        power = (
            job.estimated_power_w
            if job.estimated_power_w is not None
            else job.gpu_count * node.gpu_max_power_w
        )
        return math.ceil(power * sites[node.site].pue)

    def takes_mining(job_key: str | None, node_name: str, power_w: float, gpus: int) -> bool:
        """docs/api.md, Revenue: value per kWh of the replica above the site's mining's."""
        job, site = jobs.get(job_key or ""), sites.get(nodes[node_name].site)
        if job is None or job.value_usd_per_gpu_hour is None:
            return True
        if site is None or site.mining_usd_per_kwh is None:
            return True
        usd_per_kwh = job.value_usd_per_gpu_hour * max(gpus, 1) / (max(power_w, 1.0) / 1000)
        return usd_per_kwh > site.mining_usd_per_kwh

    def replica_w(job_key: str, node_name: str) -> float:
        job, node = jobs[job_key], nodes[node_name]
        if job.estimated_power_w is not None:
            return job.estimated_power_w
        return job.gpu_count * node.gpu_max_power_w

    def existing_unit(p_job: str, p_node: str, replicas: int) -> tuple[int, int]:
        """(gpus, need W) of one replica of an existing placement."""
        p = next(x for x in snapshot.placements if x.job == p_job and x.node == p_node)
        job = jobs.get(p.job)
        gpus = p.gpus // p.replicas if p.gpus is not None else (job.gpu_count if job else 0)
        if p.power_w is not None:
            power = p.power_w / p.replicas
        elif job is not None:
            power = (
                job.estimated_power_w
                if job.estimated_power_w is not None
                else job.gpu_count * nodes[p.node].gpu_max_power_w
            )
        else:
            power = 0.0
        site = sites.get(nodes[p.node].site)
        return gpus, math.ceil(power * (site.pue if site else 1.0))

    evicted = {}
    for e in plan.evictions:
        evicted[(e.job, e.node)] = evicted.get((e.job, e.node), 0) + e.replicas
    kept_existing = {
        (p.job, p.node): p.replicas - evicted.get((p.job, p.node), 0) for p in snapshot.placements
    }

    # No needless moves: existing replicas stay unless evicted with a reason.
    for (job, node), left in kept_existing.items():
        rows = [p for p in plan.placements if p.job == job and p.node == node]
        in_plan = sum(p.replicas - p.new_replicas for p in rows)
        if in_plan != left:
            broken.append(f"{job} on {node}: {in_plan} running replicas kept, expected {left}")

    # Per node: GPUs.
    for name, node in nodes.items():
        rows = [p for p in plan.placements if p.node == name]
        new_gpus = sum(p.new_replicas * jobs[p.job].gpu_count for p in rows)
        if new_gpus == 0:
            continue
        existing = sum(
            r * existing_unit(j, n, r)[0] for (j, n), r in kept_existing.items() if n == name
        )
        existing_before = sum(
            p.replicas * existing_unit(p.job, p.node, p.replicas)[0]
            for p in snapshot.placements
            if p.node == name
        )
        freed = existing_before - existing
        free = node.usable_gpus - max(node.allocated_gpus, existing_before) + freed
        if new_gpus > free:
            broken.append(f"node {name}: {new_gpus} new GPUs, only {free} free")
        if sum(p.gpus for p in rows) > node.usable_gpus:
            broken.append(f"node {name}: more GPUs planned than it has healthy")
        if node.phase not in (NodePhase.READY, NodePhase.DEGRADED) or node.unschedulable:
            broken.append(f"node {name}: new replicas on a node that takes none")

    # Per site: power.
    for name, site in sites.items():
        new_w = sum(
            p.new_replicas * new_replica_need_w(p.job, p.node)
            for p in plan.placements
            if p.site == name and p.new_replicas
        )
        if new_w == 0:
            continue
        if site.phase not in (SitePhase.READY, SitePhase.DEGRADED) or site.cordoned:
            broken.append(f"site {name}: new replicas at a site that takes none")
        existing_w = sum(
            p.replicas * existing_unit(p.job, p.node, p.replicas)[1]
            for p in snapshot.placements
            if p.node in nodes and nodes[p.node].site == name
        )
        freed_w = sum(
            n * existing_unit(j, nd, n)[1]
            for (j, nd), n in evicted.items()
            if nd in nodes and nodes[nd].site == name
        )
        committed = max(_w(site.committed_kw), existing_w)
        available = (
            _w(site.capacity_kw)
            - _w(site.reserve_kw)
            - _w(site.other_load_kw)
            - max(_w(site.gpu_draw_kw), committed)
            + _sheddable_w(site)
        )
        if new_w > available + freed_w:
            broken.append(
                f"site {name}: {new_w} W new, only {available} W available + {freed_w} W freed"
            )
        # Work that earns less per kWh than mining stays within the power without mining.
        new_restricted_w = sum(
            p.new_replicas * new_replica_need_w(p.job, p.node)
            for p in plan.placements
            if p.site == name
            and p.new_replicas
            and not takes_mining(p.job, p.node, replica_w(p.job, p.node), jobs[p.job].gpu_count)
        )
        if new_restricted_w:
            kept_restricted_w = 0
            for (j, nd), n in kept_existing.items():
                if nd not in nodes or nodes[nd].site != name or n <= 0:
                    continue
                gpus, need = existing_unit(j, nd, n)
                p = next(x for x in snapshot.placements if x.job == j and x.node == nd)
                power = p.power_w / p.replicas if p.power_w is not None else None
                if power is None:
                    power = replica_w(j, nd) if j in jobs else 0.0
                if not takes_mining(j, nd, power, gpus):
                    kept_restricted_w += n * need
            base = _w(site.capacity_kw) - _w(site.reserve_kw) - _w(site.other_load_kw)
            if new_restricted_w + kept_restricted_w > base:
                broken.append(
                    f"site {name}: {new_restricted_w + kept_restricted_w} W of work outbid by "
                    f"mining, only {base} W without mining"
                )

    # Per job: the hard rules.
    for key, job in jobs.items():
        rows = plan.placements_of(key)
        total = sum(p.replicas for p in rows)
        if total > job.replicas:
            broken.append(f"{key}: {total} replicas planned, spec wants {job.replicas}")
        per_site: dict[str, int] = {}
        for p in rows:
            site = sites[p.site]
            node = nodes[p.node]
            per_site[p.site] = per_site.get(p.site, 0) + p.replicas
            if job.allowed_regions and site.region not in job.allowed_regions:
                broken.append(f"{key}: on {p.site} in {site.region}, not allowed")
            if job.max_latency_ms is not None:
                latency = site.latency_ms.get(job.client_region or "")
                if latency is None or latency > job.max_latency_ms:
                    broken.append(f"{key}: on {p.site} at {latency} ms > {job.max_latency_ms}")
            if job.gpu_models and node.gpu_model not in job.gpu_models:
                broken.append(f"{key}: on a {node.gpu_model}")
            if node.gpu_memory_mib < job.min_memory_mib:
                broken.append(f"{key}: on {node.gpu_memory_mib} MiB GPUs")
        if job.max_replicas_per_site and any(
            n > job.max_replicas_per_site for n in per_site.values()
        ):
            broken.append(f"{key}: over maxReplicasPerSite: {per_site}")
        reported = next((u for u in plan.unschedulable if u.job == key), None)
        spread_short = total > 0 and len(per_site) < job.min_sites
        if (spread_short or total < job.replicas) and reported is None:
            broken.append(f"{key}: short of replicas or minSites and not reported")
        if spread_short and reported and not any("minSites" in r for r in reported.reasons):
            broken.append(f"{key}: below minSites, reasons do not say so")

    # Preemption only of lower-priority, preemptible work.
    for e in plan.evictions:
        if not e.reason.startswith("preempted by "):
            continue
        winner = jobs[e.reason.removeprefix("preempted by ")]
        victim = jobs[e.job]
        if not victim.preemptible or victim.priority >= winner.priority:
            broken.append(f"{e.job} preempted by {winner.key} without outranking it")
    return broken
