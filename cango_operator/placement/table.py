"""The fleet as NumPy arrays: one row per node, one per site, indexed by sorted name.

Plugins read these arrays instead of the snapshot objects so that each rule is one vector
expression over all nodes. Rows are sorted by name, which makes ties break the same way
whatever order the snapshot listed things in. Site arrays carry one extra last row for
"no such site", so a node naming a missing site still has a row to point at.

Power is counted in whole watts (``watts()``), so budgets add and subtract exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from cango_operator.api import budget, revenue
from cango_operator.placement.snapshot import NodePhase, NodeState, SitePhase, SiteState, Snapshot

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Site phase codes in the arrays; MISSING is the extra row for a site the snapshot lacks.
SITE_PHASES: tuple[str, ...] = (*(p.value for p in SitePhase), "missing")
SITE_MISSING = len(SITE_PHASES) - 1
NODE_PHASES: tuple[str, ...] = tuple(p.value for p in NodePhase)


def watts(kw: float) -> int:
    """Kilowatts to whole watts (nearest)."""
    return round(kw * 1000)


@dataclass(frozen=True, slots=True)
class FleetTable:
    """Sites and nodes of a snapshot, column by column."""

    sites: tuple[SiteState, ...]
    site_index: Mapping[str, int]
    regions: tuple[str, ...]
    region_index: Mapping[str, int]
    site_phase: IntArray
    site_cordoned: BoolArray
    site_region: IntArray
    site_pue: FloatArray
    site_price: FloatArray
    #: [site, region] round-trip time in ms; NaN where the site declares none.
    site_latency: FloatArray
    #: capacity - reserve - other load, in W (before GPU use and mining shedding)
    site_base_w: IntArray
    site_gpu_draw_w: IntArray
    site_committed_w: IntArray
    site_mining_w: IntArray
    #: mining the site may still shed for GPUs (api/budget.py)
    site_sheddable_w: IntArray
    #: revenue of a kWh of the mining GPU work would displace; -inf where unknown
    site_mining_usd_per_kwh: FloatArray
    nodes: tuple[NodeState, ...]
    node_index: Mapping[str, int]
    models: tuple[str, ...]
    model_index: Mapping[str, int]
    node_site: IntArray
    node_model: IntArray
    node_memory_mib: IntArray
    node_max_power_w: FloatArray
    #: share of maxPowerW the node's GPUs are capped to (1.0: not capped)
    node_power_share: FloatArray
    node_usable: IntArray
    node_allocated: IntArray
    node_phase: IntArray
    node_unschedulable: BoolArray

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_sites(self) -> int:
        """Real sites (the arrays have one more row, for a missing site)."""
        return len(self.sites)

    @classmethod
    def build(cls, snapshot: Snapshot) -> FleetTable:
        sites = tuple(sorted(snapshot.sites, key=lambda s: s.name))
        nodes = tuple(sorted(snapshot.nodes, key=lambda n: n.name))
        site_index = {s.name: i for i, s in enumerate(sites)}
        region_names = {s.region for s in sites}
        for s in sites:
            region_names.update(s.latency_ms)
        for j in snapshot.jobs:
            region_names.update(j.allowed_regions)
            if j.client_region is not None:
                region_names.add(j.client_region)
        regions = tuple(sorted(region_names))
        region_index = {r: i for i, r in enumerate(regions)}
        models = tuple(sorted({n.gpu_model for n in nodes}))
        model_index = {m: i for i, m in enumerate(models)}

        missing = len(sites)
        latency = np.full((len(sites) + 1, max(len(regions), 1)), np.nan)
        for i, s in enumerate(sites):
            for region, ms in s.latency_ms.items():
                latency[i, region_index[region]] = float(ms)

        return cls(
            sites=sites,
            site_index=MappingProxyType(site_index),
            regions=regions,
            region_index=MappingProxyType(region_index),
            site_phase=_ints([SITE_PHASES.index(s.phase) for s in sites], SITE_MISSING),
            site_cordoned=_bools([s.cordoned for s in sites], True),
            site_region=_ints([region_index[s.region] for s in sites], -1),
            site_pue=_floats([s.pue for s in sites], 1.0),
            site_price=_floats([s.energy_price_usd_per_mwh for s in sites], 0.0),
            site_latency=latency,
            site_base_w=_ints(
                [
                    int(
                        budget.base(
                            watts(s.capacity_kw), watts(s.reserve_kw), watts(s.other_load_kw)
                        )
                    )
                    for s in sites
                ],
                0,
            ),
            site_gpu_draw_w=_ints([watts(s.gpu_draw_kw) for s in sites], 0),
            site_committed_w=_ints([watts(s.committed_kw) for s in sites], 0),
            site_mining_w=_ints([watts(s.mining_load_kw) for s in sites], 0),
            site_sheddable_w=_ints(
                [
                    int(
                        budget.sheddable(
                            watts(s.curtailable_kw), watts(s.mining_load_kw), watts(s.nominal_kw)
                        )
                    )
                    for s in sites
                ],
                0,
            ),
            site_mining_usd_per_kwh=_floats(
                [
                    revenue.UNKNOWN_MINING if s.mining_usd_per_kwh is None else s.mining_usd_per_kwh
                    for s in sites
                ],
                revenue.UNKNOWN_MINING,
            ),
            nodes=nodes,
            node_index=MappingProxyType({n.name: i for i, n in enumerate(nodes)}),
            models=models,
            model_index=MappingProxyType(model_index),
            node_site=np.array([site_index.get(n.site, missing) for n in nodes], dtype=np.int64),
            node_model=np.array([model_index[n.gpu_model] for n in nodes], dtype=np.int64),
            node_memory_mib=np.array([n.gpu_memory_mib for n in nodes], dtype=np.int64),
            node_max_power_w=np.array([n.gpu_max_power_w for n in nodes], dtype=np.float64),
            node_power_share=np.array([n.power_share for n in nodes], dtype=np.float64),
            node_usable=np.array([n.usable_gpus for n in nodes], dtype=np.int64),
            node_allocated=np.array([n.allocated_gpus for n in nodes], dtype=np.int64),
            node_phase=np.array([NODE_PHASES.index(n.phase) for n in nodes], dtype=np.int64),
            node_unschedulable=np.array([n.unschedulable for n in nodes], dtype=np.bool_),
        )


def _ints(values: list[int], pad: int) -> IntArray:
    """A site column with the extra "missing site" row at the end."""
    return np.array([*values, pad], dtype=np.int64)


def _floats(values: list[float], pad: float) -> FloatArray:
    return np.array([*values, pad], dtype=np.float64)


def _bools(values: list[bool], pad: bool) -> BoolArray:
    return np.array([*values, pad], dtype=np.bool_)
