"""Small, valid API objects for builder and operator tests, overridable field by field."""

from __future__ import annotations

from typing import Any

from cango_operator.api import GpuNode, InferenceJob, Site


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def job(name: str = "llama-chat", namespace: str = "tenant-acme", **spec: Any) -> InferenceJob:
    status = spec.pop("status", None)
    body: dict[str, Any] = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "InferenceJob",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "generation": 3,
            "resourceVersion": "100",
        },
        "spec": _merge(
            {
                "replicas": 2,
                "container": {"image": "ghcr.io/acme/vllm:1.2", "port": 8000},
                "gpu": {"count": 1},
            },
            spec,
        ),
    }
    if status is not None:
        body["status"] = status
    return InferenceJob.model_validate(body)


def site(name: str = "tx-1", region: str = "north-america", **spec: Any) -> Site:
    status = spec.pop("status", None)
    body: dict[str, Any] = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "Site",
        "metadata": {"name": name, "generation": 1, "resourceVersion": "10"},
        "spec": _merge(
            {
                "region": region,
                "power": {"capacityKw": 1000, "reserveKw": 50, "pue": 1.2},
                "mining": {"loadKw": 500, "curtailableKw": 200},
                "latencyMs": {"north-america": 20, "south-america": 140},
            },
            spec,
        ),
    }
    if status is not None:
        body["status"] = status
    return Site.model_validate(body)


def gpunode(
    name: str = "tx-1-n001", site_name: str = "tx-1", count: int = 8, **spec: Any
) -> GpuNode:
    status = spec.pop("status", None)
    body: dict[str, Any] = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "GpuNode",
        "metadata": {"name": name, "generation": 1, "resourceVersion": "20"},
        "spec": _merge(
            {
                "site": site_name,
                "nodeName": name,
                "gpu": {"model": "H100-80GB", "count": count, "memoryMiB": 81559, "maxPowerW": 700},
            },
            spec,
        ),
    }
    if status is not None:
        body["status"] = status
    return GpuNode.model_validate(body)
