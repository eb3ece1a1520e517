"""The project's metric conventions and a plain description of metric families.

Every metric the operator, the power feeds and the node agent export is named
``cango_<subject>_<what>[_<unit>]``: the unit is the last word (``_total`` after it on
counters), one of :data:`UNITS`, and never an abbreviation or a scaled unit that
Prometheus' conventions or this project's API would spell differently (``ms``, ``hours``,
``percent``, ``mib``). Power is in ``kw`` and energy in ``kwh`` as in the API's field
names; everything else uses Prometheus' base units.

Label names come from :data:`ALLOWED_LABELS`, each bounded by something a person
controls (sites, nodes, namespaces, fixed enums). Object UIDs, pod names and free text
never become labels: they would make a new series for every object that ever existed.

This module sits below ``operator``, ``agent`` and ``power`` (see ``.importlinter``), so
it knows nothing of them: it reads registries it is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase

PREFIX = "cango_"

#: Unit words a metric name may end with (before ``_total`` on counters).
UNITS: Mapping[str, str] = {
    "seconds": "time",
    "bytes": "memory",
    "celsius": "temperature",
    "ratio": "fraction 0..1",
    "watts": "power of one GPU or node",
    "kw": "site power, as the API's ...Kw fields",
    "kwh": "energy, as the API's energyKwh",
}

#: Words that look like a unit but are not the one this project uses, and what to use.
WRONG_UNITS: Mapping[str, str] = {
    "ms": "seconds",
    "msec": "seconds",
    "milliseconds": "seconds",
    "microseconds": "seconds",
    "minutes": "seconds",
    "hours": "seconds",
    "days": "seconds",
    "percent": "ratio",
    "pct": "ratio",
    "percentage": "ratio",
    "kib": "bytes",
    "mib": "bytes",
    "gib": "bytes",
    "kb": "bytes",
    "mb": "bytes",
    "gb": "bytes",
    "w": "watts",
    "kilowatts": "kw",
    "mw": "kw",
    "megawatts": "kw",
    "wh": "kwh",
    "mwh": "kwh",
    "joules": "kwh",
    "fahrenheit": "celsius",
    "celcius": "celsius",
}

#: Every label name a cango metric may carry, with what bounds its values.
ALLOWED_LABELS: Mapping[str, str] = {
    "site": "one per Site",
    "region": "client regions named by Sites and the agent's probes",
    "node": "one per GPU node (the Kubernetes Node and GpuNode name)",
    "gpu": "GPU index on a node, 0..15",
    "uuid": "GPU serial UUID: one per physical GPU",
    "model": "GPU product names",
    "namespace": "tenant namespaces",
    "tenant": "the `compute.cango.io/tenant` label of Namespaces (else the namespace)",
    "inferencejob": "InferenceJob names, one per job (never its UID)",
    "phase": "the phase enums of the API and the agent",
    "feed_type": "http, prometheus, modbus, static",
    "kind": "object kinds the operator writes, or feed error kinds",
    "verb": "API verbs the operator uses",
    "outcome": "ok or error; plan or skip for watch events",
    "resource": "the resources the operator watches (plural names)",
    "cause": "why replicas were placed (new, moved)",
    "reason": "the placement engine's fixed reasons",
    "version": "the running release",
}

#: Label names the histogram and summary machinery adds itself.
GENERATED_LABELS = frozenset({"le", "quantile"})

#: Names that must never be labels: unbounded or one per object that ever existed.
FORBIDDEN_LABELS = frozenset({"uid", "pod", "pod_name", "job_uid", "id", "message", "error"})

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_SUFFIXES = {"counter": "_total", "histogram": "", "summary": "", "gauge": "", "info": "_info"}


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """One metric family as Prometheus sees it (``name`` is the exposed name: counters
    end in ``_total``, info metrics in ``_info``)."""

    name: str
    type: str
    help: str
    labels: tuple[str, ...]
    component: str

    @property
    def unit(self) -> str:
        """The unit word of the name, or ``""`` for a count or a state."""
        words = self.name.removesuffix(_SUFFIXES.get(self.type, "")).split("_")
        return words[-1] if words[-1] in UNITS else ""


@dataclass(frozen=True, slots=True)
class Declared:
    """A family a custom collector yields, declared once: the collector builds its
    families from it, and :func:`families_in` learns its labels from it even while the
    collector has no samples to show. ``name`` is as collected (no ``_total``)."""

    name: str
    type: Literal["gauge", "counter"]
    help: str
    labels: tuple[str, ...] = ()

    def family(self) -> GaugeMetricFamily | CounterMetricFamily:
        """An empty family to add samples to."""
        if self.type == "counter":
            return CounterMetricFamily(self.name, self.help, labels=self.labels)
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)


def convention_problems(family: MetricFamily) -> list[str]:
    """Everything wrong with one family's name, help and labels; empty when it conforms."""
    name, problems = family.name, []
    if not name.startswith(PREFIX):
        problems.append(f"{name}: name does not start with {PREFIX!r}")
    if not _SNAKE.match(name):
        problems.append(f"{name}: name is not snake_case")
    suffix = _SUFFIXES.get(family.type)
    if suffix is None:
        problems.append(f"{name}: unexpected type {family.type!r}")
    elif suffix and not name.endswith(suffix):
        problems.append(f"{name}: a {family.type} must end with {suffix!r}")
    if family.type != "counter" and name.endswith("_total"):
        problems.append(f"{name}: only counters end with '_total' (this is a {family.type})")
    stem = name.removesuffix(suffix or "")
    words = stem.split("_")
    for word in words:
        if word in WRONG_UNITS:
            problems.append(f"{name}: unit {word!r} should be {WRONG_UNITS[word]!r}")
    for word in words[:-1]:
        if word in UNITS:
            problems.append(f"{name}: unit {word!r} must be the last word of the name")
    if family.type == "histogram" and words[-1] not in UNITS:
        problems.append(f"{name}: a histogram's name ends with its unit ({', '.join(UNITS)})")
    if not family.help.strip():
        problems.append(f"{name}: no help text")
    for label in family.labels:
        if label in FORBIDDEN_LABELS:
            problems.append(f"{name}: label {label!r} is unbounded (one series per object)")
        elif label not in ALLOWED_LABELS:
            problems.append(f"{name}: label {label!r} is not in the allowed set")
    return problems


def families_in(
    registry: CollectorRegistry, component: str, declared: Iterable[object] = ()
) -> list[MetricFamily]:
    """The families ``registry`` exports, sorted by name.

    Label names come from the samples and from ``declared``: metric objects and
    :class:`Declared` families (a labelled metric that has never been used has no samples
    yet). A family whose labels cannot be known either way is an error, so a catalogue
    is never silently wrong.
    """
    label_names: dict[str, tuple[str, ...]] = {}
    for item in declared:
        if isinstance(item, MetricWrapperBase):
            # prometheus_client keeps a metric object's name, type and label names in
            # these attributes (stable since 0.4); there is no public accessor.
            name = _exposed_name(item._name, str(item._type))
            label_names[name] = tuple(item._labelnames)
        elif isinstance(item, Declared):
            label_names[_exposed_name(item.name, item.type)] = item.labels
    families = []
    for metric in registry.collect():
        name = _exposed_name(metric.name, metric.type)
        seen: dict[str, None] = dict.fromkeys(label_names.get(name, ()))
        for sample in metric.samples:
            seen.update(dict.fromkeys(k for k in sample.labels if k not in GENERATED_LABELS))
        if not metric.samples and name not in label_names:
            raise ValueError(
                f"{component}: {name} has no samples and no declared metric object, "
                "so its label names are unknown"
            )
        families.append(
            MetricFamily(name, metric.type, metric.documentation, tuple(seen), component)
        )
    return sorted(families, key=lambda f: f.name)


def _exposed_name(name: str, metric_type: str) -> str:
    if metric_type == "counter" and not name.endswith("_total"):
        return name + "_total"
    if metric_type == "info" and not name.endswith("_info"):
        return name + "_info"
    return name
