"""`cango-operator demo` end to end on a tiny scenario: real clusters, the real operator.

Three sites, two GPU nodes each, three jobs and a storm that takes one site off the grid
for a while; two simulated hours at high speed. Once on one cluster, once federated (a
hub and a site cluster per region, joined through Open Cluster Management). The report's
numbers must be what the clusters hold, so they are kept and read back afterwards.
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
from cango_operator.devcluster.federation import federation_down
from tests.conftest import reap_orphan_test_clusters

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


def kept_demo(
    scenario: Path, name: str, workdir: Path, out: io.StringIO, *, federated: bool
) -> DemoOptions:
    """A demo whose clusters stay up after the report, to be read back; the JSON report
    beside the work directory."""
    return DemoOptions(
        scenario=scenario,
        federated=federated,
        keep_cluster=True,
        cluster_name=name,
        workdir=workdir,
        report_json=workdir.parent / "report.json",
        sample_interval_s=1.0,
        out=out,
    )


class TestDemoEndToEnd:
    def test_a_tiny_day_is_placed_survives_a_storm_and_is_reported_from_the_cluster(
        self, tmp_path: Path
    ) -> None:
        scenario = tmp_path / "tiny.yaml"
        scenario.write_text(yaml.safe_dump(TINY))
        name = f"cango-demo-test-{os.getpid()}"
        out = io.StringIO()
        options = kept_demo(scenario, name, tmp_path / "kwok", out, federated=False)
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


#: The same day, its sites in two regions: one site cluster each under the hub.
TINY_FEDERATED: dict[str, Any] = {
    **TINY,
    "name": "tiny-federated",
    "sites": [
        {**site, "region": "europe"} if site["name"] == "it-qc-1" else site
        for site in TINY["sites"]
    ],
}
SITE_CLUSTERS = {"it-tx-1": "north-america", "it-qc-1": "europe", "it-ga-1": "north-america"}


@pytest.mark.federation
class TestFederatedDemoEndToEnd:
    def test_a_tiny_day_runs_across_site_clusters_beside_ocms_own_placement(
        self, tmp_path: Path
    ) -> None:
        reap_orphan_test_clusters()
        scenario = tmp_path / "tiny.yaml"
        scenario.write_text(yaml.safe_dump(TINY_FEDERATED))
        # Named so that a test session killed hard has its processes reaped by the next.
        name = f"cango-fedtest-{os.getpid()}-demo"
        workdir = tmp_path / "kwok"
        out = io.StringIO()
        options = kept_demo(scenario, name, workdir, out, federated=True)
        pods: dict[str, list[dict[str, Any]]] = {}
        try:
            report = run_demo(options)
            hub = workdir / f"{name}-hub.kubeconfig"
            jobs = kubectl_json(hub, "get", "inferencejobs", "-n", "tenant-itest")["items"]
            works = kubectl_json(hub, "get", "manifestworks", "-A")["items"]
            decisions = kubectl_json(hub, "get", "placementdecisions", "-n", "baseline-itest")
            for cluster in ("europe", "north-america"):
                kubeconfig = workdir / f"{name}-{cluster}.kubeconfig"
                pods[cluster] = kubectl_json(kubeconfig, "get", "pods", "-A")["items"]
        finally:
            federation_down(name, workdir, ensure_bin_dir())

        cango, baseline = report.worlds["cango"], report.worlds["baseline"]
        text = out.getvalue()
        assert "on a hub and 2 site clusters (europe, north-america)" in text, text[-3000:]
        assert report.clusters == ("europe", "north-america")
        assert (cango.jobs_submitted, cango.jobs_fully_running) == (3, 3)
        assert (baseline.jobs_submitted, baseline.jobs_fully_running) == (3, 3)
        assert cango.overruns.site_samples == 0
        assert cango.replicas_at_end == (7, 7) and baseline.replicas_at_end == (7, 7)
        # The hub holds the jobs and the works; the replicas run at the sites, each in
        # the cluster of the site whose node it is on, as many as the jobs say are ready.
        assert sum(int((j.get("status") or {}).get("readyReplicas") or 0) for j in jobs) == 7
        cango_works = [w for w in works if w["metadata"]["name"].startswith("tenant-itest-")]
        assert {w["metadata"]["namespace"] for w in cango_works} <= set(SITE_CLUSTERS.values())
        running: dict[str, list[str]] = {}
        for cluster, items in pods.items():
            for pod in items:
                namespace = pod["metadata"]["namespace"]
                if namespace in ("tenant-itest", "baseline-itest") and not pod["metadata"].get(
                    "deletionTimestamp"
                ):
                    node = pod["spec"]["nodeName"]
                    site = node.removeprefix("base-").rsplit("-n", 1)[0]
                    assert SITE_CLUSTERS[site] == cluster, (node, cluster)
                    running.setdefault(namespace, []).append(cluster)
        assert len(running["tenant-itest"]) == 7 and len(running["baseline-itest"]) == 7
        # The baseline's services went where OCM's Placement decided, one cluster each.
        decided = {
            d["metadata"]["labels"]["cluster.open-cluster-management.io/placement"]: [
                c["clusterName"] for c in d["status"]["decisions"]
            ]
            for d in decisions["items"]
        }
        assert sorted(decided) == ["chat", "embed", "vision"]
        assert all(len(clusters) == 1 for clusters in decided.values())
        replicas = {job["name"]: job["replicas"] for job in TINY["tenants"][0]["jobs"]}
        assert sorted(running["baseline-itest"]) == sorted(
            cluster for job, (cluster,) in decided.items() for _ in range(replicas[job])
        )
        # The storm at it-tx-1 (north-america): what ran there moved and was served again.
        (storm,) = cango.events
        assert storm.affected_replicas > 0
        assert storm.moved_replicas == storm.affected_replicas
        assert storm.recovered_after_s is not None
