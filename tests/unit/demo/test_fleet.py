"""The objects a scenario becomes: kwok Nodes of both fleets, Sites with feeds, GpuNodes, jobs."""

from __future__ import annotations

from cango_operator.demo.fleet import (
    DEMO_SITE_LABEL,
    FLEET_LABEL,
    build_gpunode,
    build_inference_job,
    build_node,
    build_site,
    demo_nodes,
)
from cango_operator.demo.scenario import parse_scenario
from cango_operator.devcluster.nodes import SITE_LABEL

SCENARIO = parse_scenario(
    {
        "name": "day",
        "gpuModels": {"L40S-48GB": {"memoryMiB": 46068, "maxPowerW": 350, "nodeOverheadW": 800}},
        "sites": [
            {
                "name": "ke-1",
                "region": "east-africa",
                "location": {"country": "KE", "latitude": -0.9, "longitude": 36.3},
                "capacityKw": 1500,
                "reserveKw": 60,
                "pue": 1.1,
                "energyPriceUsdPerMwh": 55,
                "mining": {"loadKw": 1400, "curtailableKw": 30},
                "latencyMs": {"east-africa": 21.6, "europe": 150},
                "nodes": [{"model": "L40S-48GB", "count": 2, "gpusPerNode": 4}],
            }
        ],
        "tenants": [
            {
                "name": "wonka",
                "jobs": [
                    {
                        "name": "embed",
                        "submitAt": "01:00",
                        "replicas": 3,
                        "gpu": {"count": 1, "models": ["L40S-48GB"], "minMemoryMiB": 16000},
                        "clientRegion": "east-africa",
                        "maxLatencyMs": 250,
                        "objective": "cost",
                        "priority": 100,
                        "estimatedPowerW": 300,
                    }
                ],
            }
        ],
    }
)


class TestNodes:
    def test_both_fleets_have_the_same_nodes_the_baseline_ones_prefixed(self) -> None:
        cango = demo_nodes(SCENARIO)
        baseline = demo_nodes(SCENARIO, "baseline")
        assert [n.name for n in cango] == ["ke-1-n001", "ke-1-n002"]
        assert [n.name for n in baseline] == ["base-ke-1-n001", "base-ke-1-n002"]
        assert {(n.site, n.model, n.gpus) for n in cango + baseline} == {("ke-1", "L40S-48GB", 4)}

    def test_only_the_cango_fleet_is_labelled_for_the_operator(self) -> None:
        cango, baseline = demo_nodes(SCENARIO)[0], demo_nodes(SCENARIO, "baseline")[0]
        labels = build_node(cango)["metadata"]["labels"]
        assert labels[SITE_LABEL] == "ke-1" and labels[FLEET_LABEL] == "cango"
        base_labels = build_node(baseline)["metadata"]["labels"]
        assert SITE_LABEL not in base_labels
        assert base_labels[DEMO_SITE_LABEL] == "ke-1" and base_labels[FLEET_LABEL] == "baseline"
        assert build_node(baseline)["status"]["allocatable"]["nvidia.com/gpu"] == "4"


class TestSite:
    def test_the_site_carries_the_scenarios_power_and_a_http_feed(self) -> None:
        site = build_site(SCENARIO.sites[0], "http://127.0.0.1:5000/sites/ke-1", "day")
        spec = site["spec"]
        assert spec["power"]["capacityKw"] == 1500 and spec["power"]["pue"] == 1.1
        assert spec["power"]["feed"]["type"] == "http"
        assert spec["power"]["feed"]["url"] == "http://127.0.0.1:5000/sites/ke-1"
        assert spec["power"]["feed"]["jsonPath"] == "loadKw"
        assert spec["power"]["feed"]["loadScope"] == "mining"
        assert spec["power"]["feed"]["capacityPath"] == "capacityKw"
        assert spec["power"]["feed"]["curtailedPath"] == "curtailed"
        assert spec["power"]["feed"]["pricePath"] == "priceUsdPerMwh"
        assert spec["mining"] == {"loadKw": 1400, "curtailableKw": 30}
        assert spec["latencyMs"] == {"east-africa": 22, "europe": 150}
        assert spec["location"]["country"] == "KE"
        assert "cluster" not in spec

    def test_federated_it_names_its_regions_site_cluster_unless_the_scenario_says_another(
        self,
    ) -> None:
        site = SCENARIO.sites[0]
        url = "http://127.0.0.1:5000/sites/ke-1"
        assert build_site(site, url, "day", federated=True)["spec"]["cluster"] == "east-africa"
        moved = site.model_copy(update={"cluster": "africa"})
        assert build_site(moved, url, "day", federated=True)["spec"]["cluster"] == "africa"


class TestGpuNode:
    def test_it_describes_the_node_and_its_gpus(self) -> None:
        node = demo_nodes(SCENARIO)[0]
        gpunode = build_gpunode(node, SCENARIO.gpu_models["L40S-48GB"], "day")
        assert gpunode["spec"] == {
            "site": "ke-1",
            "nodeName": "ke-1-n001",
            "gpu": {"model": "L40S-48GB", "count": 4, "memoryMiB": 46068, "maxPowerW": 350},
            "overheadW": 800,
        }
        assert "compute.cango.io/cluster" not in gpunode["metadata"]["labels"]

    def test_federated_it_is_labelled_with_the_cluster_whose_agent_reports_it(self) -> None:
        node = demo_nodes(SCENARIO)[0]
        gpunode = build_gpunode(node, SCENARIO.gpu_models["L40S-48GB"], "day", "east-africa")
        assert gpunode["metadata"]["labels"]["compute.cango.io/cluster"] == "east-africa"


class TestInferenceJob:
    def test_the_tenants_job_in_the_api_shape(self) -> None:
        tenant, job = SCENARIO.jobs()[0]
        body = build_inference_job(tenant, job, "day")
        assert body["metadata"]["namespace"] == "tenant-wonka"
        spec = body["spec"]
        assert spec["replicas"] == 3
        assert spec["gpu"] == {"count": 1, "models": ["L40S-48GB"], "minMemoryMiB": 16000}
        assert spec["placement"] == {
            "clientRegion": "east-africa",
            "maxLatencyMs": 250,
            "minSites": 1,
            "objective": "cost",
        }
        assert spec["estimatedPowerW"] == 300 and spec["preemptible"] is True


class TestTheShippedScenarioAgainstTheApi:
    def test_every_object_it_becomes_validates_against_the_api_models(self) -> None:
        from cango_operator.api import parse_resource
        from cango_operator.demo.scenario import DEFAULT_SCENARIO, load_scenario

        scenario = load_scenario(DEFAULT_SCENARIO)
        docs = [
            build_site(s, f"http://127.0.0.1:1/sites/{s.name}", "x", federated=True)
            for s in scenario.sites
        ]
        docs += [
            build_gpunode(n, scenario.gpu_models[n.model], "x", "north-america")
            for n in demo_nodes(scenario)
        ]
        docs += [build_inference_job(t, j, "x") for t, j in scenario.jobs()]
        kinds = [parse_resource(doc, "demo").kind for doc in docs]
        assert kinds.count("Site") == len(scenario.sites)
        assert kinds.count("InferenceJob") == len(scenario.jobs())
