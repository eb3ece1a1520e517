"""The Kubernetes objects a scenario becomes: Sites, GpuNodes, kwok Nodes, InferenceJobs.

Pure builders (plain dicts, the shapes of docs/api.md). Two fleets of kwok
Nodes mirror each other: the ``cango`` fleet (with GpuNodes, placed by the operator) and
the ``baseline`` fleet (the same sites and GPUs, no GpuNodes, used only by the plain
Deployments of the baseline). Every node carries ``demo.cango.io/site`` and
``demo.cango.io/fleet`` so the measurements read both the same way; only the cango
fleet carries ``compute.cango.io/site``, which the operator acts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cango_operator.builders.labels import CLUSTER_LABEL
from cango_operator.demo.scenario import GpuModel, JobScenario, Scenario, SiteScenario, Tenant
from cango_operator.devcluster.nodes import SITE_LABEL, GpuNodeShape, build_kwok_node

API_GROUP = "compute.cango.io"
API_VERSION = "v1alpha1"
API = f"{API_GROUP}/{API_VERSION}"

FLEET_LABEL = "demo.cango.io/fleet"
DEMO_SITE_LABEL = "demo.cango.io/site"
SCENARIO_LABEL = "demo.cango.io/scenario"
#: On a Node whose site has lost power (a storm): "off". The simulation's ground truth
#: for "this machine is off", which kwok cannot show (it keeps simulated Nodes Ready).
POWER_ANNOTATION = "demo.cango.io/power"
CANGO_FLEET = "cango"
BASELINE_FLEET = "baseline"
BASELINE_NODE_PREFIX = "base-"

#: How often the operator polls the demo's feeds and when a reading counts as stale,
#: in real seconds (the simulated day runs a few hundred times faster than that).
FEED_INTERVAL_S = 4
FEED_STALE_AFTER_S = 20
FEED_LOAD_PATH = "loadKw"
#: Where the power feed finds the meter's other values (see ``conditions``).
FEED_PATHS = {
    "loadScope": "mining",
    "capacityPath": "capacityKw",
    "curtailedPath": "curtailed",
    "pricePath": "priceUsdPerMwh",
}


@dataclass(frozen=True)
class DemoNode:
    """One GPU node of the scenario, in the fleet it belongs to."""

    name: str
    site: str
    model: str
    gpus: int
    fleet: str


def demo_nodes(scenario: Scenario, fleet: str = CANGO_FLEET) -> list[DemoNode]:
    """Every node of the scenario; baseline twins are named ``base-<node>``."""
    prefix = BASELINE_NODE_PREFIX if fleet == BASELINE_FLEET else ""
    return [
        DemoNode(f"{prefix}{name}", site.name, group.model, group.gpus_per_node, fleet)
        for site in scenario.sites
        for name, group in site.node_names()
    ]


def build_node(node: DemoNode) -> dict[str, Any]:
    """The kwok Node; only the cango fleet is labelled for the operator."""
    body = build_kwok_node(GpuNodeShape(node.name, node.site, node.model, node.gpus))
    labels = body["metadata"]["labels"]
    labels[FLEET_LABEL] = node.fleet
    labels[DEMO_SITE_LABEL] = node.site
    if node.fleet != CANGO_FLEET:
        del labels[SITE_LABEL]
    return body


def build_site(
    site: SiteScenario,
    feed_url: str,
    scenario_name: str,
    *,
    federated: bool = False,
    mining: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Site a site operator would write, its power feed pointing at the demo's meter;
    ``federated``: it names the site cluster it runs in; ``mining``: its ``spec.mining``
    (default: the scenario's load and curtailable part, no miners to drive)."""
    spec: dict[str, Any] = {
        "region": site.region,
        "operatorName": site.operator_name,
        "power": {
            "capacityKw": site.capacity_kw,
            "reserveKw": site.reserve_kw,
            "pue": site.pue,
            **(
                {"gpuPowerCapShare": site.gpu_power_cap_share}
                if site.gpu_power_cap_share is not None
                else {}
            ),
            "feed": {
                "type": "http",
                "url": feed_url,
                "jsonPath": FEED_LOAD_PATH,
                **FEED_PATHS,
                "intervalSeconds": FEED_INTERVAL_S,
                "staleAfterSeconds": FEED_STALE_AFTER_S,
            },
        },
        "energyPriceUsdPerMwh": site.energy_price_usd_per_mwh,
        "mining": mining
        or {"loadKw": site.mining.load_kw, "curtailableKw": site.mining.curtailable_kw},
        "latencyMs": {region: round(ms) for region, ms in sorted(site.latency_ms.items())},
    }
    if federated:
        spec["cluster"] = site.cluster_name
    if site.location is not None:
        spec["location"] = {
            "country": site.location.country,
            "latitude": site.location.latitude,
            "longitude": site.location.longitude,
        }
    return {
        "apiVersion": API,
        "kind": "Site",
        "metadata": {"name": site.name, "labels": {SCENARIO_LABEL: scenario_name}},
        "spec": spec,
    }


def build_gpunode(
    node: DemoNode, model: GpuModel, scenario_name: str, cluster: str | None = None
) -> dict[str, Any]:
    """The GpuNode a site operator registers for a cango-fleet node; ``cluster``: the site
    cluster whose agent reports it (a federation's hub accepts it only so labelled)."""
    labels = {SCENARIO_LABEL: scenario_name}
    if cluster is not None:
        labels[CLUSTER_LABEL] = cluster
    return {
        "apiVersion": API,
        "kind": "GpuNode",
        "metadata": {"name": node.name, "labels": labels},
        "spec": {
            "site": node.site,
            "nodeName": node.name,
            "gpu": {
                "model": node.model,
                "count": node.gpus,
                "memoryMiB": model.memory_mib,
                "maxPowerW": round(model.max_power_w),
            },
            "overheadW": round(model.node_overhead_w),
        },
    }


def build_namespace(name: str, scenario_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {SCENARIO_LABEL: scenario_name}},
    }


def build_inference_job(
    tenant: Tenant,
    job: JobScenario,
    scenario_name: str,
    value_usd_per_gpu_hour: float | None = None,
) -> dict[str, Any]:
    """The InferenceJob the tenant submits; ``value_usd_per_gpu_hour``: what it earns."""
    spec: dict[str, Any] = {
        "replicas": job.replicas,
        "container": {"image": job.image, "port": 8000},
        "gpu": {"count": job.gpu.count, "models": list(job.gpu.models)},
        "placement": {
            "clientRegion": job.client_region,
            "maxLatencyMs": round(job.max_latency_ms),
            "minSites": job.min_sites,
            "objective": job.objective,
        },
        "priority": job.priority,
        "preemptible": job.preemptible,
    }
    if job.gpu.min_memory_mib:
        spec["gpu"]["minMemoryMiB"] = job.gpu.min_memory_mib
    if job.estimated_power_w is not None:
        spec["estimatedPowerW"] = round(job.estimated_power_w)
    if value_usd_per_gpu_hour is not None:
        spec["valueUsdPerGpuHour"] = value_usd_per_gpu_hour
    return {
        "apiVersion": API,
        "kind": "InferenceJob",
        "metadata": {
            "name": job.name,
            "namespace": tenant.namespace,
            "labels": {SCENARIO_LABEL: scenario_name},
        },
        "spec": spec,
    }
