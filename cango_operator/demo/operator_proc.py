"""The operator as the demo runs it: ``cango-operator run`` in a child process.

It is the real command, against the demo cluster's kubeconfig, with its output in a log
file; the demo waits until its ``/metrics`` answers and stops it with SIGTERM at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

from cango_operator.errors import ClusterError

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
#: Settings for a fleet whose day runs a few hundred times faster than real time.
#: A GpuNode is stale after three missed agent intervals.
DEMO_OPERATOR_ARGS = ("--standalone", "--liveness", "none", "--node-stale-seconds", "45")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class OperatorProcess:
    """One ``cango-operator run`` child process."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        extra_args: Sequence[str] = DEMO_OPERATOR_ARGS,
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.metrics_port = free_port()
        self.args = [
            sys.executable,
            "-m",
            "cango_operator",
            "run",
            "--metrics-port",
            str(self.metrics_port),
            *extra_args,
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def exited(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until ``/metrics`` answers 200; a child that exits first is an error with its log."""
        deadline = time.monotonic() + timeout_s
        client_timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            while time.monotonic() < deadline:
                code = self.exited()
                if code is not None:
                    raise ClusterError(
                        f"the operator exited with {code} before it was ready; its log "
                        f"({self.log_path}) ends:\n{log_tail(self.log_path)}"
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(self.metrics_url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.5)
        raise ClusterError(
            f"the operator's {self.metrics_url} did not answer within {timeout_s:.0f} s; its "
            f"log ({self.log_path}) ends:\n{log_tail(self.log_path)}"
        )

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode


def operator_env(cluster_env: Mapping[str, str]) -> dict[str, str]:
    """The cluster's environment for the child, unbuffered so its log is current."""
    env = dict(cluster_env)
    env["PYTHONUNBUFFERED"] = "1"
    return env
