"""The API contract (docs/api.md) as data: the manifests it shows and the field paths it fixes."""

from __future__ import annotations

from typing import Any

SITE_EXAMPLE: dict[str, Any] = {
    "apiVersion": "compute.cango.io/v1alpha1",
    "kind": "Site",
    "metadata": {"name": "tx-rockdale-1"},
    "spec": {
        "region": "north-america",
        "location": {"country": "US", "latitude": 30.65, "longitude": -97.0},
        "operatorName": "cango",
        "power": {
            "capacityKw": 20000,
            "reserveKw": 500,
            "pue": 1.15,
            "feed": {
                "type": "http",
                "url": "http://meter.site.local/power",
                "intervalSeconds": 15,
                "staleAfterSeconds": 90,
                "secretRef": {"name": "tx-rockdale-1-feed"},
            },
        },
        "energyPriceUsdPerMwh": 38,
        "mining": {"loadKw": 16000, "curtailableKw": 8000},
        "latencyMs": {"north-america": 25, "south-america": 140},
        "cordoned": False,
    },
    "status": {
        "phase": "Ready",
        "power": {
            "capacityKw": 20000,
            "otherLoadKw": 15800,
            "gpuDrawKw": 310,
            "committedKw": 420,
            "availableKw": 3280,
            "miningTargetKw": 15600,
            "feed": {"healthy": True, "lastSampleTime": "2026-01-05T10:00:00Z", "message": ""},
        },
        "gpus": {"total": 64, "allocated": 12},
        "nodes": {"total": 8, "ready": 8},
        "latencyMs": {"north-america": 24, "south-america": 139},
    },
}

GPUNODE_EXAMPLE: dict[str, Any] = {
    "apiVersion": "compute.cango.io/v1alpha1",
    "kind": "GpuNode",
    "metadata": {"name": "tx-rockdale-1-n001"},
    "spec": {
        "site": "tx-rockdale-1",
        "nodeName": "tx-rockdale-1-n001",
        "gpu": {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700},
        "overheadW": 1200,
        "unschedulable": False,
    },
    "status": {
        "phase": "Ready",
        "powerW": 3400,
        "allocatedGpus": 3,
        "lastHeartbeatTime": "2026-01-05T10:00:00Z",
        "gpus": [
            {
                "index": 0,
                "uuid": "GPU-0b6c",
                "powerW": 410,
                "powerLimitW": 700,
                "temperatureC": 61,
                "utilizationPct": 87,
                "memoryUsedMiB": 60000,
                "eccDoubleBitErrors": 0,
                "lastXid": None,
                "healthy": True,
            }
        ],
    },
}

JOB_EXAMPLE: dict[str, Any] = {
    "apiVersion": "compute.cango.io/v1alpha1",
    "kind": "InferenceJob",
    "metadata": {"name": "llama-chat", "namespace": "tenant-acme"},
    "spec": {
        "replicas": 4,
        "container": {
            "image": "ghcr.io/acme/vllm-llama:1.2",
            "args": ["--model", "/models/llama"],
            "env": [{"name": "HF_HOME", "value": "/models"}],
            "port": 8000,
            "resources": {"cpu": "8", "memory": "64Gi"},
        },
        "gpu": {"count": 1, "models": ["H100-80GB", "H200-141GB"], "minMemoryMiB": 40000},
        "estimatedPowerW": 650,
        "placement": {
            "clientRegion": "north-america",
            "maxLatencyMs": 50,
            "allowedRegions": [],
            "minSites": 2,
            "maxReplicasPerSite": 0,
            "objective": "balanced",
        },
        "priority": 100,
        "preemptible": True,
    },
    "status": {
        "phase": "Running",
        "replicas": 4,
        "readyReplicas": 4,
        "placements": [
            {
                "site": "tx-rockdale-1",
                "node": "tx-rockdale-1-n001",
                "replicas": 2,
                "gpus": 2,
                "powerW": 1300,
            },
            {
                "site": "tx-abilene-2",
                "node": "tx-abilene-2-n004",
                "replicas": 2,
                "gpus": 2,
                "powerW": 1300,
            },
        ],
        "sites": ["tx-abilene-2", "tx-rockdale-1"],
        "latencyMs": 31,
        "message": "",
        "usage": {"gpuHours": 12.5, "energyKwh": 8.1},
    },
}

#: Every field path docs/api.md names, per kind ("[]" steps into list items).
CONTRACT_FIELDS: dict[str, list[str]] = {
    "Site": [
        "spec.region",
        "spec.location.country",
        "spec.location.latitude",
        "spec.location.longitude",
        "spec.operatorName",
        "spec.power.capacityKw",
        "spec.power.reserveKw",
        "spec.power.pue",
        "spec.power.feed.type",
        "spec.power.feed.url",
        "spec.power.feed.intervalSeconds",
        "spec.power.feed.staleAfterSeconds",
        "spec.power.feed.secretRef.name",
        "spec.power.feed.jsonPath",
        "spec.power.feed.query",
        "spec.power.feed.host",
        "spec.power.feed.port",
        "spec.power.feed.unitId",
        "spec.power.feed.register",
        "spec.power.feed.scale",
        "spec.energyPriceUsdPerMwh",
        "spec.mining.loadKw",
        "spec.mining.curtailableKw",
        "spec.latencyMs",
        "spec.cordoned",
        "status.phase",
        "status.observedGeneration",
        "status.conditions",
        "status.power.capacityKw",
        "status.power.otherLoadKw",
        "status.power.gpuDrawKw",
        "status.power.committedKw",
        "status.power.availableKw",
        "status.power.miningTargetKw",
        "status.power.feed.healthy",
        "status.power.feed.lastSampleTime",
        "status.power.feed.message",
        "status.gpus.total",
        "status.gpus.allocated",
        "status.nodes.total",
        "status.nodes.ready",
        "status.latencyMs",
    ],
    "GpuNode": [
        "spec.site",
        "spec.nodeName",
        "spec.gpu.model",
        "spec.gpu.count",
        "spec.gpu.memoryMiB",
        "spec.gpu.maxPowerW",
        "spec.overheadW",
        "spec.unschedulable",
        "status.phase",
        "status.observedGeneration",
        "status.conditions",
        "status.powerW",
        "status.allocatedGpus",
        "status.lastHeartbeatTime",
        "status.gpus[].index",
        "status.gpus[].uuid",
        "status.gpus[].powerW",
        "status.gpus[].powerLimitW",
        "status.gpus[].temperatureC",
        "status.gpus[].utilizationPct",
        "status.gpus[].memoryUsedMiB",
        "status.gpus[].eccDoubleBitErrors",
        "status.gpus[].lastXid",
        "status.gpus[].healthy",
    ],
    "InferenceJob": [
        "spec.replicas",
        "spec.container.image",
        "spec.container.args",
        "spec.container.env[].name",
        "spec.container.env[].value",
        "spec.container.port",
        "spec.container.resources.cpu",
        "spec.container.resources.memory",
        "spec.gpu.count",
        "spec.gpu.models",
        "spec.gpu.minMemoryMiB",
        "spec.estimatedPowerW",
        "spec.placement.clientRegion",
        "spec.placement.maxLatencyMs",
        "spec.placement.allowedRegions",
        "spec.placement.minSites",
        "spec.placement.maxReplicasPerSite",
        "spec.placement.objective",
        "spec.priority",
        "spec.preemptible",
        "status.phase",
        "status.observedGeneration",
        "status.conditions",
        "status.replicas",
        "status.readyReplicas",
        "status.placements[].site",
        "status.placements[].node",
        "status.placements[].replicas",
        "status.placements[].gpus",
        "status.placements[].powerW",
        "status.sites",
        "status.latencyMs",
        "status.message",
        "status.usage.gpuHours",
        "status.usage.energyKwh",
    ],
}

#: The enum values docs/api.md fixes.
CONTRACT_ENUMS: dict[str, list[str]] = {
    "Site.status.phase": ["Ready", "Degraded", "Curtailed", "Offline", "Unknown"],
    "Site.spec.power.feed.type": ["http", "prometheus", "modbus", "static"],
    "GpuNode.status.phase": ["Ready", "Degraded", "Unhealthy", "Unknown"],
    "InferenceJob.status.phase": [
        "Pending",
        "Placing",
        "Running",
        "Degraded",
        "Unschedulable",
        "Queued",
        "Failed",
    ],
    "InferenceJob.spec.placement.objective": ["latency", "cost", "balanced"],
}


def schema_at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The node of an openAPIV3Schema at a dotted path; KeyError naming the step if absent."""
    node = schema
    for step in path.split("."):
        items = step.endswith("[]")
        node = node["properties"][step.removesuffix("[]")]
        if items:
            node = node["items"]
    return node
