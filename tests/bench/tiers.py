"""Service per priority against the lexicographic optimum, on fleets short of GPUs or power.

Each instance: 8 to 10 sites, 24 to 32 nodes (8-GPU H100 and A100 nodes, 4-GPU L40S), 60 to
80 jobs of four priorities (1 to 4 replicas of 1, 2, 4 or 8 GPUs, some with a model list
or a latency SLO, ``minSites`` 1), nothing running. *Short of GPUs*: the jobs ask for about
twice the GPUs the fleet has, and power is ample. *Short of power*: the sites can feed
about half the GPUs at full draw, and the jobs ask for about as many GPUs as exist.

For each instance, the GPUs the plan serves per priority are divided by the most any
assignment with the same hard rules serves of that priority while every higher priority
gets its own most (``optimal.served_by_priority``); 1.000 is optimal.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from cango_operator.placement import (
    ImprovementBudget,
    JobRequest,
    Objective,
    PlacementEngine,
    SiteState,
    Snapshot,
)
from tests.bench.fleets import MODELS, REGIONS
from tests.bench.optimal import Instance, gpus_by_priority, served_by_priority
from tests.bench.quality import engine_assignment, model_node

PRIORITIES = (1000, 100, 10, 0)
SHORTAGES = ("GPUs", "power")


def instance(seed: int, short_of: str) -> Snapshot:
    rng = random.Random(f"{short_of}-{seed}")
    n_sites, n_nodes, n_jobs = rng.randint(8, 10), rng.randint(24, 32), rng.randint(60, 80)
    models = [MODELS[rng.choices((0, 1, 2), weights=(5, 3, 2))[0]] for _ in range(n_nodes)]
    gpus = sum(m[1] for m in models)
    full_draw_kw = sum(m[1] * m[3] for m in models) / 1000
    per_site_kw = full_draw_kw / n_sites * (0.5 if short_of == "power" else 3.0)
    sites = [
        SiteState(
            name=f"s{i}",
            region=REGIONS[i % 2],
            capacity_kw=round(per_site_kw * rng.uniform(0.6, 1.4), 1),
            pue=rng.choice((1.05, 1.15, 1.3)),
            energy_price_usd_per_mwh=round(rng.uniform(15, 90), 1),
            latency_ms={
                r: float(rng.randint(8, 45) if r == REGIONS[i % 2] else rng.randint(60, 200))
                for r in REGIONS[:2]
            },
        )
        for i in range(n_sites)
    ]
    nodes = [
        model_node(f"n{i:03d}", sites[rng.randrange(n_sites)].name, model)
        for i, model in enumerate(models)
    ]
    demand = gpus * (2.0 if short_of == "GPUs" else 1.0)
    jobs: list[JobRequest] = []
    asked = 0
    while len(jobs) < n_jobs:
        i = len(jobs)
        job = JobRequest(
            namespace="q",
            name=f"j{i:02d}",
            replicas=rng.randint(1, 4),
            gpu_count=rng.choices((1, 2, 4, 8), weights=(4, 3, 2, 2))[0],
            gpu_models=rng.choice(((), (), (), ("H100-80GB",), ("L40S-48GB", "A100-80GB"))),
            client_region=rng.choice(REGIONS[:2]),
            max_latency_ms=rng.choice((None, None, 150.0)),
            objective=rng.choice(list(Objective)),
            priority=PRIORITIES[i % len(PRIORITIES)],
        )
        if asked + job.replicas * job.gpu_count > demand and len(jobs) >= 60:
            break
        asked += job.replicas * job.gpu_count
        jobs.append(job)
    return Snapshot(sites=tuple(sites), nodes=tuple(nodes), jobs=tuple(jobs))


@dataclass
class TierResult:
    """GPUs served per priority: the optimum and each engine variant's."""

    short_of: str
    optimum: dict[int, int]
    served: dict[str, dict[int, int]]
    #: CPU seconds of each variant's plan
    cpu_s: dict[str, float]

    def ratio(self, variant: str, priority: int) -> float:
        best = self.optimum.get(priority, 0)
        return self.served[variant].get(priority, 0) / best if best else 1.0


def compare(seed: int, short_of: str, variants: dict[str, ImprovementBudget]) -> TierResult:
    snapshot = instance(seed, short_of)
    inst = Instance.of(snapshot)
    served, cpu = {}, {}
    for name, budget in variants.items():
        start = time.process_time()
        result = PlacementEngine(budget=budget).plan(snapshot)
        cpu[name] = time.process_time() - start
        served[name] = gpus_by_priority(inst, engine_assignment(result))
    return TierResult(short_of, served_by_priority(inst), served, cpu)
