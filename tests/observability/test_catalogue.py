"""The metric catalogue: every family the code defines follows the naming conventions, the
committed docs/metrics.md is exactly what the code defines, and the dashboards and alerts
read only metrics that exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cango_operator.metrics import Declared, MetricFamily, convention_problems, families_in
from cango_operator.observability import all_families
from cango_operator.observability.metrics_doc import render_metrics_doc
from cango_operator.observability.rules import all_alerts
from tests.observability.expressions import (
    REPO_ROOT,
    all_expressions,
    metric_names,
    rule_expressions,
)

FAMILIES = all_families()
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")


def family(name: str, kind: str = "gauge", labels: tuple[str, ...] = ("site",)) -> MetricFamily:
    return MetricFamily(name, kind, "Some help.", labels, "test")


class TestTheCatalogue:
    def test_covers_every_component_that_exports_metrics(self) -> None:
        assert {f.component for f in FAMILIES} >= {"power", "agent"}

    def test_names_are_unique_across_components(self) -> None:
        names = [f.name for f in FAMILIES]
        assert sorted(names) == sorted(set(names))

    @pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.name)
    def test_every_family_follows_the_conventions(self, fam: MetricFamily) -> None:
        assert convention_problems(fam) == []

    def test_the_committed_doc_is_what_the_code_defines(self) -> None:
        committed = (REPO_ROOT / "docs" / "metrics.md").read_text()
        assert committed == render_metrics_doc(FAMILIES), "run `make observability`"

    def test_the_doc_lists_every_family_with_its_labels(self) -> None:
        doc = render_metrics_doc(FAMILIES)
        for fam in FAMILIES:
            line = next(x for x in doc.splitlines() if x.startswith(f"| `{fam.name}` |"))
            assert all(f"`{label}`" in line for label in fam.labels), line


class TestDashboardsAndAlertsReadExistingMetrics:
    def known(self, name: str) -> bool:
        names = {f.name for f in FAMILIES}
        histograms = {f.name for f in FAMILIES if f.type == "histogram"}
        if name in names or name.startswith("process_"):
            return True
        return any(name.removesuffix(s) in histograms for s in HISTOGRAM_SERIES)

    def test_every_metric_an_expression_reads_is_in_the_catalogue(self) -> None:
        unknown = {
            f"{e.where}: {name}"
            for e in all_expressions()
            for name in metric_names(e.expr)
            if not self.known(name)
        }
        assert not unknown, "\n".join(sorted(unknown))

    def test_every_metric_a_runbook_names_is_in_the_catalogue(self) -> None:
        unknown = {
            f"{a.name}: {name}"
            for a in all_alerts(REPO_ROOT)
            for text in a.annotations.values()
            for name in metric_names(text)
            if not self.known(name)
        }
        assert not unknown, "\n".join(sorted(unknown))

    def test_the_expressions_are_found(self) -> None:
        assert len(rule_expressions()) >= 6
        assert len(all_expressions()) > 50


class TestConventionChecks:
    """Each rule of the conventions catches what it is meant to catch."""

    @pytest.mark.parametrize(
        ("fam", "problem"),
        [
            (family("site_power_kw"), "does not start with 'cango_'"),
            (family("cango_SitePower_kw"), "not snake_case"),
            (family("cango_feed_reads", "counter"), "must end with '_total'"),
            (family("cango_site_power_total"), "only counters end with '_total'"),
            (family("cango_plan_duration_ms", "histogram"), "unit 'ms' should be 'seconds'"),
            (family("cango_gpu_utilization_percent"), "unit 'percent' should be 'ratio'"),
            (family("cango_gpu_memory_mib"), "unit 'mib' should be 'bytes'"),
            (family("cango_usage_gpu_hours_total", "counter"), "'hours' should be 'seconds'"),
            (family("cango_site_kw_available"), "unit 'kw' must be the last word"),
            (family("cango_plan_duration", "histogram"), "a histogram's name ends with its unit"),
            (family("cango_jobs", labels=("namespace", "uid")), "label 'uid' is unbounded"),
            (family("cango_jobs", labels=("pod",)), "label 'pod' is unbounded"),
            (family("cango_jobs", labels=("colour",)), "label 'colour' is not in the allowed"),
            (family("cango_build", "info"), "must end with '_info'"),
            (MetricFamily("cango_jobs", "gauge", " ", (), "t"), "no help text"),
        ],
    )
    def test_a_bad_family_is_named_with_its_problem(self, fam: MetricFamily, problem: str) -> None:
        problems = convention_problems(fam)
        assert any(problem in p for p in problems), problems

    @pytest.mark.parametrize(
        "fam",
        [
            family("cango_site_power_available_kw"),
            family("cango_feed_reads_total", "counter", ("site", "feed_type")),
            family("cango_plan_duration_seconds", "histogram", ()),
            family("cango_agent_last_heartbeat_timestamp_seconds", labels=("node",)),
            family("cango_usage_energy_kwh_total", "counter", ("namespace",)),
            family("cango_operator_build_info", "info", ("version",)),
            family("cango_jobs", labels=("phase",)),
        ],
        ids=lambda f: f.name,
    )
    def test_a_good_family_has_no_problem(self, fam: MetricFamily) -> None:
        assert convention_problems(fam) == []


class _OneGauge(Collector):
    def collect(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("cango_custom", "Custom.", labels=["node"])]


class TestFamiliesIn:
    def test_labels_of_an_unused_metric_come_from_its_declaration(self) -> None:
        registry = CollectorRegistry()
        reads = Counter("cango_x_reads", "Reads.", ["site", "feed_type"], registry=registry)
        (found,) = families_in(registry, "t", [reads])
        assert found == MetricFamily(
            "cango_x_reads_total", "counter", "Reads.", ("site", "feed_type"), "t"
        )

    def test_labels_of_a_custom_collector_come_from_its_samples(self) -> None:
        registry = CollectorRegistry()
        gauge = GaugeMetricFamily("cango_y", "Y.", labels=["node", "gpu"])
        gauge.add_metric(["n1", "0"], 1.0)

        class Fixed(Collector):
            def collect(self) -> list[GaugeMetricFamily]:
                return [gauge]

        registry.register(Fixed())
        (found,) = families_in(registry, "t")
        assert found.labels == ("node", "gpu")

    def test_a_family_whose_labels_cannot_be_known_is_an_error(self) -> None:
        registry = CollectorRegistry()
        registry.register(_OneGauge())
        with pytest.raises(ValueError, match="cango_custom has no samples"):
            families_in(registry, "t")

    def test_unlabelled_metrics_need_no_declaration(self) -> None:
        registry = CollectorRegistry()
        Gauge("cango_z", "Z.", registry=registry)
        (found,) = families_in(registry, "t")
        assert found.labels == ()


class TestDeclaredFamilies:
    def test_a_custom_collector_s_declaration_gives_labels_without_samples(self) -> None:
        declared = Declared("cango_site_replicas", "gauge", "Replicas.", ("site",))

        class Empty(Collector):
            def collect(self) -> Iterator[Metric]:
                yield declared.family()

        registry = CollectorRegistry()
        registry.register(Empty())
        (found,) = families_in(registry, "t", [declared])
        assert found == MetricFamily("cango_site_replicas", "gauge", "Replicas.", ("site",), "t")

    def test_a_declared_counter_is_exposed_with_total(self) -> None:
        declared = Declared("cango_usage_gpu_seconds", "counter", "GPU time.", ("namespace",))
        family = declared.family()
        family.add_metric(["acme"], 2.0)
        assert [s.name for s in family.samples] == ["cango_usage_gpu_seconds_total"]
