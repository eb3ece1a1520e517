"""Every metric family the project exports, read from the code that defines them.

Each component's metrics are built on a fresh registry (the operator's live on its own
module registry) and described with :func:`cango_operator.metrics.families_in`, so the
catalogue in ``docs/metrics.md`` can never list a metric the code does not export, nor
miss one it does.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from cango_operator.metrics import MetricFamily, families_in

#: Families the standard collectors add (process_*, python_*): exported, not ours.
STANDARD_PREFIXES = ("process_", "python_")


def power_families() -> list[MetricFamily]:
    from cango_operator.power.metrics import PowerMetrics

    registry = CollectorRegistry()
    metrics = PowerMetrics(registry)
    return families_in(registry, "power", vars(metrics).values())


def agent_families() -> list[MetricFamily]:
    """The agent's families; one simulated reading makes its GPU collector report."""
    from cango_operator.agent.health import judge_node
    from cango_operator.agent.metrics import AgentMetrics
    from cango_operator.agent.simulated_source import SimulatedSource

    metrics = AgentMetrics("catalogue", CollectorRegistry())
    reading = SimulatedSource("H100-80GB", 1, seed="catalogue").read()
    metrics.observe_reading(reading, judge_node(reading.gpus), reading.gpu_power_w, 0.0)
    return families_in(metrics.registry, "agent", vars(metrics).values())


def operator_families() -> list[MetricFamily]:
    """The operator's own families (its registry also carries the power families, listed
    under power, and the standard process ones)."""
    from cango_operator.operator import fleet_metrics, metrics

    declared = [
        *vars(metrics).values(),
        *fleet_metrics.FLEET_FAMILIES,
        fleet_metrics.USAGE_GPU,
        fleet_metrics.USAGE_ENERGY,
    ]
    power = {f.name for f in power_families()}
    return [f for f in families_in(metrics.REGISTRY, "operator", declared) if f.name not in power]


COMPONENTS: dict[str, Callable[[], list[MetricFamily]]] = {
    "operator": operator_families,
    "power": power_families,
    "agent": agent_families,
}


def all_families(include_standard: bool = False) -> list[MetricFamily]:
    """Every family of every component, by component then name."""
    families = [f for build in COMPONENTS.values() for f in build()]
    if include_standard:
        return families
    return [f for f in families if not f.name.startswith(STANDARD_PREFIXES)]
