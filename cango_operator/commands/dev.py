"""`cango-operator dev`: the local cluster and simulated GPU nodes, for development.

cango-operator dev cluster up [--name N]     start (or reuse) a local control plane
cango-operator dev cluster down [--name N]   stop it, leaving no process behind
cango-operator dev nodes -f FILE [-f FILE]   one kwok Node per GpuNode in the manifests
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from cango_operator.devcluster import cluster_down, cluster_up, ensure_bin_dir
from cango_operator.devcluster.cluster import DEFAULT_WORKDIR
from cango_operator.devcluster.nodes import apply_dev_nodes, load_shapes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dev_command", metavar="WHAT", required=True)
    cluster = sub.add_parser("cluster", help="start or stop the local control plane")
    cluster.add_argument("action", choices=["up", "down"])
    cluster.add_argument("--name", default="cango-dev", help="cluster name (default: %(default)s)")
    cluster.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where cluster state lives (default: %(default)s)",
    )
    nodes = sub.add_parser("nodes", help="create a kwok GPU Node for every GpuNode in manifests")
    nodes.add_argument(
        "-f",
        "--filename",
        dest="files",
        type=Path,
        action="append",
        required=True,
        help="manifest file (repeatable)",
    )
    nodes.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig to use (default: $KUBECONFIG)",
    )


def run(args: argparse.Namespace) -> int:
    if args.dev_command == "cluster":
        return _cluster(args)
    return _nodes(args)


def _cluster(args: argparse.Namespace) -> int:
    bin_dir = ensure_bin_dir()
    if args.action == "down":
        cluster_down(args.name, args.workdir, bin_dir)
        print(f"cluster {args.name} stopped")
        return 0
    cluster = cluster_up(args.name, args.workdir, bin_dir)
    # Two lines meant for eval; the last one alone works with `| tail -n 1`.
    if cluster.bin_dir is not None:
        print(f'export PATH={shlex.quote(str(cluster.bin_dir))}:"$PATH"')
    print(f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}")
    return 0


def _nodes(args: argparse.Namespace) -> int:
    from kubernetes import client, config

    shapes, _ = load_shapes(args.files)
    config.load_kube_config(config_file=args.kubeconfig)
    names = apply_dev_nodes(client.CoreV1Api(), shapes)
    for shape in shapes:
        print(
            f"node/{shape.name} site={shape.site} model={shape.model} nvidia.com/gpu={shape.count}"
        )
    print(f"{len(names)} simulated GPU node(s) ready to schedule on")
    return 0
