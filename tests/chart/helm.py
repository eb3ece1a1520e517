"""Running the real helm binary against the chart, isolated from the user's helm setup."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "cango-operator"


def _pinned_kubernetes_version() -> str:
    env = REPO_ROOT / "hack" / "controlplane" / "versions.env"
    for line in env.read_text().splitlines():
        if line.startswith("KUBERNETES_VERSION="):
            return line.split("=", 1)[1].strip().lstrip("v")
    raise AssertionError(f"{env}: no KUBERNETES_VERSION")


#: `helm template` has no cluster to ask; render for the local control plane's version.
KUBE_VERSION = _pinned_kubernetes_version()


@dataclass(frozen=True)
class Helm:
    """The helm binary, with its config, cache and data homes under ``home``."""

    binary: str
    home: Path
    kubeconfig: Path | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for var, sub in (
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_DATA_HOME", "data"),
        ):
            env[var] = str(self.home / sub)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary, *args],
            check=False,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def template_text(
        self,
        values: dict[str, Any] | None = None,
        *extra: str,
        release: str = "cango-operator",
        namespace: str = "cango-system",
        chart: Path = CHART_DIR,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """`helm template`; ``values`` go in as a values file, with their JSON types."""
        args = ["template", release, str(chart), "-n", namespace, "--kube-version", KUBE_VERSION]
        if values is not None:
            args += ["-f", str(self.values_file(values))]
        return self.run(*args, *extra, check=check)

    def values_file(self, values: dict[str, Any]) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="values-", suffix=".json", dir=self.home)
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
        return Path(name)

    def template(
        self, values: dict[str, Any] | None = None, *extra: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """The rendered objects (empty documents dropped)."""
        text = self.template_text(values, *extra, **kwargs).stdout
        return [d for d in yaml.safe_load_all(text) if d]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one rendered object of ``kind`` (and ``name``); fails listing what there is."""
    found = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    if len(found) != 1:
        have = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)} in {have}")
    return found[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)
