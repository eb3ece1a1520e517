"""The e2e harness: the operator as a real subprocess, and a fleet made on the real API.

Every test gets its own namespace, its own sites and kwok GPU nodes (unique names), and a
client region only its sites serve, so objects other tests left in the shared session
cluster can never take its jobs. The operator runs restricted to the test's namespace.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cango_operator.devcluster import LocalCluster, apply_dev_nodes
from cango_operator.devcluster.nodes import node_shapes
from cango_operator.devcluster.processes import terminate

GROUP, VERSION = "compute.cango.io", "v1alpha1"
API = f"{GROUP}/{VERSION}"
#: The Pod Security admission label: the standard a namespace's pods must meet.
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
T = TypeVar("T")
#: How a request refused for want of a permission shows in the operator's log: the API
#: server's RBAC message, 'x is forbidden: User "system:serviceaccount:..." cannot create
#: resource ...'. Other 403s (content in a namespace being terminated, left by another
#: test) are not missing permissions.
REFUSED = re.compile(r"forbidden: User .{1,200}? cannot \w+ resource", re.IGNORECASE)


REPO = Path(__file__).absolute().parents[2]
CHART_PEERING_CRDS = REPO / "charts" / "cango-operator" / "crds" / "kopf.dev_peerings.yaml"
OWN_PEERING_CRDS = Path(__file__).with_name("peering-crds.yaml")


def install_crds(cluster: LocalCluster) -> LocalCluster:
    """Apply the project's CRDs and kopf's peering CRDs; wait until they are served."""
    peering = CHART_PEERING_CRDS if CHART_PEERING_CRDS.exists() else OWN_PEERING_CRDS
    cluster.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(peering))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all", timeout=90
    )
    return cluster


def wait_for(
    what: str,
    check: Callable[[], T | None],
    timeout: float = 60,
    every: float = 0.5,
    state: Callable[[], object] | None = None,
) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and showing
    ``state()`` (or the last value checked)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    shown = state() if state is not None else last
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {shown!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Meter:
    """A site power meter on 127.0.0.1: ``GET /power`` answers ``{"loadKw": ...}`` (and
    ``"capacityKw"`` when ``capacity_kw`` is set). ``stop`` takes it off the network (a dead
    meter: connections refused), ``start`` brings it back at the same URL."""

    def __init__(self, load_kw: float, capacity_kw: float | None = None) -> None:
        self.load_kw = load_kw
        self.capacity_kw = capacity_kw
        meter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document: dict[str, float] = {"loadKw": meter.load_kw}
                if meter.capacity_kw is not None:
                    document["capacityKw"] = meter.capacity_kw
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self._handler = Handler
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}/power"

    def start(self) -> None:
        """Serve (again, on the same port once it has one)."""
        if self.server is None:
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
            self.port = int(self.server.server_address[1])
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(10)
            self.server = None

    close = stop


class OperatorProcess:
    """``python -m cango_operator run`` against the test cluster; SIGKILL is real.

    It authenticates with ``kubeconfig`` (default: the cluster admin's), the only
    credentials it is given: $KUBECONFIG points there too. ``env`` adds variables (what a
    pod of the chart would get, e.g. POD_NAMESPACE)."""

    def __init__(
        self,
        cluster: LocalCluster,
        log_dir: Path,
        name: str,
        *args: str,
        kubeconfig: Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``env`` is added to the cluster's environment; ``cwd``: the directory to run
        in (the benchmark runs another checkout's code: ``python -m`` imports from there)."""
        self.cluster = cluster
        self.name = name
        self.args = args
        self.kubeconfig = kubeconfig if kubeconfig is not None else cluster.kubeconfig
        self.env = {**cluster.env(), "KUBECONFIG": str(self.kubeconfig), **(env or {})}
        self.log_path = log_dir / f"operator-{name}.log"
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.cwd = cwd

    def start(self) -> OperatorProcess:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cango_operator",
                "run",
                "--kubeconfig",
                str(self.kubeconfig),
                "--metrics-port",
                str(self.metrics_port),
                "--liveness",
                f"http://127.0.0.1:{self.health_port}/healthz",
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers, no peering goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        terminate(self.proc)

    def ready(self) -> bool:
        if not self.alive():
            raise AssertionError(f"operator {self.name} exited:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=2
            ) as rsp:
                return bool(rsp.status == 200)
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60) -> OperatorProcess:
        wait_for(f"operator {self.name} to be ready", self.ready, timeout, every=0.2)
        return self

    def metric(self, name: str, having: str = "") -> float:
        """Sum of every sample of a metric on the operator's /metrics (only those whose
        labels contain ``having``, e.g. ``outcome="skip"``, when given)."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as rsp:
            text = rsp.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head.split("{")[0] == name and having in head:
                    total += float(value)
        return total

    def refusals(self) -> list[str]:
        """Log lines where the API server refused a request (403 Forbidden): with a
        ServiceAccount's token, each one is a permission the operator lacks."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if REFUSED.search(line)]

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def job_body(
    name: str, namespace: str, region: str, replicas: int = 1, **spec: Any
) -> dict[str, Any]:
    """An InferenceJob of one GPU per replica for clients in ``region``; ``spec`` keys
    replace the defaults (dicts are merged one level deep)."""
    body_spec: dict[str, Any] = {
        "replicas": replicas,
        "container": {"image": "registry.invalid/inference:1", "port": 8000},
        "gpu": {"count": 1},
        "placement": {"clientRegion": region, "maxLatencyMs": 100},
    }
    for key, value in spec.items():
        if isinstance(value, dict) and isinstance(body_spec.get(key), dict):
            body_spec[key] = {**body_spec[key], **value}
        else:
            body_spec[key] = value
    return {
        "apiVersion": API,
        "kind": "InferenceJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body_spec,
    }


def site_body(
    name: str,
    region: str,
    latency_ms: int,
    power: dict[str, Any] | None = None,
    mining: dict[str, Any] | None = None,
    *,
    own_region: str | None = None,
    latency_to: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A Site serving ``region`` at ``latency_ms``; no mining load unless given.
    ``own_region``: the site's region when not ``region``; ``latency_to``: latencies to
    further regions."""
    spec = {
        "region": own_region or region,
        "power": power or {"capacityKw": 2000, "reserveKw": 10, "pue": 1.1},
        "mining": mining or {"loadKw": 0, "curtailableKw": 0},
        "latencyMs": {region: latency_ms, **(latency_to or {})},
    }
    return {"apiVersion": API, "kind": "Site", "metadata": {"name": name}, "spec": spec}


class Fleet:
    """Sites, GpuNodes, kwok Nodes and jobs of one test, removed again at its end."""

    def __init__(self, cluster: LocalCluster, api: client.ApiClient) -> None:
        self.cluster = cluster
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.prefix = "e2e-" + secrets.token_hex(3)
        self.region = f"{self.prefix}-users"
        self.namespace = f"{self.prefix}-jobs"
        self.sites: list[str] = []
        self.gpunodes: list[str] = []
        # Tenants' namespaces enforce Pod Security "restricted": every pod the operator
        # makes in any e2e test must be admitted under it.
        self.core.create_namespace(
            {"metadata": {"name": self.namespace, "labels": {ENFORCE_LABEL: "restricted"}}}
        )

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    # -- making the fleet ------------------------------------------------------------

    def site(
        self,
        suffix: str,
        latency_ms: int,
        capacity_kw: float = 2000,
        feed: dict[str, Any] | None = None,
        mining: dict[str, Any] | None = None,
        *,
        gpu_power_cap_share: float | None = None,
        region: str | None = None,
        latency_to: Mapping[str, int] | None = None,
    ) -> str:
        """``region``: the site's own (default: the fleet's users' region);
        ``latency_to``: latencies to further regions, beside ``latency_ms`` to the
        fleet's users."""
        name = self.name(suffix)
        power: dict[str, Any] = {"capacityKw": capacity_kw, "reserveKw": 10, "pue": 1.1}
        if feed is not None:
            power = {"capacityKw": capacity_kw, "reserveKw": 0, "pue": 1.0, "feed": feed}
        if gpu_power_cap_share is not None:
            power["gpuPowerCapShare"] = gpu_power_cap_share
        body = site_body(
            name, self.region, latency_ms, power, mining, own_region=region, latency_to=latency_to
        )
        self.custom.create_cluster_custom_object(GROUP, VERSION, "sites", body)
        self.sites.append(name)
        return name

    def nodes(
        self,
        site: str,
        count: int,
        gpus: int = 8,
        model: str = "H100-80GB",
        pod_cidrs: Sequence[str] = (),
    ) -> list[str]:
        """``pod_cidrs``: one per node, where kwok takes its pods' IPs from."""
        base = len([n for n in self.gpunodes if n.startswith(site + "-n")])
        names = [f"{site}-n{base + i + 1:03d}" for i in range(count)]
        apply_dev_nodes(self.core, node_shapes(names, site, model, gpus, pod_cidrs))
        for name in names:
            body = {
                "apiVersion": API,
                "kind": "GpuNode",
                "metadata": {"name": name},
                "spec": {
                    "site": site,
                    "nodeName": name,
                    "gpu": {"model": model, "count": gpus, "memoryMiB": 81559, "maxPowerW": 700},
                },
            }
            self.custom.create_cluster_custom_object(GROUP, VERSION, "gpunodes", body)
            self.gpunodes.append(name)
        return names

    def job(self, name: str, replicas: int = 1, **spec: Any) -> str:
        body = job_body(name, self.namespace, self.region, replicas, **spec)
        self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs", body
        )
        return name

    def delete_job(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs", name
        )

    def patch_status(self, plural: str, name: str, status: dict[str, Any]) -> None:
        self.custom.patch_cluster_custom_object_status(
            GROUP, VERSION, plural, name, {"status": status}
        )

    # -- reading it back ---------------------------------------------------------------

    def jobs(self) -> dict[str, dict[str, Any]]:
        items = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs"
        )["items"]
        return {j["metadata"]["name"]: j for j in items}

    def get_job(self, name: str) -> dict[str, Any]:
        job: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs", name
        )
        return job

    def get_cluster(self, plural: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        return obj

    def deployments(self) -> list[Any]:
        return list(self.apps.list_namespaced_deployment(self.namespace).items)

    def pods(self) -> list[Any]:
        return list(self.core.list_namespaced_pod(self.namespace).items)

    def running_pods(self, job: str | None = None) -> list[Any]:
        return [
            p
            for p in self.pods()
            if p.status.phase == "Running"
            and p.metadata.deletion_timestamp is None
            and (job is None or (p.metadata.labels or {}).get("compute.cango.io/job") == job)
        ]

    def phases(self) -> dict[str, str | None]:
        return {n: (j.get("status") or {}).get("phase") for n, j in self.jobs().items()}

    def explain(self) -> dict[str, str]:
        """Each job's phase and message, and the pods by phase: what a failed wait shows."""
        pods: dict[str, int] = {}
        for pod in self.pods():
            pods[pod.status.phase] = pods.get(pod.status.phase, 0) + 1
        out = {"(pods)": str(pods)}
        for name, job in self.jobs().items():
            status = job.get("status") or {}
            out[name] = f"{status.get('phase')} {status.get('readyReplicas')}/" + (
                f"{job['spec']['replicas']} {status.get('message') or ''}"
            )
        return out

    def wait_running(self, names: list[str] | None = None, timeout: float = 90) -> None:
        wait_for(
            "jobs to be Running",
            lambda: self.all_running(names),
            timeout=timeout,
            state=self.explain,
        )

    def all_running(self, names: list[str] | None = None) -> bool:
        phases = self.phases()
        wanted = names if names is not None else list(phases)
        return bool(wanted) and all(phases.get(n) == "Running" for n in wanted)

    def exactly_as_planned(self) -> list[str]:
        """Everything that differs from "each job runs exactly its plan, once": one
        Deployment per placement line with its replica count, the pods on the planned
        nodes, and nothing (Deployment or pod) that belongs to no job. Empty when right."""
        problems: list[str] = []
        jobs = self.jobs()
        deployments: dict[str, list[Any]] = {}
        for dep in self.deployments():
            deployments.setdefault(dep.metadata.labels.get("compute.cango.io/job", "?"), []).append(
                dep
            )
        pods: dict[str, list[Any]] = {}
        for pod in self.pods():
            if pod.metadata.deletion_timestamp is None:
                job = (pod.metadata.labels or {}).get("compute.cango.io/job", "?")
                pods.setdefault(job, []).append(pod)
        for name in sorted(set(deployments) - set(jobs)):
            problems.append(f"Deployments of no job: {name}")
        for name in sorted(set(pods) - set(jobs)):
            problems.append(f"pods of no job: {name}")
        for name, job in sorted(jobs.items()):
            status = job.get("status") or {}
            plan = {p["node"]: p["replicas"] for p in status.get("placements", [])}
            if sum(plan.values()) != job["spec"]["replicas"]:
                problems.append(f"{name}: plan has {sum(plan.values())} replicas")
            deps = {
                d.metadata.labels["compute.cango.io/node"]: d.spec.replicas
                for d in deployments.get(name, [])
            }
            if len(deployments.get(name, [])) != len(deps) or deps != plan:
                problems.append(f"{name}: Deployments {deps} vs plan {plan}")
            running: dict[str, int] = {}
            for pod in pods.get(name, []):
                if pod.status.phase == "Running":
                    running[pod.spec.node_name] = running.get(pod.spec.node_name, 0) + 1
            if running != plan or len(pods.get(name, [])) != sum(plan.values()):
                problems.append(f"{name}: running pods {running} vs plan {plan}")
        return problems

    # -- cleaning up -------------------------------------------------------------------

    def cleanup(self) -> None:
        _quietly(self.core.delete_namespace, self.namespace)
        for name in self.gpunodes:
            _quietly(self.custom.delete_cluster_custom_object, GROUP, VERSION, "gpunodes", name)
            _quietly(self.core.delete_node, name)
        for name in self.sites:
            _quietly(self.custom.delete_cluster_custom_object, GROUP, VERSION, "sites", name)


def _quietly(fn: Callable[..., object], *args: Any) -> None:
    """Delete, where already gone is fine."""
    try:
        fn(*args)
    except ApiException as exc:
        if exc.status != 404:
            raise
