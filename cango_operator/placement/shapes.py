"""Everything that depends on a job's shape only, computed once per distinct value.

Many jobs share a shape, and most static rules read only a small part of it (the GPU
model list, the client region and SLO, ...). Each static filter says what it reads
(``reads``), so its mask over all nodes is computed once per distinct value of that part
and the masks of a shape are just ANDed together.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from cango_operator.api import revenue
from cango_operator.placement.explain import Counted, count_static
from cango_operator.placement.framework import JobShape, ShapeArrays, StaticFilter
from cango_operator.placement.table import BoolArray, FleetTable, FloatArray, IntArray


class ShapeCache:
    """Per-shape arrays and static-filter results for one fleet and one list of filters."""

    def __init__(self, fleet: FleetTable, static_filters: tuple[StaticFilter, ...]) -> None:
        self.fleet = fleet
        self.static_filters = static_filters
        self._all: IntArray = np.arange(fleet.n_nodes, dtype=np.int64)
        self._arrays: dict[JobShape, ShapeArrays] = {}
        self._power: dict[tuple[float | None, int], tuple[FloatArray, IntArray]] = {}
        self._latency: dict[str | None, FloatArray] = {}
        self._masks: dict[tuple[int, Hashable], BoolArray] = {}
        self._nodes: dict[tuple[Hashable, ...], IntArray] = {}
        self._counted: dict[tuple[Hashable, ...], Counted] = {}

    def arrays(self, shape: JobShape) -> ShapeArrays:
        arrays = self._arrays.get(shape)
        if arrays is None:
            power, need = self._power_of(shape)
            arrays = ShapeArrays(
                shape=shape,
                power_w=power,
                need_w=need,
                latency_ms=self._latency_of(shape),
                may_shed=self._may_shed(shape, power),
            )
            self._arrays[shape] = arrays
        return arrays

    def static_nodes(self, arrays: ShapeArrays) -> IntArray:
        """Nodes that pass every static filter, in index order."""
        parts = tuple(f.reads(arrays.shape) for f in self.static_filters)
        nodes = self._nodes.get(parts)
        if nodes is None:
            ok = np.ones(self.fleet.n_nodes, dtype=np.bool_)
            for i, f in enumerate(self.static_filters):
                passes = self._masks.get((i, parts[i]))
                if passes is None:
                    result = f.filter(arrays, self.fleet, self._all)
                    passes = self._masks[(i, parts[i])] = ~result.rejected(self.fleet.n_nodes)
                ok &= passes
            nodes = self._nodes[parts] = np.flatnonzero(ok).astype(np.int64)
        return nodes

    def static_reasons(self, arrays: ShapeArrays) -> Counted:
        """Nodes each static filter rules out first, and the nodes left (for messages)."""
        parts = tuple(f.reads(arrays.shape) for f in self.static_filters)
        counted = self._counted.get(parts)
        if counted is None:
            counted = self._counted[parts] = count_static(self.static_filters, arrays, self.fleet)
        return counted

    def _power_of(self, shape: JobShape) -> tuple[FloatArray, IntArray]:
        key = (shape.estimated_power_w, shape.gpu_count)
        cached = self._power.get(key)
        if cached is None:
            fleet = self.fleet
            if shape.estimated_power_w is not None:
                power = np.full(fleet.n_nodes, float(shape.estimated_power_w))
            else:
                power = shape.gpu_count * fleet.node_max_power_w
            power = power * fleet.node_power_share  # a capped GPU draws its cap at most
            need = np.ceil(power * fleet.site_pue[fleet.node_site]).astype(np.int64)
            cached = self._power[key] = (power, need)
        return cached

    def _may_shed(self, shape: JobShape, power_w: FloatArray) -> BoolArray:
        """Where a replica earns more per kWh than the mining it would displace."""
        fleet = self.fleet
        return revenue.may_take_mining(
            shape.value_usd_per_gpu_hour,
            shape.gpu_count,
            power_w,
            fleet.site_mining_usd_per_kwh[fleet.node_site],
        )

    def _latency_of(self, shape: JobShape) -> FloatArray:
        latency = self._latency.get(shape.client_region)
        if latency is None:
            fleet = self.fleet
            region = fleet.region_index.get(shape.client_region or "", -1)
            if region >= 0:
                latency = fleet.site_latency[fleet.node_site, region]
            else:
                latency = np.full(fleet.n_nodes, np.nan)
            self._latency[shape.client_region] = latency
        return latency
