"""Random fleets, jobs and running placements for property tests.

Small on purpose (a few sites, a dozen nodes) so that collisions happen: shared sites run
out of power, nodes fill up, priorities clash, replicas sit on nodes that go away.
"""

from __future__ import annotations

from hypothesis import strategies as st

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
MODELS = {"H100-80GB": (81559, 700.0), "A100-80GB": (81920, 400.0), "L40S-48GB": (46068, 350.0)}
PUES = (1.0, 1.1, 1.15, 1.3, 1.5)


@st.composite
def sites(draw: st.DrawFn, count: int) -> tuple[SiteState, ...]:
    out = []
    for i in range(count):
        capacity = draw(st.integers(1, 120))
        mining = draw(st.integers(0, capacity))
        out.append(
            SiteState(
                name=f"site-{i}",
                region=draw(st.sampled_from(REGIONS)),
                capacity_kw=float(capacity),
                reserve_kw=draw(st.sampled_from([0.0, 0.5, capacity * 0.1])),
                other_load_kw=float(draw(st.integers(0, capacity // 2))),
                gpu_draw_kw=draw(st.sampled_from([0.0, 1.5, 4.0, 12.0])),
                committed_kw=draw(st.sampled_from([0.0, 2.0, 6.0])),
                mining_load_kw=float(mining),
                curtailable_kw=float(draw(st.integers(0, capacity))),
                pue=draw(st.sampled_from(PUES)),
                phase=draw(
                    st.sampled_from([SitePhase.READY] * 16 + list(SitePhase)),
                ),
                cordoned=draw(st.integers(0, 9)) == 0,
                energy_price_usd_per_mwh=float(draw(st.integers(5, 120))),
                latency_ms={
                    r: float(draw(st.integers(1, 250)))
                    for r in REGIONS
                    if draw(st.integers(0, 9)) > 0
                },
                mining_usd_per_kwh=draw(st.sampled_from([None, None, 0.05, 0.1])),
                # some already shed: the meter below the Site's nominal mining
                mining_nominal_kw=draw(st.sampled_from([None, None, float(mining) + 5])),
            )
        )
    return tuple(out)


@st.composite
def nodes(draw: st.DrawFn, site_names: list[str], count: int) -> tuple[NodeState, ...]:
    out = []
    for i in range(count):
        model = draw(st.sampled_from(sorted(MODELS)))
        memory, power = MODELS[model]
        gpus = draw(st.sampled_from([1, 2, 4, 8, 8]))
        out.append(
            NodeState(
                name=f"node-{i:02d}",
                site=draw(st.sampled_from([*site_names * 4, "site-gone"])),
                gpu_model=model,
                gpu_count=gpus,
                gpu_memory_mib=memory,
                gpu_max_power_w=power,
                healthy_gpus=draw(st.one_of(st.none(), st.none(), st.integers(0, gpus))),
                allocated_gpus=draw(st.sampled_from([0, 0, 0, 1, gpus])),
                phase=draw(st.sampled_from([NodePhase.READY] * 16 + list(NodePhase))),
                unschedulable=draw(st.integers(0, 9)) == 0,
            )
        )
    return tuple(out)


@st.composite
def jobs(draw: st.DrawFn, count: int) -> tuple[JobRequest, ...]:
    out = []
    for i in range(count):
        region = draw(st.one_of(st.none(), st.sampled_from(REGIONS)))
        out.append(
            JobRequest(
                namespace=draw(st.sampled_from(["acme", "beta"])),
                name=f"job-{i}",
                replicas=draw(st.integers(0, 6)),
                gpu_count=draw(st.sampled_from([1, 1, 2, 4, 8])),
                gpu_models=tuple(
                    draw(
                        st.one_of(
                            st.just(set()), st.sets(st.sampled_from(sorted(MODELS)), max_size=2)
                        )
                    )
                ),
                min_memory_mib=draw(st.sampled_from([0, 0, 0, 40000, 80000])),
                estimated_power_w=draw(st.one_of(st.none(), st.sampled_from([150.0, 650.0]))),
                client_region=region,
                max_latency_ms=(
                    None
                    if region is None
                    else draw(st.sampled_from([None, 30.0, 80.0, 150.0, 150.0]))
                ),
                allowed_regions=tuple(
                    draw(st.one_of(st.just(set()), st.sets(st.sampled_from(REGIONS), max_size=3)))
                ),
                min_sites=draw(st.sampled_from([1, 1, 2, 3])),
                max_replicas_per_site=draw(st.sampled_from([0, 0, 1, 2])),
                max_moves_per_round=draw(st.sampled_from([0, 0, 0, 1, 3])),
                objective=draw(st.sampled_from(list(Objective))),
                priority=draw(st.sampled_from([0, 10, 100])),
                preemptible=draw(st.booleans()),
                value_usd_per_gpu_hour=draw(st.sampled_from([None, None, 0.01, 0.05, 2.0])),
            )
        )
    return tuple(out)


@st.composite
def running(
    draw: st.DrawFn, job_list: tuple[JobRequest, ...], node_names: list[str]
) -> tuple[ExistingPlacement, ...]:
    keys = [j.key for j in job_list] * 3 + ["acme/deleted"]
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(keys), st.sampled_from([*node_names * 3, "node-gone"])),
            max_size=8,
            unique=True,
        )
    )
    out = []
    for job, node in pairs:
        replicas = draw(st.integers(1, 3))
        stated = draw(st.booleans())
        out.append(
            ExistingPlacement(
                job=job,
                node=node,
                replicas=replicas,
                gpus=replicas * draw(st.sampled_from([1, 2])) if stated else None,
                power_w=replicas * 500.0 if stated else None,
            )
        )
    return tuple(out)


@st.composite
def snapshots(draw: st.DrawFn, max_nodes: int = 12, max_jobs: int = 8) -> Snapshot:
    site_list = draw(sites(draw(st.integers(1, 5))))
    node_list = draw(nodes([s.name for s in site_list], draw(st.integers(0, max_nodes))))
    job_list = draw(jobs(draw(st.integers(0, max_jobs))))
    placements = draw(running(job_list, [n.name for n in node_list]))
    return Snapshot(sites=site_list, nodes=node_list, jobs=job_list, placements=placements)


@st.composite
def crowded_snapshots(draw: st.DrawFn) -> Snapshot:
    """Healthy sites and nodes mostly full of low-priority work, and new work that outranks
    it: the shape that makes the engine preempt."""
    mining = [float(draw(st.integers(0, 10))) for _ in range(draw(st.integers(1, 3)))]
    site_list = tuple(
        SiteState(
            name=f"site-{i}",
            region="north-america",
            capacity_kw=float(draw(st.integers(2, 40))) + kw,
            other_load_kw=kw,  # the mining, as the power model takes it
            mining_load_kw=kw,
            curtailable_kw=float(draw(st.integers(0, 10))),
            pue=draw(st.sampled_from(PUES)),
            energy_price_usd_per_mwh=float(draw(st.integers(5, 120))),
            latency_ms={"north-america": float(draw(st.integers(5, 60)))},
            mining_usd_per_kwh=draw(st.sampled_from([None, 0.1])),
        )
        for i, kw in enumerate(mining)
    )
    node_list = tuple(
        NodeState(
            name=f"node-{i:02d}",
            site=draw(st.sampled_from([s.name for s in site_list])),
            gpu_model="H100-80GB",
            gpu_count=draw(st.sampled_from([2, 4, 8])),
            gpu_memory_mib=81559,
            gpu_max_power_w=700.0,
        )
        for i in range(draw(st.integers(1, 8)))
    )
    job_list = tuple(
        JobRequest(
            namespace="t",
            name=f"job-{i}",
            replicas=draw(st.integers(1, 5)),
            gpu_count=draw(st.sampled_from([1, 2, 4])),
            estimated_power_w=draw(st.sampled_from([None, 300.0, 900.0])),
            client_region="north-america",
            min_sites=draw(st.sampled_from([1, 1, 2])),
            max_replicas_per_site=draw(st.sampled_from([0, 0, 2])),
            max_moves_per_round=draw(st.sampled_from([0, 0, 1, 2])),
            objective=draw(st.sampled_from(list(Objective))),
            priority=draw(st.sampled_from([0, 0, 5, 50, 100])),
            preemptible=draw(st.integers(0, 4)) > 0,
            value_usd_per_gpu_hour=draw(st.sampled_from([None, 0.01, 2.0])),
        )
        for i in range(draw(st.integers(1, 8)))
    )
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from([j.key for j in job_list]),
                st.sampled_from([n.name for n in node_list]),
            ),
            max_size=10,
            unique=True,
        )
    )
    placements = tuple(
        ExistingPlacement(job=job, node=node, replicas=draw(st.integers(1, 3)))
        for job, node in pairs
    )
    return Snapshot(sites=site_list, nodes=node_list, jobs=job_list, placements=placements)
