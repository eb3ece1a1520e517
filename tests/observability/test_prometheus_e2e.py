"""The dashboards and alerts against a real Prometheus (Debian's package) scraping a real
operator and a simulated node agent while a small fleet runs on the local control plane.

The scenario: four sites (one metered near its power capacity, one whose meter is down,
two static), GPU nodes at three of them, the agent on the metered site's node, a job that
runs there and one no node can take. Then both GPUs of the agent's node fail, and the
job moves. Every PromQL expression in the shipped dashboards and rule files must parse,
the listed ones must return data, and the alerts the scenario should trip must return
series (their ``for`` aside) while the others return none.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster
from tests.e2e.harness import Fleet, Meter, OperatorProcess, free_port, wait_for
from tests.observability.expressions import (
    Expression,
    all_expressions,
    dashboard_expressions,
    rule_expressions,
    substitute,
)
from tests.observability.prometheus import PrometheusServer, QueryError
from tests.observability.tools import promtool

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

REPO = Path(__file__).absolute().parents[2]
PEERING_CRDS = REPO / "charts" / "cango-operator" / "crds" / "kopf.dev_peerings.yaml"
FAULT_ANNOTATION = "compute.cango.io/simulate-fault"
#: The tenant the admin puts the scenario's namespace in.
TENANT = "acme"

#: Dashboard queries that may rightly return nothing in this scenario, and why.
MAY_BE_EMPTY = {
    "cango-site.json: Feed polls and errors [B]": "the chosen site's meter never fails",
}
#: Alerts the scenario trips (their expression returns series) and those it must not.
TRIPPED = {
    "CangoSiteFeedStale",
    "CangoSiteNearPowerBudget",
    "CangoGpuUnhealthy",
    "CangoJobUnschedulable",
}
#: Quiet in this scenario (CangoSiteMeterDisagrees: its sites report no miners; the
#: alert's firing is checked with promtool in test_rules.py).
QUIET = {
    "CangoOperatorDown",
    "CangoPlacementLatencyHigh",
    "CangoSiteGpuPowerOverBudget",
    "CangoSiteMeterDisagrees",
}


@dataclass
class Scenario:
    fleet: Fleet
    prometheus: PrometheusServer
    operator: OperatorProcess
    agent_port: int
    variables: dict[str, str]
    started: float

    def evaluate(self, e: Expression) -> list[dict[str, Any]]:
        """Like Grafana: a variable's series, an instant query, or a time-series panel's
        range query over the scenario."""
        expr = substitute(e.expr, self.variables)
        if e.series_only:
            return [{"metric": s} for s in self.prometheus.series(expr)]
        if e.instant:
            return self.prometheus.query(expr)
        return self.prometheus.query_range(expr, self.started)

    def evaluate_over_scenario(self, e: Expression) -> list[dict[str, Any]]:
        """Data at any moment of the scenario: instant panels too are asked over its whole
        span, since a moved job leaves the site it left while the query runs."""
        if e.series_only:
            return self.evaluate(e)
        return self.prometheus.query_range(substitute(e.expr, self.variables), self.started)


class AgentProcess:
    """``cango-operator agent --simulate`` for one kwok node, metrics on a loopback port."""

    def __init__(self, cluster: LocalCluster, node: str, gpus: int, probe: str, log: Path):
        self.port = free_port()
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cango_operator",
                    "agent",
                    *("--simulate", "--sim-gpus", str(gpus), "--no-register"),
                    *("--node-name", node, "--kubeconfig", str(cluster.kubeconfig)),
                    *("--interval", "1", "--probe-interval", "2", "--probe", probe),
                    *("--metrics-host", "127.0.0.1", "--metrics-port", str(self.port)),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=cluster.env(),
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text: str = answer.read().decode()
        return text


def has_data(prometheus: PrometheusServer, expr: str) -> bool:
    try:
        return bool(prometheus.query(expr))
    except QueryError:
        return False


def build_fleet(fleet: Fleet, meter: Meter) -> tuple[str, str]:
    """Four sites (metered near capacity, static, static, meter down) and GPU nodes at
    three; returns the metered site and its one node (where the agent runs)."""
    dead = f"http://127.0.0.1:{free_port()}/power"  # nothing listens there
    feed = {"type": "http", "jsonPath": "loadKw", "intervalSeconds": 1, "timeoutSeconds": 1}
    near = fleet.site("near", 10, capacity_kw=1000, feed={**feed, "url": meter.url})
    main = fleet.site("main", 30)
    spare = fleet.site("spare", 40)
    fleet.site("dark", 20, feed={**feed, "url": dead, "retries": 0})
    (agent_node,) = fleet.nodes(near, 1, gpus=2)
    fleet.nodes(main, 2, gpus=8)
    fleet.nodes(spare, 1, gpus=8)
    return near, agent_node


def play(fleet: Fleet, prometheus: PrometheusServer, near: str, agent_node: str) -> None:
    """Jobs placed (one never can be), then the agent's GPUs fail and the job moves."""
    wait_for(
        "the metered site's first reading",
        lambda: (fleet.get_cluster("sites", near).get("status") or {}).get("phase") == "Ready",
    )
    fleet.job("chat", replicas=2, placement={"objective": "latency"})
    fleet.job("huge", replicas=1, gpu={"count": 1, "models": ["B200-180GB"]})
    fleet.wait_running(["chat"])
    wait_for("job huge to be Unschedulable", lambda: fleet.phases().get("huge") == "Unschedulable")
    assert agent_node in str(fleet.get_job("chat")["status"]["placements"]), (
        "precondition: chat runs on the agent's node (the nearest site)"
    )
    placed_near = f'cango_inferencejob_placed_replicas{{site="{near}", inferencejob="chat"}} > 0'
    wait_for(  # else the site dashboard may never have seen the job there
        "Prometheus to scrape chat's replicas at the nearest site before they move",
        lambda: has_data(prometheus, placed_near),
    )
    fleet.custom.patch_cluster_custom_object(
        "compute.cango.io",
        "v1alpha1",
        "gpunodes",
        agent_node,
        {"metadata": {"annotations": {FAULT_ANNOTATION: "xid=79,gpu=0; xid=79,gpu=1"}}},
    )
    wait_for(
        "chat to run away from the failed node",
        lambda: (
            fleet.all_running(["chat"])
            and agent_node not in str(fleet.get_job("chat")["status"]["placements"])
        ),
        state=fleet.explain,
    )


#: What Prometheus must have scraped before the expressions are evaluated.
SCRAPED = (
    'count(up{job=~"cango-.*"} == 1) == 2',
    "count_over_time(cango_evictions_total[1m]) > 1",  # rate() needs two samples
    'cango_placements_total{cause="moved"} > 0',
    "cango_gpu_healthy == 0",
    "cango_feed_healthy == 0",
    "cango_agent_probe_latency_seconds",
)


@pytest.fixture(scope="module")
def scenario(
    cluster: LocalCluster, api_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    cluster.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(PEERING_CRDS))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    workdir = tmp_path_factory.mktemp("observability-e2e")
    fleet = Fleet(cluster, api_client)
    meter = Meter(load_kw=960)  # 96% of the metered site's 1000 kW
    running: list[AgentProcess | OperatorProcess | PrometheusServer] = []
    started = time.time()
    try:
        near, agent_node = build_fleet(fleet, meter)
        tenant = {"metadata": {"labels": {"compute.cango.io/tenant": TENANT}}}
        fleet.core.patch_namespace(fleet.namespace, tenant)
        probe = f"{fleet.region}={meter.url.split('/')[2]}"
        agent = AgentProcess(cluster, agent_node, 2, probe, workdir / "agent.log")
        running.append(agent)
        args = ("--namespace", fleet.namespace, "--debounce", "0.2", "--standalone")
        operator = OperatorProcess(cluster, workdir, "a", *args).start()
        running.append(operator)
        targets = {"cango-operator": operator.metrics_port, "cango-agent": agent.port}
        prometheus = PrometheusServer(
            workdir / "prometheus", {job: f"127.0.0.1:{port}" for job, port in targets.items()}
        ).start()
        running.append(prometheus)
        operator.wait_ready()
        play(fleet, prometheus, near, agent_node)
        for expr in SCRAPED:
            wait_for(f"Prometheus to have {expr}", lambda e=expr: has_data(prometheus, e))
        variables = {
            "site": near,
            "namespace": fleet.namespace,
            "job": "chat",
            "__rate_interval": "1m",
            "__range": "10m",
            "__interval": "1s",
        }
        yield Scenario(fleet, prometheus, operator, agent.port, variables, started)
    finally:
        for process in reversed(running):
            process.stop()
        meter.close()
        fleet.cleanup()


class TestScrapedMetrics:
    def test_the_operator_s_metrics_pass_promtool_check_metrics(self, scenario: Scenario) -> None:
        text = scrape(scenario.operator.metrics_port)
        available = [x for x in text.splitlines() if x.startswith("cango_site_power_available_kw{")]
        for site in ("near", "main", "dark"):  # live feed, static, feed down
            assert any(f'site="{scenario.fleet.name(site)}"' in x for x in available), site
        assert "cango_inferencejob_phase{" in text
        proc = promtool("check", "metrics", stdin=text)
        assert proc.returncode == 0 and not proc.stdout + proc.stderr, proc.stdout + proc.stderr

    def test_the_agent_s_metrics_pass_promtool_check_metrics(self, scenario: Scenario) -> None:
        text = scrape(scenario.agent_port)
        assert "cango_gpu_healthy{" in text
        proc = promtool("check", "metrics", stdin=text)
        assert proc.returncode == 0 and not proc.stdout + proc.stderr, proc.stdout + proc.stderr


class TestEveryExpression:
    def test_parses_and_evaluates(self, scenario: Scenario) -> None:
        refused = {}
        for e in all_expressions():
            try:
                scenario.evaluate(e)
            except QueryError as exc:
                refused[e.where] = f"{exc} in {e.expr}"
        assert not refused, "\n".join(f"{k}: {v}" for k, v in refused.items())

    def test_a_broken_expression_is_refused_so_the_check_can_fail(self, scenario: Scenario) -> None:
        with pytest.raises(QueryError) as refused:
            scenario.prometheus.query("sum by (site (cango_site_replicas)")
        assert refused.value.error_type == "bad_data"

    def test_every_dashboard_query_returns_data(self, scenario: Scenario) -> None:
        empty = [
            f"{e.where}: {e.expr}"
            for e in dashboard_expressions()
            if e.where not in MAY_BE_EMPTY and not scenario.evaluate_over_scenario(e)
        ]
        assert not empty, "no data:\n" + "\n".join(empty)

    def test_the_alerts_the_scenario_trips_return_series(self, scenario: Scenario) -> None:
        rules = {e.where.removeprefix("rule "): e for e in rule_expressions()}
        assert set(rules) == TRIPPED | QUIET
        tripped = {name for name, e in rules.items() if scenario.evaluate(e)}
        assert tripped == TRIPPED

    def test_the_tripped_alerts_name_the_right_objects(self, scenario: Scenario) -> None:
        rules = {e.where.removeprefix("rule "): e for e in rule_expressions()}
        fleet = scenario.fleet
        labels = {name: [r["metric"] for r in scenario.evaluate(rules[name])] for name in TRIPPED}
        assert [m["site"] for m in labels["CangoSiteFeedStale"]] == [fleet.name("dark")]
        assert [m["site"] for m in labels["CangoSiteNearPowerBudget"]] == [fleet.name("near")]
        assert sorted(m["gpu"] for m in labels["CangoGpuUnhealthy"]) == ["0", "1"]
        assert [m["inferencejob"] for m in labels["CangoJobUnschedulable"]] == ["huge"]


class TestUsagePerTenant:
    def test_the_namespace_s_usage_is_metered_under_its_tenant(self, scenario: Scenario) -> None:
        ns = scenario.fleet.namespace
        for counter in ("cango_usage_gpu_seconds_total", "cango_usage_energy_kwh_total"):
            series = scenario.prometheus.series(f'{counter}{{namespace="{ns}"}}')
            assert {s["tenant"] for s in series} == {TENANT}, counter

    def test_the_tenant_s_bill_for_the_month_so_far_names_it(self, scenario: Scenario) -> None:
        month = [
            e
            for e in dashboard_expressions()
            if e.where.startswith("cango-tenants.json: This month")
        ]
        assert len(month) == 2  # GPU-hours and kWh
        for e in month:
            rows = {r["metric"].get("tenant"): float(r["value"][1]) for r in scenario.evaluate(e)}
            assert rows.get(TENANT, 0) > 0, f"{e.where}: {rows}"
