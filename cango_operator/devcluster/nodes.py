"""Simulated GPU nodes: one kwok Node per GpuNode, with ``nvidia.com/gpu`` capacity.

Accepts ordinary manifests: every ``GpuNode`` (compute.cango.io) document gives one Node
named after ``spec.nodeName``, validated by the API models. A bare development list works too::

    nodes:
    - {name: tx-1-n001, site: tx-1, model: H100-80GB, count: 8}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cango_operator.api import GpuNode, parse_resource
from cango_operator.errors import ManifestError

SITE_LABEL = "compute.cango.io/site"
GPU_MODEL_LABEL = "compute.cango.io/gpu-model"
GPU_RESOURCE = "nvidia.com/gpu"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
GPUNODE_API_GROUP = "compute.cango.io"


@dataclass(frozen=True)
class GpuNodeShape:
    """What a simulated node needs: its name, site, GPU model and GPU count."""

    name: str
    site: str
    model: str
    count: int
    cpu: str = "64"
    memory: str = "512Gi"
    pods: str = "110"
    pod_cidr: str | None = None
    """Where kwok takes the node's pod IPs from (``spec.podCIDR``); None: kwok's default.
    A range in 127.0.0.0/8 lets a test serve each pod's IP on loopback."""


def node_shapes(
    names: Sequence[str],
    site: str,
    model: str,
    gpus: int,
    pod_cidrs: Sequence[str] = (),
) -> list[GpuNodeShape]:
    """One shape per name at ``site``; ``pod_cidrs``: one per node (none: kwok's range)."""
    cidrs: list[str | None] = list(pod_cidrs) or [None] * len(names)
    return [
        GpuNodeShape(n, site, model, gpus, pod_cidr=c) for n, c in zip(names, cidrs, strict=True)
    ]


def build_kwok_node(shape: GpuNodeShape) -> dict[str, Any]:
    """The Node object kwok will keep Ready, with GPUs as an extended resource."""
    resources = {
        "cpu": shape.cpu,
        "memory": shape.memory,
        "pods": shape.pods,
        GPU_RESOURCE: str(shape.count),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": shape.name,
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": shape.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                SITE_LABEL: shape.site,
                GPU_MODEL_LABEL: shape.model,
            },
            "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": shape.pod_cidr, "podCIDRs": [shape.pod_cidr]} if shape.pod_cidr else {},
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
                "containerRuntimeVersion": "kwok",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
                "kernelVersion": "",
                "osImage": "",
            },
        },
    }


def _shape_from_gpunode(doc: Mapping[str, Any], source: str) -> GpuNodeShape:
    node = parse_resource(doc, source)
    if not isinstance(node, GpuNode):
        raise ManifestError(f"{source}: expected a GpuNode, got {node.kind}")
    gpu = node.spec.gpu
    return GpuNodeShape(
        name=node.spec.node_name, site=node.spec.site, model=gpu.model, count=gpu.count
    )


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16:
        raise ManifestError(f"{where}: must be an integer 1..16, got {value!r}")
    return value


def _shapes_from_list(doc: Mapping[str, Any], source: str) -> list[GpuNodeShape]:
    shapes = []
    for i, item in enumerate(doc.get("nodes") or []):
        where = f"{source}: nodes[{i}]"
        if not isinstance(item, Mapping):
            raise ManifestError(f"{where}: expected a mapping")
        for key in ("name", "site", "count"):
            if key not in item:
                raise ManifestError(f"{where}: missing {key}")
        shapes.append(
            GpuNodeShape(
                name=str(item["name"]),
                site=str(item["site"]),
                model=str(item.get("model", "unknown")),
                count=_count(item["count"], f"{where}.count"),
            )
        )
    return shapes


def load_shapes(paths: Iterable[Path]) -> tuple[list[GpuNodeShape], list[dict[str, Any]]]:
    """Read manifests; return the node shapes and the compute.cango.io documents seen."""
    shapes: list[GpuNodeShape] = []
    cango_docs: list[dict[str, Any]] = []
    for path in paths:
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except (OSError, yaml.YAMLError) as exc:
            raise ManifestError(f"{path}: {exc}") from exc
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if str(doc.get("apiVersion", "")).startswith(GPUNODE_API_GROUP + "/"):
                cango_docs.append(doc)
                if doc.get("kind") == "GpuNode":
                    shapes.append(_shape_from_gpunode(doc, str(path)))
            elif "nodes" in doc:
                shapes.extend(_shapes_from_list(doc, str(path)))
    names = [s.name for s in shapes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ManifestError(f"node names given more than once: {', '.join(dupes)}")
    return shapes, cango_docs


def apply_dev_nodes(core_v1: Any, shapes: Iterable[GpuNodeShape]) -> list[str]:
    """Create (or update) a kwok Node for each shape; returns the node names.

    ``core_v1`` is a ``kubernetes.client.CoreV1Api``. Capacity lives in the status, which
    the API server drops on create, so it is written again through the status subresource.
    """
    from kubernetes.client.exceptions import ApiException

    names = []
    for shape in shapes:
        body = build_kwok_node(shape)
        try:
            core_v1.create_node(body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            core_v1.patch_node(shape.name, {"metadata": body["metadata"]})
        core_v1.patch_node_status(shape.name, {"status": body["status"]})
        names.append(shape.name)
    return names
