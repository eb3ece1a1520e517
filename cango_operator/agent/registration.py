"""Self-registration: the GpuNode a plug-and-play node gets from what NVML reports.

A node joins the network by carrying the ``compute.cango.io/site`` label. If no GpuNode
exists for it, the agent creates one named after the Kubernetes Node, with the GPU
model, count, memory and power limit read from the GPUs, and the Node as its owner
(deleting the Node deletes the GpuNode). A GpuNode a site operator wrote is never
replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cango_operator.agent.telemetry import NodeReading
from cango_operator.api import GpuNode, GpuNodeSpec, GpuSpec, ObjectMeta
from cango_operator.builders.labels import CLUSTER_LABEL

SITE_LABEL = "compute.cango.io/site"
GPU_MODEL_LABEL = "compute.cango.io/gpu-model"
REGISTERED_BY_LABEL = "compute.cango.io/registered-by"
AGENT_NAME = "cango-agent"

#: Marketed memory sizes (GB) of data-centre GPUs; NVML reports a little less (ECC, firmware
#: reservations), so the nearest of these names the model's memory.
MARKETED_MEMORY_GB = (8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 120, 141, 180, 192, 288)
_VENDOR_WORDS = {"nvidia", "tesla", "geforce", "quadro"}
_SERIES_WORDS = {"rtx", "gtx"}  # glued to the word after: "RTX 4090" -> RTX4090
_SIZE_IN_NAME = re.compile(r"^(\d+)GB$", re.IGNORECASE)


def marketed_memory_gb(memory_mib: int) -> int:
    """The marketed size nearest to what NVML reports (81559 MiB → 80, 143771 MiB → 141)."""
    gib = memory_mib / 1024
    return min(MARKETED_MEMORY_GB, key=lambda gb: (abs(gb - gib), gb))


def normalise_model(product_name: str, memory_mib: int) -> str:
    """``NVIDIA H100 80GB HBM3`` → ``H100-80GB``: the model word, then the memory size.

    The size is the one in the name when there is one, else the marketed size nearest to
    the memory NVML reports (``NVIDIA L40S`` with 46068 MiB → ``L40S-48GB``).
    """
    words = [w for w in re.split(r"[\s\-_]+", product_name.strip()) if w]
    size = next((m.group(1) for w in words if (m := _SIZE_IN_NAME.match(w))), None)
    rest = [w for w in words if w.lower() not in _VENDOR_WORDS and not _SIZE_IN_NAME.match(w)]
    if len(rest) > 1 and rest[0].lower() in _SERIES_WORDS:
        rest = [rest[0] + rest[1], *rest[2:]]
    model = re.sub(r"[^A-Za-z0-9.]", "", rest[0]) if rest else ""
    gb = int(size) if size is not None else marketed_memory_gb(memory_mib)
    return f"{model.upper() or 'GPU'}-{gb}GB"


def site_of(node: Mapping[str, Any]) -> str | None:
    """The site a Kubernetes Node (as a dict) is labelled with, if any."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    site = labels.get(SITE_LABEL)
    return str(site) if site else None


def build_gpunode(
    node: Mapping[str, Any],
    reading: NodeReading,
    overhead_w: float | None = None,
    cluster: str | None = None,
) -> dict[str, Any]:
    """The GpuNode for ``node`` (a Kubernetes Node as a dict) from one reading.

    ``cluster``: the node is in that managed cluster and the GpuNode goes to the hub: it
    is labelled with the cluster (the hub lets a site write only its own) and not owned
    by the Node, which the hub does not have (its garbage collector would delete it).

    Lost GPUs count but do not describe the model (they report no memory or power).
    Raises ValueError when the node has no site label or no working GPU (neither can
    describe a usable GpuNode), and pydantic's ValidationError (a ValueError too) when
    what NVML reports does not fit the GpuNode model (say, more than 16 GPUs).
    """
    meta = node.get("metadata") or {}
    name = str(meta["name"])
    site = site_of(node)
    if site is None:
        raise ValueError(f"node {name} has no {SITE_LABEL} label")
    working = [g for g in reading.gpus if not g.lost]
    if not working:
        raise ValueError(f"node {name}: no working GPU to describe it from")
    first = working[0]
    model = normalise_model(first.name, first.memory_total_mib)
    max_power = max(g.default_power_limit_w or g.power_limit_w for g in working)
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {SITE_LABEL: site, GPU_MODEL_LABEL: model, REGISTERED_BY_LABEL: AGENT_NAME},
    }
    if cluster is not None:
        metadata["labels"][CLUSTER_LABEL] = cluster
    elif meta.get("uid"):
        metadata["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": name, "uid": str(meta["uid"])}
        ]
    spec = GpuNodeSpec(
        site=site,
        node_name=name,
        gpu=GpuSpec(
            model=model,
            count=len(reading.gpus),
            memory_mib=min(g.memory_total_mib for g in working),
            max_power_w=round(max_power),
        ),
        overhead_w=round(overhead_w or 0),
    )
    gpunode = GpuNode(metadata=ObjectMeta.model_validate(metadata), spec=spec)
    return gpunode.model_dump(by_alias=True, exclude_none=True, mode="json")
