"""Plan quality against the optimum on small instances.

For each random instance (8 sites, 40 nodes, 20 jobs of one priority, nothing running,
power tight enough that choices matter) and each objective:

- **jobs placed**: jobs the engine places fully vs the most any assignment can;
- **replicas placed**: the same for replicas;
- **energy cost**: what the engine's plan costs per hour vs the cheapest assignment that
  places exactly as many replicas of each job as the engine did (same service, so the
  ratio is about where, not how much);
- **mean latency**: the same with latency to the client region instead of cost.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from cango_operator.placement import (
    DEFAULT_BUDGET,
    DEFAULT_PROFILE,
    ImprovementBudget,
    JobRequest,
    NodeState,
    Objective,
    PlacementEngine,
    Plan,
    Profile,
    SiteState,
    Snapshot,
)
from tests.bench.fleets import MODELS, REGIONS
from tests.bench.optimal import Instance, solve


def instance(
    seed: int, objective: Objective, sites: int = 8, nodes: int = 40, jobs: int = 20
) -> Snapshot:
    rng = random.Random(seed)
    site_list = []
    for i in range(sites):
        region = REGIONS[i % 2]
        site_list.append(
            SiteState(
                name=f"s{i}",
                region=region,
                capacity_kw=round(rng.uniform(8, 30), 1),
                pue=rng.choice((1.05, 1.15, 1.3)),
                energy_price_usd_per_mwh=round(rng.uniform(15, 90), 1),
                latency_ms={
                    r: float(rng.randint(8, 45) if r == region else rng.randint(60, 200))
                    for r in REGIONS[:2]
                },
            )
        )
    node_list = [
        model_node(f"n{i:03d}", site_list[rng.randrange(sites)].name, model)
        for i, model in enumerate(MODELS[rng.randrange(len(MODELS))] for _ in range(nodes))
    ]
    job_list = [
        JobRequest(
            namespace="q",
            name=f"j{i:02d}",
            replicas=rng.randint(1, 6),
            gpu_count=rng.choice((1, 1, 2, 4)),
            gpu_models=rng.choice(((), (), ("H100-80GB",), ("L40S-48GB", "A100-80GB"))),
            client_region=rng.choice(REGIONS[:2]),
            max_latency_ms=rng.choice((None, 50.0, 150.0)),
            min_sites=rng.choice((1, 1, 2)),
            max_replicas_per_site=rng.choice((0, 0, 3)),
            objective=objective,
        )
        for i in range(jobs)
    ]
    return Snapshot(sites=tuple(site_list), nodes=tuple(node_list), jobs=tuple(job_list))


def model_node(name: str, site: str, model: tuple[str, int, int, float]) -> NodeState:
    """A node of one of the fleets' models: (name, GPUs, memory MiB, max power W)."""
    gpu_model, gpus, memory, power = model
    return NodeState(
        name=name,
        site=site,
        gpu_model=gpu_model,
        gpu_count=gpus,
        gpu_memory_mib=memory,
        gpu_max_power_w=power,
    )


@dataclass
class Measures:
    jobs: int
    replicas: int
    cost: float
    latency_sum: float

    @property
    def mean_latency(self) -> float:
        return self.latency_sum / self.replicas if self.replicas else 0.0


def measure(inst: Instance, assignment: dict[tuple[str, str], int]) -> Measures:
    ref = inst.ref
    per_job: dict[str, int] = {}
    cost = latency = 0.0
    jobs = {j.key: j for j in inst.jobs}
    for (key, node_name), n in assignment.items():
        job = jobs[key]
        i = ref.index[node_name]
        site = ref.sites[ref.nodes[i].site]
        per_job[key] = per_job.get(key, 0) + n
        cost += n * ref.need(job, i) * site.energy_price_usd_per_mwh / 1e6
        latency += n * (ref.latency(job, i) or 0.0)
    full = sum(1 for j in inst.jobs if per_job.get(j.key, 0) == j.replicas)
    return Measures(full, sum(per_job.values()), cost, latency)


def engine_assignment(result: Plan) -> dict[tuple[str, str], int]:
    return {(p.job, p.node): p.replicas for p in result.placements}


@dataclass
class Comparison:
    objective: Objective
    jobs: tuple[int, int]  # engine, best
    replicas: tuple[int, int]
    cost: tuple[float, float]  # engine, cheapest for the same replicas per job
    latency: tuple[float, float]  # engine mean, lowest mean for the same replicas per job


def compare(
    seed: int,
    objective: Objective,
    profile: Profile = DEFAULT_PROFILE,
    budgets: Mapping[str, ImprovementBudget] | None = None,
) -> dict[str, Comparison]:
    """Each engine variant (name -> improvement budget; default: the default budget)
    against the optimum on one instance."""
    snapshot = instance(seed, objective)
    inst = Instance.of(snapshot)
    best_jobs = solve(inst, "jobs")
    best_replicas = solve(inst, "replicas")
    assert best_jobs is not None and best_replicas is not None
    out = {}
    for name, budget in (budgets or {"engine": DEFAULT_BUDGET}).items():
        mine = engine_assignment(PlacementEngine(profile, budget).plan(snapshot))
        engine = measure(inst, mine)
        counts: dict[str, int] = {}
        for (key, _), n in mine.items():
            counts[key] = counts.get(key, 0) + n
        cheapest = solve(inst, "cost", counts)
        closest = solve(inst, "latency", counts)
        assert cheapest is not None and closest is not None, "the engine's own plan is feasible"
        out[name] = Comparison(
            objective=objective,
            jobs=(engine.jobs, measure(inst, best_jobs).jobs),
            replicas=(engine.replicas, measure(inst, best_replicas).replicas),
            cost=(engine.cost, measure(inst, cheapest).cost),
            latency=(engine.mean_latency, measure(inst, closest).mean_latency),
        )
    return out
