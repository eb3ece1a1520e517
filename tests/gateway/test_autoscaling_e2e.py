"""A burst of traffic scales a job, every part real: the gateway's Envoy counts the
requests, a real Prometheus scrapes it (``examples/autoscaling/prometheus-scrape.yaml``),
the Prometheus adapter (built from its Go module) serves the rate as an external metric
(``prometheus-adapter-rules.yaml``), the cluster's own HorizontalPodAutoscaler
(``hpa.yaml``) writes the job's ``/scale``, the operator's engine places the replicas it
adds, and the gateway sends them traffic; when the traffic stops, it scales back.

KEDA's version of it (``scaledobject.yaml``) is checked as far as it goes without KEDA
running: the API server accepts it (KEDA's CRD), and its query, asked of the same
Prometheus during the burst, gives the burst's rate.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.devcluster.metricsadapter import MetricsAdapter
from cango_operator.devcluster.modelservers import ModelServers
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for
from tests.gateway.harness import (
    StartGateway,
    gateway_body,
    pod_addresses,
    request,
    site_of,
)
from tests.loopback import free_port
from tests.observability.prometheus import PrometheusServer

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

EXAMPLES = Path(__file__).parents[2] / "examples" / "autoscaling"
#: Requests a second the burst sends; the HPA asks one replica per 20.
BURST_RPS = 70
PER_REPLICA = 20


def scrape_config(admin_port: int) -> dict[str, Any]:
    (job,) = yaml.safe_load((EXAMPLES / "prometheus-scrape.yaml").read_text())
    job["static_configs"] = [{"targets": [f"127.0.0.1:{admin_port}"]}]
    return dict(job)


def adapter_rules(path: Path) -> Path:
    """The shipped rules, with a window of a few of the test's 1 s scrapes."""
    text = (EXAMPLES / "prometheus-adapter-rules.yaml").read_text()
    assert "[1m]" in text
    path.write_text(text.replace("[1m]", "[6s]"))
    return path


def hpa(namespace: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((EXAMPLES / "hpa.yaml").read_text())
    body["metadata"]["namespace"] = namespace
    body["spec"]["maxReplicas"] = 5
    body["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = 0
    assert body["spec"]["metrics"][0]["external"]["target"]["averageValue"] == str(PER_REPLICA)
    return body


def scaled_object(namespace: str) -> dict[str, Any]:
    """The shipped ScaledObject, for the test's namespace and 1 s scrapes."""
    text = (EXAMPLES / "scaledobject.yaml").read_text()
    assert 'namespace="tenant-acme"' in text and "[1m]" in text
    text = text.replace("tenant-acme", namespace).replace("[1m]", "[6s]")
    body: dict[str, Any] = yaml.safe_load(text)
    (trigger,) = body["spec"]["triggers"]
    assert trigger["metadata"]["threshold"] == str(PER_REPLICA)
    return body


class Burst:
    """``rps`` requests a second from 4 threads until stopped (bounded: 10 minutes);
    counts the answers by status and the replicas that served."""

    def __init__(self, port: int, rps: int) -> None:
        self.port, self.rps = port, rps
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}
        self.served_by: set[str] = set()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(4)]

    def _run(self) -> None:
        pause = 4 / self.rps
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                answer = request(self.port, timeout=5)
                status, by = answer.status, answer.served_by
                if status != 200:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {answer.body!r}")
            except OSError:
                status, by = 0, ""
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if by:
                    self.served_by.add(by)
            self.stop.wait(max(0.0, pause - (time.monotonic() - started)))

    def __enter__(self) -> Burst:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=20)


def test_a_burst_scales_the_job_up_through_scale_and_back_when_it_stops(
    fleet: Fleet,
    start_operator: StartOperator,
    start_gateway: StartGateway,
    model_servers: ModelServers,
    tmp_path: Path,
) -> None:
    cluster = fleet.cluster
    site = fleet.site("only", latency_ms=10)
    fleet.nodes(site, 1, gpus=8, pod_cidrs=[f"127.{100 + time.time_ns() % 150}.7.0/24"])
    port = free_port()
    fleet.custom.create_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", fleet.namespace, "gateways", gateway_body("gw", port)
    )
    fleet.job("chat", replicas=1, endpoint={"path": "/v1"})
    start_operator("--standalone", "--gateway", f"{fleet.namespace}/gw")
    gateway = start_gateway(f"{fleet.namespace}/gw")
    fleet.wait_running()
    model_servers.serve(pod_addresses(fleet, "chat"))
    wait_for("the gateway to serve chat", lambda: site_of(port) == site, timeout=60)

    prometheus = PrometheusServer(
        tmp_path / "prometheus", {}, scrape_configs=[scrape_config(gateway.admin_port)]
    ).start()
    adapter = MetricsAdapter(
        cluster, prometheus.url, adapter_rules(tmp_path / "rules.yaml"), tmp_path, fleet.namespace
    )
    try:
        adapter.start()
        cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(hpa(fleet.namespace)))
        keda = scaled_object(fleet.namespace)
        cluster.kubectl("apply", "--dry-run=server", "-f", "-", input_text=yaml.safe_dump(keda))
        with Burst(port, BURST_RPS) as burst:
            # The HPA asks ceil(rate / 20): 4 at the full 70 a second, 3 on a machine too
            # busy to send more than 60; the engine places them, the servers come up for
            # the new pods as their kubelets would start them.
            def scaled() -> bool:
                model_servers.serve(pod_addresses(fleet, "chat"))
                wanted = int(fleet.get_job("chat")["spec"]["replicas"])
                return wanted >= 3 and len(model_servers.served) >= wanted

            wait_for("the HPA to scale chat to 3 or more and its pods to run", scaled, 120)

            def keda_rate() -> float:
                found = prometheus.query(keda["spec"]["triggers"][0]["metadata"]["query"])
                return float(found[0]["value"][1]) if found else 0.0

            # What KEDA would divide by its threshold: the burst's rate.
            wait_for(
                "the ScaledObject's query to give the burst's rate",
                lambda: keda_rate() > 2 * PER_REPLICA,
                30,
            )
            wait_for(
                "the gateway to send traffic to every replica",
                lambda: burst.served_by >= set(model_servers.served),
                timeout=30,
            )
        assert set(burst.statuses) == {200}, (burst.statuses, burst.failures[:5])
        wait_for(
            "the HPA to scale chat back to 1 once the traffic stopped",
            lambda: fleet.get_job("chat")["spec"]["replicas"] == 1,
            timeout=120,
        )
        wait_for("chat to run 1 replica again", lambda: len(fleet.running_pods("chat")) == 1, 60)
    finally:
        cluster.kubectl("-n", fleet.namespace, "delete", "hpa", "chat", "--ignore-not-found")
        adapter.stop()
        prometheus.stop()
        print(f"--- adapter log ---\n{adapter.log_tail()}")
