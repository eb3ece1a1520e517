"""The Gateway API Inference Extension's endpoint picker for one InferencePool of a local
cluster: its lightweight picker (``cmd/lwepp``, ``hack/epp/build.sh`` builds it from its
Go module), which watches the pool and its pods and answers Envoy's ext_proc with the
replica to use (round robin among the candidates it is given).

It takes port numbers only and listens on every interface, so each picker gets free
ports of its own; it serves plain gRPC (``--secure-serving=false``), as a gateway on the
same machine needs no TLS to it.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cango_operator.devcluster.processes import terminate
from cango_operator.devcluster.tools import ensure_epp_dir, free_port
from cango_operator.errors import ClusterError


@dataclass
class EndpointPicker:
    """The picker of the pool ``namespace/pool``, reading the cluster of ``kubeconfig``."""

    kubeconfig: Path
    namespace: str
    pool: str
    workdir: Path
    port: int = 0  # ext_proc (gRPC)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"picker-{self.pool}.log"

    def start(self, timeout: float = 30) -> EndpointPicker:
        binary = ensure_epp_dir() / "epp"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    f"--kubeconfig={self.kubeconfig}",
                    f"--pool-name={self.pool}",
                    # Without it the picker watches pods and pools in every namespace.
                    f"--pool-namespace={self.namespace}",
                    f"--grpc-port={self.port}",
                    f"--grpc-health-port={free_port()}",
                    f"--metrics-port={free_port()}",
                    "--secure-serving=false",
                    "--zap-devel=false",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_listening(timeout)
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ClusterError(f"the endpoint picker exited:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise ClusterError(
            f"the endpoint picker did not listen on {self.port} in {timeout:.0f}s:\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> None:
        terminate(self.process)

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]
