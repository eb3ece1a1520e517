"""The plugins, one per file, and the registry from name to constructor.

The default profile runs the filters in the order below (the order ``status.message``
counts reasons in) and weighs the scores per objective:

=============  =======  ===========  =============  =======  ======
objective      Latency  EnergyPrice  PowerHeadroom  Packing  Spread
=============  =======  ===========  =============  =======  ======
latency        12       1            1              1        1
cost           1        12           1              1        1
balanced       6        6            1              1        1
=============  =======  ===========  =============  =======  ======

Latency and price differ between sites, so they choose the site; within a site they are
equal, and packing, power headroom and spread choose the node. The weights were tuned
on the benchmark's quality instances (see BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import cast

from cango_operator.placement.framework import (
    DynamicFilter,
    Plugin,
    PluginKind,
    Profile,
    ScorePlugin,
    StaticFilter,
)
from cango_operator.placement.plugins.allowed_regions import AllowedRegions
from cango_operator.placement.plugins.energy_price import EnergyPrice
from cango_operator.placement.plugins.free_gpus import FreeGpus
from cango_operator.placement.plugins.gpu_memory import GpuMemory
from cango_operator.placement.plugins.gpu_model import GpuModel
from cango_operator.placement.plugins.latency import Latency
from cango_operator.placement.plugins.latency_slo import LatencySLO
from cango_operator.placement.plugins.max_replicas_per_site import MaxReplicasPerSite
from cango_operator.placement.plugins.node_health import NodeHealth
from cango_operator.placement.plugins.node_unschedulable import NodeUnschedulable
from cango_operator.placement.plugins.packing import Packing
from cango_operator.placement.plugins.power_headroom import PowerHeadroom
from cango_operator.placement.plugins.site_cordon import SiteCordon
from cango_operator.placement.plugins.site_phase import SitePhaseFilter
from cango_operator.placement.plugins.site_power import SitePower
from cango_operator.placement.plugins.spread import Spread
from cango_operator.placement.snapshot import Objective

#: name -> constructor, for every plugin a profile may name.
REGISTRY: Mapping[str, Callable[[], Plugin]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            NodeHealth,
            NodeUnschedulable,
            SitePhaseFilter,
            SiteCordon,
            AllowedRegions,
            LatencySLO,
            GpuModel,
            GpuMemory,
            FreeGpus,
            MaxReplicasPerSite,
            SitePower,
            Latency,
            EnergyPrice,
            PowerHeadroom,
            Packing,
            Spread,
        )
    }
)

DEFAULT_STATIC_FILTERS = (
    "NodeHealth",
    "NodeUnschedulable",
    "SitePhase",
    "SiteCordon",
    "AllowedRegions",
    "LatencySLO",
    "GpuModel",
    "GpuMemory",
)
DEFAULT_DYNAMIC_FILTERS = ("FreeGpus", "MaxReplicasPerSite", "SitePower")
DEFAULT_SCORES = ("Latency", "EnergyPrice", "PowerHeadroom", "Packing", "Spread")
DEFAULT_WEIGHTS: Mapping[Objective, Mapping[str, int]] = MappingProxyType(
    {
        Objective.LATENCY: {
            "Latency": 12,
            "EnergyPrice": 1,
            "PowerHeadroom": 1,
            "Packing": 1,
            "Spread": 1,
        },
        Objective.COST: {
            "Latency": 1,
            "EnergyPrice": 12,
            "PowerHeadroom": 1,
            "Packing": 1,
            "Spread": 1,
        },
        Objective.BALANCED: {
            "Latency": 6,
            "EnergyPrice": 6,
            "PowerHeadroom": 1,
            "Packing": 1,
            "Spread": 1,
        },
    }
)


def _make(registry: Mapping[str, Callable[[], Plugin]], name: str, kind: PluginKind) -> Plugin:
    if name not in registry:
        raise KeyError(f"no placement plugin named {name!r} (known: {', '.join(registry)})")
    plugin = registry[name]()
    declared = getattr(plugin, "kind", None)
    if declared is not kind:
        said = f"declares kind {declared}" if declared is not None else "declares no kind"
        raise TypeError(f"placement plugin {name!r} is not a {kind} (it {said})")
    return plugin


def build_profile(
    static_filters: Sequence[str] = DEFAULT_STATIC_FILTERS,
    dynamic_filters: Sequence[str] = DEFAULT_DYNAMIC_FILTERS,
    scores: Sequence[str] = DEFAULT_SCORES,
    weights: Mapping[Objective, Mapping[str, int]] = DEFAULT_WEIGHTS,
    registry: Mapping[str, Callable[[], Plugin]] = REGISTRY,
) -> Profile:
    """A profile from registry names; unknown names and wrong kinds are errors.

    Out-of-tree plugins: pass ``registry={**REGISTRY, "Mine": Mine}`` and name them; each
    declares its ``kind`` (a :class:`PluginKind`).
    """
    for objective, table in weights.items():
        for name, weight in table.items():
            if name not in scores or weight < 0:
                raise ValueError(f"weight {objective}.{name}={weight}: not a listed score >= 0")
    return Profile(
        static_filters=tuple(
            cast(StaticFilter, _make(registry, n, PluginKind.STATIC_FILTER)) for n in static_filters
        ),
        dynamic_filters=tuple(
            cast(DynamicFilter, _make(registry, n, PluginKind.DYNAMIC_FILTER))
            for n in dynamic_filters
        ),
        scores=tuple(cast(ScorePlugin, _make(registry, n, PluginKind.SCORE)) for n in scores),
        weights=MappingProxyType({o: MappingProxyType(dict(w)) for o, w in weights.items()}),
    )


DEFAULT_PROFILE = build_profile()

__all__ = [
    "DEFAULT_DYNAMIC_FILTERS",
    "DEFAULT_PROFILE",
    "DEFAULT_SCORES",
    "DEFAULT_STATIC_FILTERS",
    "DEFAULT_WEIGHTS",
    "REGISTRY",
    "Plugin",
    "build_profile",
]
