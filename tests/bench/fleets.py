"""Generated fleets and job queues for the benchmark, reproducible from a seed.

A fleet looks like the demo's (examples/demo/scenario.yaml) scaled up: 40 mining sites in
four regions, each with a power budget shared with miners (part of the mining
curtailable), GPU nodes of three models, a few unhealthy nodes and sites that take no
work, and running work of earlier jobs on about a fifth of the GPUs. Pending jobs mix
sizes, models, latency SLOs, spread rules, objectives and priorities so that every rule
and preemption gets used.
"""

from __future__ import annotations

import random

from cango_operator.placement import (
    ExistingPlacement,
    JobRequest,
    NodePhase,
    NodeState,
    Objective,
    SitePhase,
    SiteState,
    Snapshot,
)

REGIONS = ("north-america", "south-america", "middle-east", "east-africa")
MODELS = (
    # name, GPUs per node, memory MiB, max power W
    ("H100-80GB", 8, 81559, 700.0),
    ("A100-80GB", 8, 81920, 400.0),
    ("L40S-48GB", 4, 46068, 350.0),
)
SITES = 40


def fleet_sites(rng: random.Random, nodes: int) -> list[SiteState]:
    per_site_kw = nodes / SITES * 8 * 0.55 * 1.2  # room for about 55% of the GPUs at full power
    out = []
    for i in range(SITES):
        region = REGIONS[i % len(REGIONS)]
        capacity = per_site_kw * rng.uniform(1.5, 3.0)
        mining = capacity * rng.uniform(0.4, 0.6)
        out.append(
            SiteState(
                name=f"{region[:2]}-site-{i:02d}",
                region=region,
                capacity_kw=round(capacity, 1),
                reserve_kw=round(capacity * 0.03, 1),
                other_load_kw=round(mining + capacity * 0.02, 1),
                mining_load_kw=round(mining, 1),
                curtailable_kw=round(mining * rng.uniform(0.0, 0.5), 1),
                pue=rng.choice((1.05, 1.1, 1.15, 1.2, 1.3)),
                phase=SitePhase.READY if rng.random() > 0.05 else SitePhase.UNKNOWN,
                cordoned=rng.random() < 0.03,
                energy_price_usd_per_mwh=round(rng.uniform(20, 90), 1),
                latency_ms={
                    r: float(rng.randint(8, 45) if r == region else rng.randint(70, 260))
                    for r in REGIONS
                },
            )
        )
    return out


def fleet_nodes(rng: random.Random, sites: list[SiteState], count: int) -> list[NodeState]:
    out = []
    for i in range(count):
        site = sites[i % len(sites)]
        model, gpus, memory, power = MODELS[rng.choices((0, 1, 2), weights=(5, 3, 2))[0]]
        roll = rng.random()
        phase = (
            NodePhase.UNHEALTHY
            if roll < 0.01
            else NodePhase.UNKNOWN
            if roll < 0.02
            else NodePhase.DEGRADED
            if roll < 0.04
            else NodePhase.READY
        )
        out.append(
            NodeState(
                name=f"{site.name}-n{i:05d}",
                site=site.name,
                gpu_model=model,
                gpu_count=gpus,
                gpu_memory_mib=memory,
                gpu_max_power_w=power,
                healthy_gpus=gpus - 1 if phase is NodePhase.DEGRADED else None,
                phase=phase,
                unschedulable=rng.random() < 0.01,
            )
        )
    return out


def job(rng: random.Random, name: str, namespace: str, priority: int) -> JobRequest:
    region = rng.choice(REGIONS)
    gpus = rng.choices((1, 2, 4, 8), weights=(5, 3, 2, 1))[0]
    models = rng.choice(((), ("H100-80GB",), ("H100-80GB", "A100-80GB"), ("L40S-48GB",)))
    return JobRequest(
        namespace=namespace,
        name=name,
        replicas=rng.randint(1, 8),
        gpu_count=gpus,
        gpu_models=models,
        min_memory_mib=rng.choice((0, 0, 40000)),
        estimated_power_w=rng.choice((None, gpus * 450.0)),
        client_region=region,
        max_latency_ms=rng.choice((None, 50.0, 100.0, 300.0)),
        allowed_regions=rng.choice(((), (), (), (region,))),
        min_sites=rng.choice((1, 1, 1, 2, 3)),
        max_replicas_per_site=rng.choice((0, 0, 0, 4)),
        objective=rng.choice(list(Objective)),
        priority=priority,
        preemptible=rng.random() < 0.8,
    )


def running_work(
    rng: random.Random, nodes: list[NodeState], jobs: int
) -> tuple[list[JobRequest], list[ExistingPlacement]]:
    """Low-priority jobs already running on about a fifth of the nodes."""
    running = [
        JobRequest(
            namespace="running",
            name=f"svc-{i:04d}",
            replicas=0,  # filled in below from the placements made
            gpu_count=1,
            estimated_power_w=450.0,
            priority=rng.choice((0, 10)),
            preemptible=rng.random() < 0.9,
        )
        for i in range(jobs)
    ]
    counts = [0] * jobs
    placements = []
    for node in rng.sample(nodes, len(nodes) // 5):
        k = rng.randrange(jobs)
        replicas = rng.randint(1, node.usable_gpus) if node.usable_gpus else 0
        if replicas:
            counts[k] += replicas
            placements.append(
                ExistingPlacement(job=running[k].key, node=node.name, replicas=replicas)
            )
    jobs_out = [
        JobRequest(
            namespace=j.namespace,
            name=j.name,
            replicas=min(counts[i], 1000),
            gpu_count=1,
            estimated_power_w=450.0,
            priority=j.priority,
            preemptible=j.preemptible,
        )
        for i, j in enumerate(running)
        if counts[i]
    ]
    return jobs_out, placements


def generate(nodes: int, pending: int, seed: int = 7) -> Snapshot:
    """A fleet of ``nodes`` GPU nodes, with running work, and ``pending`` new jobs."""
    rng = random.Random(seed)
    sites = fleet_sites(rng, nodes)
    node_list = fleet_nodes(rng, sites, nodes)
    running, placements = running_work(rng, node_list, max(10, nodes // 50))
    new = [
        job(rng, f"job-{i:05d}", f"tenant-{i % 17:02d}", rng.choice((0, 50, 100, 100, 500)))
        for i in range(pending)
    ]
    return Snapshot(
        sites=tuple(sites),
        nodes=tuple(node_list),
        jobs=tuple(running + new),
        placements=tuple(placements),
    )
