"""The site guard as a real process at one site of the federation: the site cluster's
admin kubeconfig for the site's side, the site's own hub credentials (its agent's, through
the site's WAN link) for the hub's side, its ConfigMap in the test's namespace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes import client

from cango_operator.devcluster.federation import SiteCluster
from cango_operator.siteguard import CONFIGMAP_NAME
from tests.e2e.harness import terminate

#: How often the guard asks the hub, how long each try waits, how many in a row fail:
#: the hub counts as away about 3 x (1 + 1) s after a cut.
PROBE_S, PROBE_TIMEOUT_S, MISSES = 1, 1, 3


class GuardProcess:
    def __init__(self, member: SiteCluster, sites: list[str], namespace: str, log: Path) -> None:
        self.member = member
        self.namespace = namespace
        self.log_path = log
        self.argv = [
            sys.executable, "-m", "cango_operator", "site-guard",
            *(f"--site={s}" for s in sites),
            f"--cluster={member.name}",
            f"--hub-kubeconfig={member.hub_kubeconfig}",
            f"--kubeconfig={member.cluster.kubeconfig}",
            f"--namespace={namespace}",
            f"--watch-namespace={namespace}",
            f"--probe-interval={PROBE_S}",
            f"--probe-timeout={PROBE_TIMEOUT_S}",
            f"--misses={MISSES}",
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GuardProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.member.cluster.env()
            )
        return self

    def stop(self) -> None:
        terminate(self.proc)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def memory(self, api: client.ApiClient) -> dict[str, Any]:
        """The guard's ConfigMap, each key's JSON read; empty until it wrote one."""
        try:
            got = client.CoreV1Api(api).read_namespaced_config_map(CONFIGMAP_NAME, self.namespace)
        except client.exceptions.ApiException as exc:
            if exc.status == 404:
                return {}
            raise
        return {k: json.loads(v) for k, v in (got.data or {}).items()}
