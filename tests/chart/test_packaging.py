"""The image and the workflows agree with the chart. hadolint checks the Dockerfile, and
these tests check that what the chart assumes of the image (user, ports, entrypoint) is
what the Dockerfile makes; `make image` builds it for real and the real-node tests
(tests/realnode/) run it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import CHART_DIR, REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def instructions(name: str) -> list[str]:
    """Arguments of every Dockerfile instruction ``name`` (continuation lines joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [
        m.group(1).strip()
        for m in re.finditer(rf"^{name}\s+(.+)$", text, flags=re.MULTILINE | re.IGNORECASE)
    ]


def chart_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    return values


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        raise AssertionError("hadolint missing: it comes with the dev extras (`make venv`)")
    return found


class TestDockerfile:
    def test_hadolint_finds_nothing(self) -> None:
        proc = subprocess.run(
            [hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def test_builds_in_one_stage_and_runs_from_another(self) -> None:
        stages = instructions("FROM")
        assert [s.split()[-1] for s in stages] == ["build", "runtime"]
        assert instructions("COPY")[-1].startswith("--from=build ")

    def test_runs_as_the_user_the_chart_declares(self) -> None:
        pod = chart_values()["podSecurityContext"]
        assert instructions("USER") == [f"{pod['runAsUser']}:{pod['runAsGroup']}"]

    def test_exposes_the_chart_default_ports(self) -> None:
        values = chart_values()
        ports = {
            *values["operator"]["ports"].values(),
            *values["agent"]["ports"].values(),
            values["gateway"]["port"],
            values["gateway"]["statsPort"],
        }
        exposed = {int(p) for line in instructions("EXPOSE") for p in line.split()}
        assert exposed == ports

    def test_entrypoint_is_the_packaged_console_script_in_exec_form(self) -> None:
        (entrypoint,) = instructions("ENTRYPOINT")
        argv = yaml.safe_load(entrypoint)  # exec form is a JSON list: no shell involved
        assert isinstance(argv, list) and len(argv) == 1
        scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert Path(argv[0]).name in scripts

    def test_the_build_context_is_only_the_package_and_the_offline_wheels(self) -> None:
        lines = [
            line
            for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
            if line and not line.startswith("#")
        ]
        assert lines[0] == "*"  # everything else out: the Dockerfile copies the context
        kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
        assert kept == {"pyproject.toml", "README.md", "cango_operator", ".wheels"}
        sources = [
            src
            for line in instructions("COPY")
            if not line.startswith("--from")
            for src in line.split()[:-1]
        ]
        assert sources == ["."]


def workflow(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return doc


def run_steps(doc: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for job in doc["jobs"].values() for step in job["steps"])


def uses(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]


class TestWorkflows:
    @pytest.mark.parametrize("name", ["ci.yaml", "e2e-kind.yaml", "release.yaml"])
    def test_use_the_helm_version_the_project_pins(self, name: str) -> None:
        env = (REPO_ROOT / "hack" / "controlplane" / "versions.env").read_text()
        pinned = re.search(r"^HELM_VERSION=(\S+)", env, flags=re.MULTILINE)
        assert pinned is not None
        setup = [s for s in uses(workflow(name)) if s["uses"].startswith("azure/setup-helm")]
        for step in setup:
            assert step["with"]["version"] == pinned.group(1)

    def test_ci_runs_the_make_targets_a_developer_runs(self) -> None:
        commands = run_steps(workflow("ci.yaml"))
        for target in ("lint", "types", "layers", "chart-lint", "pytest"):
            assert re.search(rf"^make .*\b{target}\b", commands, flags=re.MULTILINE), target

    def test_e2e_installs_crds_before_the_chart_into_a_restricted_namespace(self) -> None:
        commands = run_steps(workflow("e2e-kind.yaml"))
        assert "pod-security.kubernetes.io/enforce=restricted" in commands
        crds = commands.index("kubectl apply --server-side -f charts/cango-operator/crds/")
        assert crds < commands.index("helm install")
        assert "agent.simulate=true" in commands

    def test_release_refuses_a_tag_that_disagrees_with_the_versions(self) -> None:
        doc = workflow("release.yaml")
        assert doc[True]["push"]["tags"] == ["v*.*.*"]  # YAML reads the key `on` as True
        commands = run_steps(doc)
        assert commands.index('test "$chart" = "$version"') < commands.index("helm push")
