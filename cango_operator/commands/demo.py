"""`cango-operator demo`: the main job on a local cluster.

Until the full scenario lands, it starts the local control plane, creates the simulated
GPU nodes of ``examples/dev-nodes.yaml`` (or ``--nodes FILE``) and prints them as the
real API server reports them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cango_operator.devcluster import apply_dev_nodes, cluster_up, ensure_bin_dir
from cango_operator.devcluster.nodes import GPU_MODEL_LABEL, GPU_RESOURCE, SITE_LABEL, load_shapes
from cango_operator.devcluster.tools import REPO_ROOT

DEFAULT_NODES = REPO_ROOT / "examples" / "dev-nodes.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nodes",
        type=Path,
        default=DEFAULT_NODES,
        help="GPU nodes to simulate (default: %(default)s)",
    )
    parser.add_argument(
        "--name", default="cango-dev", help="local cluster name (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    from kubernetes import client, config

    print(
        "starting the local control plane (the first run builds it from Go modules) ...", flush=True
    )
    cluster = cluster_up(args.name, bin_dir=ensure_bin_dir())
    shapes, _ = load_shapes([args.nodes])
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    apply_dev_nodes(client.CoreV1Api(api), shapes)
    names = {s.name for s in shapes}
    print(f"\n{'NODE':<22} {'SITE':<16} {'GPU MODEL':<12} {'GPUS':>4}")
    total = 0
    listed = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    for node in sorted(listed, key=lambda n: str(n["metadata"]["name"])):
        name = node["metadata"]["name"]
        if name not in names:
            continue
        labels = node["metadata"].get("labels", {})
        gpus = int(node["status"].get("allocatable", {}).get(GPU_RESOURCE, "0"))
        total += gpus
        print(
            f"{name:<22} {labels.get(SITE_LABEL, '-'):<16} "
            f"{labels.get(GPU_MODEL_LABEL, '-'):<12} {gpus:>4}"
        )
    print(f"\n{len(names)} simulated GPU nodes, {total} GPUs allocatable on a real API server.")
    print(
        f"export KUBECONFIG={cluster.kubeconfig}   # to look around; `make cluster-down` stops it"
    )
    api.close()
    return 0
