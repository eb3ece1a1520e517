"""Real HTTP servers for the pods kwok marks Running: one fake model server process per
site (``fakemodel``), serving each of its pods' IP and port on loopback.

A test gives its kwok nodes pod ranges in 127.0.0.0/8, so each pod's IP is an address
this machine already routes to itself; ``serve`` starts servers for the pods not served
yet, and ``kill_site`` takes a whole site's replicas away at once (SIGKILL: connections
refused from then on, requests in flight reset), as a site losing power would.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from cango_operator.devcluster.processes import terminate
from cango_operator.errors import CangoError


class ModelServerError(CangoError):
    """A fake model server did not start."""


@dataclass(frozen=True)
class PodAddress:
    """Where a pod answers (its IP and container port) and the site it runs at."""

    ip: str
    port: int
    site: str

    @property
    def address(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


class ModelServers:
    """The fake model server processes of one test; ``stop`` ends them all."""

    def __init__(self, latency_ms: float = 0.0, start_timeout: float = 20.0) -> None:
        self.latency_ms = latency_ms
        self.start_timeout = start_timeout
        self._procs: dict[str, list[subprocess.Popen[bytes]]] = {}
        self._served: dict[str, str] = {}  # address -> site

    @property
    def served(self) -> dict[str, str]:
        """Every address served now, with its site."""
        return dict(self._served)

    def serve(self, pods: Iterable[PodAddress]) -> list[str]:
        """Serve the pods not served yet (one new process per site); their addresses."""
        by_site: dict[str, list[str]] = {}
        for pod in pods:
            if pod.address not in self._served:
                by_site.setdefault(pod.site, []).append(pod.address)
        started: list[str] = []
        for site, addresses in sorted(by_site.items()):
            self._start(site, sorted(set(addresses)))
            started += addresses
        return started

    def _start(self, site: str, addresses: list[str]) -> None:
        args = [sys.executable, "-m", "cango_operator.devcluster.fakemodel", "--name", site]
        args += ["--latency-ms", str(self.latency_ms)]
        for address in addresses:
            args += ["--listen", address]
        # stderr to a file: a pipe nobody reads would block a chatty server.
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
            self._wait_ready(proc, site, addresses, err)
        self._procs.setdefault(site, []).append(proc)
        self._served.update(dict.fromkeys(addresses, site))

    def _wait_ready(
        self,
        proc: subprocess.Popen[bytes],
        site: str,
        addresses: list[str],
        err: IO[bytes],
    ) -> None:
        assert proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        line = b""
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            if line.strip() == b"ready":
                break
        if line.strip() != b"ready":
            proc.kill()
            proc.wait(timeout=10)
            _close(proc)
            err.seek(0)
            said = err.read().decode(errors="replace").strip()[-2000:]
            raise ModelServerError(
                f"the fake model server for {site} ({', '.join(addresses)}) did not start: {said}"
            )

    def kill_site(self, site: str) -> list[str]:
        """SIGKILL every server of ``site``; the addresses that stopped answering."""
        for proc in self._procs.pop(site, []):
            proc.kill()
            proc.wait(timeout=10)
            _close(proc)
        gone = [a for a, s in self._served.items() if s == site]
        for address in gone:
            del self._served[address]
        return gone

    def stop(self) -> None:
        for procs in self._procs.values():
            for proc in procs:
                terminate(proc, timeout=10)
                _close(proc)
        self._procs.clear()
        self._served.clear()


def _close(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdout is not None:
        proc.stdout.close()
