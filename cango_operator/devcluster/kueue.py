"""Kueue beside a local cluster: the quota and fair-sharing admission controller that
decides which tenant's Workloads may reserve GPUs, run as a plain process.

``start_kueue`` installs Kueue's CRDs, writes its Configuration and starts its manager
(``hack/kueue/build.sh`` builds it from the Go module) with the cluster's kubeconfig.
Only Kueue's core runs: the queues, the Workload scheduler with cohort borrowing,
reclaim and fair-sharing preemption. No webhook configuration is registered with the API
server (Workloads are written directly, by the operator, never by Kueue's job
integrations), leader election is off, the visibility server is off, and every port is
on 127.0.0.1.

Kueue's manager serves its webhooks with certificates of its own making (it refuses to
start otherwise): it writes them into a Secret and waits for them to appear as files, the
way a kubelet mounts a Secret into a pod. ``start_kueue`` plays that kubelet: it copies
the Secret's certificate into the manager's certificate directory.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cango_operator.devcluster.cluster import LocalCluster
from cango_operator.devcluster.crds import apply_crds
from cango_operator.devcluster.tools import ensure_kueue_dir, free_port
from cango_operator.errors import ClusterError

#: Where Kueue keeps its own objects (the webhook certificate's Secret).
KUEUE_NAMESPACE = "kueue-system"
#: The Secret Kueue's certificate management writes (Kueue's default name).
WEBHOOK_SECRET = "kueue-webhook-server-cert"
#: The Service Kueue's certificate is made for (Kueue's default name).
WEBHOOK_SERVICE = "kueue-webhook-service"
#: The CRDs whose Established condition ``start_kueue`` waits for.
CORE_CRDS = (
    "resourceflavors.kueue.x-k8s.io",
    "clusterqueues.kueue.x-k8s.io",
    "localqueues.kueue.x-k8s.io",
    "cohorts.kueue.x-k8s.io",
    "workloads.kueue.x-k8s.io",
)
#: The CRDs served in two versions (v1beta1, and v1beta2 stored) that Kueue converts
#: through its webhook. Its certificate management will not call itself ready until it
#: has put its CA into each one's conversion webhook, so they name one, as Kueue's own
#: manifests do. Nothing in the test bed asks for v1beta1: the API server never calls it.
CONVERTED_CRDS = (
    "localqueues.kueue.x-k8s.io",
    "clusterqueues.kueue.x-k8s.io",
    "workloads.kueue.x-k8s.io",
    "cohorts.kueue.x-k8s.io",
    "multikueueclusters.kueue.x-k8s.io",
)


@dataclass(frozen=True)
class KueueProcess:
    """A running Kueue manager and where it listens and logs."""

    proc: subprocess.Popen[bytes]
    workdir: Path
    health_port: int
    metrics_port: int

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log(self) -> Path:
        return self.workdir / "kueue.log"


def kueue_configuration(
    *, cert_dir: Path, webhook_port: int, health_port: int, metrics_port: int
) -> dict[str, Any]:
    """Kueue's Configuration (``config.kueue.x-k8s.io/v1beta2``) for the test bed."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": KUEUE_NAMESPACE,
        "leaderElection": {"leaderElect": False},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{health_port}"},
        "metrics": {"bindAddress": f"127.0.0.1:{metrics_port}"},
        "webhook": {"host": "127.0.0.1", "port": webhook_port, "certDir": str(cert_dir)},
        "internalCertManagement": {
            "enable": True,
            "webhookServiceName": WEBHOOK_SERVICE,
            "webhookSecretName": WEBHOOK_SECRET,
        },
        # Kueue manages no pods or Jobs here; it refuses an empty list (it means its
        # default, batch/job), so the one built-in that costs nothing stays: it acts only
        # on Jobs labelled with a queue name.
        "integrations": {"frameworks": ["batch/job"]},
        "manageJobsWithoutQueueName": False,
        # Fair sharing between the ClusterQueues of a cohort: the Workloads of the queue
        # that uses most over its share are preempted first.
        "fairSharing": {
            "preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]
        },
        "featureGates": {"VisibilityOnDemand": False},
        "clientConnection": {"qps": 200, "burst": 400},
    }


def install_kueue_crds(cluster: LocalCluster, kueue_dir: Path, timeout: float = 60) -> None:
    """Apply Kueue's CRDs (server-side: they are too large for a last-applied annotation)
    and its namespace with the empty Secret its certificate management fills in."""
    apply_crds(cluster, kueue_dir / "crds", CORE_CRDS, timeout)
    conversion = {
        "strategy": "Webhook",
        "webhook": {
            "clientConfig": {
                "service": {
                    "namespace": KUEUE_NAMESPACE,
                    "name": WEBHOOK_SERVICE,
                    "path": "/convert",
                }
            },
            "conversionReviewVersions": ["v1"],
        },
    }
    for name in CONVERTED_CRDS:
        patch = json.dumps({"spec": {"conversion": conversion}})
        cluster.kubectl("patch", "crd", name, "--type=merge", "-p", patch)
    manifest = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KUEUE_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": WEBHOOK_SECRET, "namespace": KUEUE_NAMESPACE},
        },
    ]
    cluster.kubectl(
        "apply",
        "--server-side",
        "--field-manager=cango-dev",
        "-f",
        "-",
        input_text=yaml.safe_dump_all(manifest),
    )


def start_kueue(
    cluster: LocalCluster, kueue_dir: Path | None = None, timeout: float = 90
) -> KueueProcess:
    """Install Kueue on ``cluster`` and start its manager; return once it is ready (its
    webhook server up, so its controllers and scheduler have started)."""
    kueue_dir = kueue_dir if kueue_dir is not None else ensure_kueue_dir()
    install_kueue_crds(cluster, kueue_dir)
    # Under the cluster's own directory: kwokctl deletes it with the cluster, and the
    # test session's reaper recognises an orphaned manager by this path.
    workdir = cluster.workdir / "clusters" / cluster.name / "kueue"
    cert_dir = workdir / "certs"
    cert_dir.mkdir(parents=True, exist_ok=True)
    for stale in cert_dir.iterdir():
        stale.unlink()
    health_port, metrics_port = free_port(), free_port()
    config = kueue_configuration(
        cert_dir=cert_dir,
        webhook_port=free_port(),
        health_port=health_port,
        metrics_port=metrics_port,
    )
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    argv = [
        str(kueue_dir / "kueue"),
        f"--config={config_path}",
        f"--kubeconfig={cluster.kubeconfig}",
    ]
    with (workdir / "kueue.log").open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=cluster.env(),
            start_new_session=True,
        )
    kueue = KueueProcess(proc, workdir, health_port, metrics_port)
    try:
        _wait_ready(cluster, kueue, cert_dir, timeout)
    except BaseException:
        stop_kueue(kueue)
        raise
    return kueue


def _wait_ready(cluster: LocalCluster, kueue: KueueProcess, cert_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _ready(kueue):
        if kueue.proc.poll() is not None:
            raise ClusterError(
                f"kueue exited with {kueue.proc.returncode}:\n{_log_tail(kueue.log)}"
            )
        if time.monotonic() > deadline:
            raise ClusterError(
                f"kueue was not ready within {timeout:.0f} s:\n{_log_tail(kueue.log)}"
            )
        if not (cert_dir / "tls.crt").exists():
            _mount_secret(cluster, cert_dir)
        time.sleep(0.3)


def _mount_secret(cluster: LocalCluster, cert_dir: Path) -> None:
    """Write the webhook Secret's keys as files once Kueue has filled it in (the key
    first, so that a certificate on disk always has its key beside it)."""
    found = cluster.kubectl(
        "-n", KUEUE_NAMESPACE, "get", "secret", WEBHOOK_SECRET, "-o", "json", check=False
    )
    if found.returncode != 0:
        return
    data: dict[str, str] = json.loads(found.stdout).get("data") or {}
    if "tls.crt" not in data or "tls.key" not in data:
        return
    for name in ("tls.key", "ca.crt", "tls.crt"):
        if name in data:
            partial = cert_dir / f".{name}.partial"
            partial.write_bytes(base64.b64decode(data[name]))
            partial.replace(cert_dir / name)


def _ready(kueue: KueueProcess) -> bool:
    # The named check exists only on the main manager (the certificate bootstrap that
    # runs first serves the same port with no checks).
    url = f"http://127.0.0.1:{kueue.health_port}/readyz/readyz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop_kueue(kueue: KueueProcess, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; harmless when it has already stopped."""
    if kueue.proc.poll() is not None:
        return
    os.killpg(kueue.proc.pid, signal.SIGTERM)
    try:
        kueue.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(kueue.proc.pid, signal.SIGKILL)
        kueue.proc.wait(timeout)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
