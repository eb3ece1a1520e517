"""`cango-operator plan`: manifests in, a plan out (table or JSON), clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cango_operator.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FLEET = """
apiVersion: compute.cango.io/v1alpha1
kind: Site
metadata: {name: tx-1}
spec:
  region: north-america
  power: {capacityKw: 100}
  energyPriceUsdPerMwh: 40
  latencyMs: {north-america: 20}
---
apiVersion: compute.cango.io/v1alpha1
kind: GpuNode
metadata: {name: tx-1-n001}
spec:
  site: tx-1
  nodeName: tx-1-n001
  gpu: {model: H100-80GB, count: 8, memoryMiB: 81559, maxPowerW: 700}
"""
JOBS = """
apiVersion: compute.cango.io/v1alpha1
kind: InferenceJob
metadata: {name: chat, namespace: acme}
spec:
  replicas: 3
  container: {image: example/chat:1}
  placement: {clientRegion: north-america, maxLatencyMs: 50}
"""


def run_plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


class TestOutput:
    def test_json_follows_the_contract(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run_plan(
            capsys,
            "-f",
            write(tmp_path, "f.yaml", FLEET),
            "-f",
            write(tmp_path, "j.yaml", JOBS),
            "-o",
            "json",
        )
        assert code == 0
        result = json.loads(out)
        assert result["placements"] == [
            {
                "job": "acme/chat",
                "site": "tx-1",
                "node": "tx-1-n001",
                "replicas": 3,
                "gpus": 3,
                "powerW": 2100,
                "newReplicas": 3,
            }
        ]
        assert result["unschedulable"] == [] and result["evictions"] == []
        assert result["sites"] == [
            {
                "name": "tx-1",
                "availableKwBefore": 100,
                "availableKwAfter": 97.9,
                "miningTargetKw": 0,
            }
        ]

    def test_the_table_has_a_section_per_part_of_the_plan(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run_plan(capsys, "-f", write(tmp_path, "f.yaml", FLEET + "---" + JOBS))
        assert code == 0
        assert "PLACEMENTS (1)" in out and "SITES (1)" in out
        assert "acme/chat  tx-1  tx-1-n001  3" in out

    def test_the_shipped_examples_plan(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run_plan(capsys, "-f", str(EXAMPLES), "-o", "json")
        assert code == 0
        result = json.loads(out)
        assert {p["job"] for p in result["placements"]} >= {"tenant-acme/embed-small"}
        assert all(set(u) >= {"job", "reasons", "message"} for u in result["unschedulable"])


class TestStatusDescribesTheCurrentLoad:
    def test_site_status_power_is_used_instead_of_the_spec(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        loaded = FLEET.replace(
            "  latencyMs: {north-america: 20}\n",
            "  latencyMs: {north-america: 20}\nstatus:\n  power: {otherLoadKw: 98.8}\n",
        )
        code, out, _ = run_plan(
            capsys, "-f", write(tmp_path, "f.yaml", loaded + "---" + JOBS), "-o", "json"
        )
        assert code == 0
        result = json.loads(out)
        assert [p["replicas"] for p in result["placements"]] == [1]
        assert result["unschedulable"][0]["reasons"] == {"no power at site": 1}

    def test_running_replicas_from_job_status_stay_put(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        running = JOBS + "status:\n  placements:\n  - {site: tx-1, node: tx-1-n001, replicas: 2}\n"
        code, out, _ = run_plan(
            capsys, "-f", write(tmp_path, "f.yaml", FLEET + "---" + running), "-o", "json"
        )
        assert code == 0
        (row,) = json.loads(out)["placements"]
        assert (row["replicas"], row["newReplicas"]) == (3, 1)


class TestBadInput:
    def test_an_invalid_manifest_exits_1_naming_file_object_and_field(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = write(tmp_path, "bad.yaml", FLEET.replace("capacityKw: 100", "capacityKw: 0"))
        code, out, err = run_plan(capsys, "-f", bad)
        assert code == 1
        assert out == ""
        assert "bad.yaml: Site tx-1: spec.power.capacityKw" in err

    def test_a_missing_file_exits_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run_plan(capsys, "-f", str(tmp_path / "nope.yaml"))
        assert code == 1
        assert "nope.yaml: no such file or directory" in err

    def test_status_placements_that_do_not_add_up_exit_1_naming_them(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        odd = (
            JOBS
            + "status:\n  placements:\n  - {site: tx-1, node: tx-1-n001, replicas: 2, gpus: 3}\n"
        )
        code, _, err = run_plan(capsys, "-f", write(tmp_path, "f.yaml", FLEET + "---" + odd))
        assert code == 1
        assert "placement of acme/chat on tx-1-n001: gpus" in err

    def test_no_file_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exc:
            main(["plan"])
        assert exc.value.code == 2
