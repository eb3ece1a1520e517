"""The operator's fleet, usage and placement-latency metrics, driven directly: gone
objects leave no series behind, usage integrates over time and never goes down, label
values stay bounded, and placement latency is timed from the right moment."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from cango_operator.operator.fleet_metrics import (
    FleetCollector,
    FleetFigures,
    JobFigures,
    NamespaceUsage,
    NodeFigures,
    PlacementClock,
    SiteFigures,
    UsageKey,
    UsageRate,
    main_reason,
    reason_label,
)
from tests.observability.tools import promtool


def samples(registry: CollectorRegistry) -> dict[str, float]:
    """``name{labels}`` -> value for every sample the registry exports."""
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}"] = s.value
    return out


def figures(*jobs: str) -> FleetFigures:
    return FleetFigures(
        sites=(SiteFigures("tx-1", "north-america", 16, 3, 13, 3),),
        nodes=(NodeFigures("tx-1-n001", "tx-1", "H100-80GB", 8, 3),),
        jobs=tuple(JobFigures("acme", name, "Running", 3, 2, 25.0, {"tx-1": 3}) for name in jobs),
        unschedulable={"latency": 2},
    )


class TestFleetCollector:
    def test_reports_the_last_round(self) -> None:
        registry, fleet = CollectorRegistry(), FleetCollector()
        registry.register(fleet)
        fleet.update(figures("chat"))
        got = samples(registry)
        assert got["cango_site_info{region=north-america,site=tx-1}"] == 1
        assert got["cango_site_free_gpus{site=tx-1}"] == 13
        assert got["cango_gpunode_info{model=H100-80GB,node=tx-1-n001,site=tx-1}"] == 1
        job = "inferencejob=chat,namespace=acme"
        assert got[f"cango_inferencejob_phase{{{job},phase=Running}}"] == 1
        assert got[f"cango_inferencejob_phase{{{job},phase=Pending}}"] == 0
        assert got[f"cango_inferencejob_latency_seconds{{{job}}}"] == 0.025
        assert got[f"cango_inferencejob_placed_replicas{{{job},site=tx-1}}"] == 3
        assert got["cango_unschedulable_jobs{reason=latency}"] == 2

    def test_a_job_gone_leaves_no_series_behind(self) -> None:
        registry, fleet = CollectorRegistry(), FleetCollector()
        registry.register(fleet)
        fleet.update(figures("chat", "batch"))
        fleet.update(figures("chat"))
        assert not [k for k in samples(registry) if "inferencejob=batch" in k]
        assert [k for k in samples(registry) if "inferencejob=chat" in k]

    def test_a_standby_reports_no_fleet(self) -> None:
        registry, fleet = CollectorRegistry(), FleetCollector()
        registry.register(fleet)
        fleet.update(figures("chat"))
        fleet.clear()
        assert samples(registry) == {}


ACME = UsageKey("acme", "acme")  # a namespace without a tenant label is its own tenant


def metered(now: list[float]) -> tuple[NamespaceUsage, CollectorRegistry]:
    meter = NamespaceUsage(clock=lambda: now[0])
    registry = CollectorRegistry()
    registry.register(meter)
    return meter, registry


class TestNamespaceUsage:
    def test_integrates_gpus_and_power_over_time(self) -> None:
        now = [1000.0]
        meter, registry = metered(now)
        meter.set_rates({ACME: UsageRate(gpus=2, kw=1.5)})
        now[0] += 1800
        got = samples(registry)
        assert got["cango_usage_gpu_seconds_total{namespace=acme,tenant=acme}"] == 3600
        assert got["cango_usage_energy_kwh_total{namespace=acme,tenant=acme}"] == 0.75

    def test_a_rate_change_applies_from_then_on(self) -> None:
        now = [0.0]
        meter, registry = metered(now)
        meter.set_rates({ACME: UsageRate(1, 1.0)})
        now[0] = 100
        meter.set_rates({ACME: UsageRate(4, 1.0)})
        now[0] = 200
        assert samples(registry)["cango_usage_gpu_seconds_total{namespace=acme,tenant=acme}"] == 500

    def test_a_namespace_without_replicas_keeps_its_total_and_stops_growing(self) -> None:
        now = [0.0]
        meter, registry = metered(now)
        beta = UsageKey("beta", "beta")
        meter.set_rates({ACME: UsageRate(1, 0.7), beta: UsageRate(1, 0.7)})
        now[0] = 60
        meter.set_rates({beta: UsageRate(1, 0.7)})
        now[0] = 600
        got = samples(registry)
        assert got["cango_usage_gpu_seconds_total{namespace=acme,tenant=acme}"] == 60
        assert got["cango_usage_gpu_seconds_total{namespace=beta,tenant=beta}"] == 600

    def test_namespaces_of_one_tenant_sum_to_the_tenant_s_usage(self) -> None:
        now = [0.0]
        meter, registry = metered(now)
        prod, dev = UsageKey("acme-prod", "acme"), UsageKey("acme-dev", "acme")
        meter.set_rates({prod: UsageRate(3, 2.1), dev: UsageRate(1, 0.7)})
        now[0] = 3600
        got = samples(registry)
        gpu = "cango_usage_gpu_seconds_total"
        assert got[f"{gpu}{{namespace=acme-prod,tenant=acme}}"] == 3 * 3600
        assert got[f"{gpu}{{namespace=acme-dev,tenant=acme}}"] == 3600
        tenant = sum(v for k, v in got.items() if k.startswith(gpu) and "tenant=acme}" in k)
        assert tenant == 4 * 3600

    def test_a_namespace_moved_to_another_tenant_counts_once_and_never_goes_down(self) -> None:
        now = [0.0]
        meter, registry = metered(now)
        before, after = UsageKey("shared", "acme"), UsageKey("shared", "beta")
        meter.set_rates({before: UsageRate(2, 1.0)})
        now[0] = 100
        meter.set_rates({after: UsageRate(2, 1.0)})  # the admin relabelled the Namespace
        now[0] = 250
        got = samples(registry)
        gpu = "cango_usage_gpu_seconds_total"
        assert got[f"{gpu}{{namespace=shared,tenant=acme}}"] == 200  # kept, no longer growing
        assert got[f"{gpu}{{namespace=shared,tenant=beta}}"] == 300  # from the move on
        meter.set_rates({before: UsageRate(2, 1.0)})  # and back again
        now[0] = 300
        got = samples(registry)
        assert got[f"{gpu}{{namespace=shared,tenant=acme}}"] == 300
        assert got[f"{gpu}{{namespace=shared,tenant=beta}}"] == 300


class TestPlacementClock:
    def test_a_new_job_is_timed_from_its_creation(self) -> None:
        clock = PlacementClock()
        latency = clock.observe("acme/chat", 110.0, missing=0, placed_now=3, created=100.0)
        assert latency == 10.0

    def test_a_job_short_of_replicas_is_timed_from_the_first_round_that_saw_it(self) -> None:
        clock = PlacementClock()
        assert clock.observe("acme/chat", 50.0, missing=2, placed_now=0, created=None) is None
        assert clock.observe("acme/chat", 60.0, missing=1, placed_now=1, created=None) == 10.0
        assert clock.observe("acme/chat", 80.0, missing=0, placed_now=1, created=None) == 30.0

    def test_a_placed_job_starts_afresh_when_it_is_short_again(self) -> None:
        clock = PlacementClock()
        clock.observe("acme/chat", 10.0, missing=0, placed_now=2, created=5.0)
        assert clock.observe("acme/chat", 500.0, missing=0, placed_now=0, created=None) is None
        clock.observe("acme/chat", 900.0, missing=1, placed_now=0, created=None)
        assert clock.observe("acme/chat", 903.0, missing=0, placed_now=1, created=None) == 3.0

    def test_a_deleted_job_is_forgotten(self) -> None:
        clock = PlacementClock()
        clock.observe("acme/old", 10.0, missing=1, placed_now=0, created=None)
        clock.keep_only(set())
        assert clock.observe("acme/old", 99.0, missing=0, placed_now=1, created=None) == 0.0


class TestReasonLabels:
    def test_fixed_reasons_are_their_own_label(self) -> None:
        for reason in ("no power at site", "node lost GPUs", "site Curtailed", "node gone"):
            assert reason_label(reason) == reason

    def test_reasons_naming_values_or_jobs_are_reduced(self) -> None:
        assert reason_label("latency > 50ms") == "latency"
        assert reason_label("no latency to south-america") == "latency"
        assert reason_label("no H100-80GB or H200-141GB") == "gpu model"
        assert reason_label("GPU memory < 40000MiB") == "gpu memory"
        assert reason_label("maxReplicasPerSite 2 reached") == "max replicas per site"
        assert reason_label("preempted by tenant-a/llama") == "preempted"
        assert reason_label("something new") == "other"

    def test_a_job_s_reason_is_the_one_ruling_out_most_nodes(self) -> None:
        assert main_reason({"no power at site": 3, "latency > 50ms": 7}) == "latency"
        assert main_reason({}) == "other"


@pytest.mark.prometheus
def test_the_exposition_passes_promtool_check_metrics() -> None:
    registry, fleet, meter = CollectorRegistry(), FleetCollector(), NamespaceUsage()
    registry.register(fleet)
    registry.register(meter)
    fleet.update(figures("chat"))
    meter.set_rates({ACME: UsageRate(1, 0.7)})
    proc = promtool("check", "metrics", stdin=generate_latest(registry).decode())
    assert proc.returncode == 0 and not proc.stdout + proc.stderr, proc.stdout + proc.stderr
