"""`cango-operator demo` end to end on a tiny scenario: a real cluster, the real operator.

Three sites, two GPU nodes each, three jobs and a storm that takes one site off the grid
for a while; two simulated hours at high speed. The report's numbers must be what the
cluster holds, so the cluster is kept and read back afterwards.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.demo.runner import DemoOptions, run_demo
from cango_operator.devcluster import cluster_down, ensure_bin_dir

pytestmark = pytest.mark.cluster

TINY: dict[str, Any] = {
    "name": "tiny-storm",
    "day": {"lengthHours": 2, "defaultSpeed": 360},
    "gpuModels": {
        "H100-80GB": {"memoryMiB": 81559, "maxPowerW": 700, "nodeOverheadW": 1500},
        "L40S-48GB": {"memoryMiB": 46068, "maxPowerW": 350, "nodeOverheadW": 800},
    },
    "sites": [
        {
            "name": name,
            "region": "north-america",
            "capacityKw": 1500,
            "reserveKw": 50,
            "pue": 1.05,
            "energyPriceUsdPerMwh": price,
            "mining": {"loadKw": 1400, "curtailableKw": 40},
            "latencyMs": {"north-america": latency},
            "nodes": [{"model": model, "count": 2, "gpusPerNode": gpus}],
        }
        for name, price, latency, model, gpus in (
            ("it-tx-1", 30, 20, "H100-80GB", 8),
            ("it-qc-1", 32, 30, "H100-80GB", 8),
            ("it-ga-1", 50, 35, "L40S-48GB", 4),
        )
    ],
    "tenants": [
        {
            "name": "itest",
            "jobs": [
                {
                    "name": name,
                    "submitAt": at,
                    "replicas": replicas,
                    "gpu": {"count": 1},
                    "clientRegion": "north-america",
                    "maxLatencyMs": 80,
                }
                for name, at, replicas in (
                    ("chat", "00:01", 3),
                    ("embed", "00:02", 2),
                    ("vision", "00:03", 2),
                )
            ],
        }
    ],
    "events": [
        {
            "type": "storm",
            "name": "storm",
            "start": "00:40",
            "end": "01:30",
            "sites": ["it-tx-1"],
        }
    ],
}


def kubectl_json(kubeconfig: Path, *args: str) -> Any:
    import subprocess

    from cango_operator.devcluster import find_tool

    out = subprocess.run(
        [
            find_tool("kubectl", ensure_bin_dir()),
            "--kubeconfig",
            str(kubeconfig),
            *args,
            "-o",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


class TestDemoEndToEnd:
    def test_a_tiny_day_is_placed_survives_a_storm_and_is_reported_from_the_cluster(
        self, tmp_path: Path
    ) -> None:
        scenario = tmp_path / "tiny.yaml"
        scenario.write_text(yaml.safe_dump(TINY))
        name = f"cango-demo-test-{os.getpid()}"
        out = io.StringIO()
        options = DemoOptions(
            scenario=scenario,
            keep_cluster=True,
            cluster_name=name,
            workdir=tmp_path / "kwok",
            report_json=tmp_path / "report.json",
            sample_interval_s=1.0,
            out=out,
        )
        try:
            report = run_demo(options)
            kubeconfig = tmp_path / "kwok" / f"{name}.kubeconfig"
            jobs = kubectl_json(kubeconfig, "get", "inferencejobs", "-n", "tenant-itest")["items"]
            pods = kubectl_json(kubeconfig, "get", "pods", "-n", "tenant-itest")["items"]
        finally:
            cluster_down(name, tmp_path / "kwok", ensure_bin_dir())

        cango, baseline = report.worlds["cango"], report.worlds["baseline"]
        text = out.getvalue()
        assert "== Report: scenario tiny-storm" in text, text[-3000:]
        # Every job placed and fully up, in both worlds; none over a power budget.
        assert (cango.jobs_submitted, cango.jobs_fully_running) == (3, 3)
        assert (baseline.jobs_submitted, baseline.jobs_fully_running) == (3, 3)
        assert cango.overruns.site_samples == 0
        # The report's end state is the cluster's: ready replicas as the jobs' status says.
        ready = sum(int((j.get("status") or {}).get("readyReplicas") or 0) for j in jobs)
        assert cango.replicas_at_end == (7, 7)
        assert ready == 7
        running_sites = {p["spec"]["nodeName"].rsplit("-n", 1)[0] for p in pods}
        assert running_sites <= {"it-tx-1", "it-qc-1", "it-ga-1"}
        # The storm: the operator moved what ran at it-tx-1 and was fully up again.
        (storm,) = cango.events
        assert storm.affected_replicas > 0
        assert storm.moved_replicas == storm.affected_replicas
        assert storm.recovered_after_s is not None
        assert (
            json.loads((tmp_path / "report.json").read_text())["worlds"]["cango"]["jobs_submitted"]
            == 3
        )
