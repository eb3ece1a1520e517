"""`cango-operator dev`: the local cluster and simulated GPU nodes, for development.

cango-operator dev cluster up [--name N]     start (or reuse) a local control plane
cango-operator dev cluster down [--name N]   stop it, leaving no process behind
cango-operator dev nodes -f FILE [-f FILE]   one kwok Node per GpuNode in the manifests; with
                                             the CRDs installed, also apply (server-side) the
                                             Sites and GpuNodes themselves
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from cango_operator.api import GpuNode, Site, load_manifests
from cango_operator.devcluster import cluster_down, cluster_up, ensure_bin_dir
from cango_operator.devcluster.apiobjects import (
    FIELD_MANAGER,
    apply_objects,
    missing_crds,
    not_installed_message,
)
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

    # Everything is read and validated before anything is written.
    shapes, _ = load_shapes(args.files)
    manifests = load_manifests(args.files)
    objects: list[Site | GpuNode] = [*manifests.sites, *manifests.gpunodes]
    config.load_kube_config(config_file=args.kubeconfig)
    api_client = client.ApiClient()
    names = apply_dev_nodes(client.CoreV1Api(api_client), shapes)
    for shape in shapes:
        print(
            f"node/{shape.name} site={shape.site} model={shape.model} nvidia.com/gpu={shape.count}"
        )
    print(f"{len(names)} simulated GPU node(s) ready to schedule on")
    if not objects:
        return 0
    missing = missing_crds(api_client, {type(o) for o in objects})
    if missing:
        message = not_installed_message(missing, len(manifests.sites), len(manifests.gpunodes))
        print(message, file=sys.stderr)
        return 0
    for applied in apply_objects(api_client, objects):
        print(f"{applied} applied (server-side, field manager {FIELD_MANAGER})")
    return 0
