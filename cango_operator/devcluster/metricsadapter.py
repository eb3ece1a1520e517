"""The Prometheus adapter beside a local cluster: Prometheus queries served as the
``external.metrics.k8s.io`` API, which the HorizontalPodAutoscaler (in the cluster's
kube-controller-manager) reads.

``MetricsAdapter.start`` runs the adapter (``hack/metrics-adapter/build.sh`` builds it
from its Go module) on 127.0.0.1 with its own self-signed certificate, and registers it
with the API server's aggregator: an APIService naming a Service of type ExternalName
whose name is ``localhost`` (the aggregator dials an ExternalName Service's name; a
Service with endpoints would need a non-loopback address, which the API server refuses).
``stop`` takes the registration away first, so the cluster's discovery never lists an
API nobody serves.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cango_operator.devcluster.cluster import LocalCluster
from cango_operator.devcluster.processes import terminate
from cango_operator.devcluster.tools import ensure_metrics_adapter_dir, free_port
from cango_operator.errors import ClusterError

GROUP = "external.metrics.k8s.io"
VERSION = "v1beta1"
API_SERVICE = f"{VERSION}.{GROUP}"
SERVICE = "cango-metrics-adapter"


@dataclass
class MetricsAdapter:
    """One adapter for ``cluster``, reading ``prometheus_url`` by the ``rules`` file."""

    cluster: LocalCluster
    prometheus_url: str
    rules: Path
    workdir: Path
    namespace: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / "metrics-adapter.log"

    def start(self, timeout: float = 60) -> MetricsAdapter:
        binary = ensure_metrics_adapter_dir() / "adapter"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        kubeconfig = str(self.cluster.kubeconfig)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    f"--secure-port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--cert-dir={self.workdir / 'certs'}",
                    f"--prometheus-url={self.prometheus_url}",
                    f"--config={self.rules}",
                    f"--lister-kubeconfig={kubeconfig}",
                    f"--authentication-kubeconfig={kubeconfig}",
                    f"--authorization-kubeconfig={kubeconfig}",
                    "--metrics-relist-interval=2s",
                    "--v=1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.cluster.kubectl("apply", "-f", "-", input_text=json.dumps(self._registration()))
        self._wait_available(timeout)
        return self

    def _registration(self) -> dict[str, Any]:
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": self.namespace},
            "spec": {
                "type": "ExternalName",
                "externalName": "localhost",
                "ports": [{"name": "https", "port": self.port}],
            },
        }
        api_service = {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": API_SERVICE},
            "spec": {
                "group": GROUP,
                "version": VERSION,
                "service": {"namespace": self.namespace, "name": SERVICE, "port": self.port},
                # The adapter's certificate is its own, self-signed.
                "insecureSkipTLSVerify": True,
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        }
        return {"apiVersion": "v1", "kind": "List", "items": [service, api_service]}

    def _wait_available(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ClusterError(f"the Prometheus adapter exited:\n{self.log_tail()}")
            proc = self.cluster.kubectl("get", "apiservice", API_SERVICE, "-o", "json", check=False)
            if proc.returncode == 0:
                conditions = json.loads(proc.stdout).get("status", {}).get("conditions", [])
                last = json.dumps(conditions)
                if any(c["type"] == "Available" and c["status"] == "True" for c in conditions):
                    return
            time.sleep(0.5)
        raise ClusterError(
            f"{API_SERVICE} not Available in {timeout:.0f}s: {last}\n{self.log_tail()}"
        )

    def stop(self) -> None:
        self.cluster.kubectl("delete", "apiservice", API_SERVICE, "--ignore-not-found", check=False)
        self.cluster.kubectl(
            "-n", self.namespace, "delete", "service", SERVICE, "--ignore-not-found", check=False
        )
        terminate(self.process)

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]
