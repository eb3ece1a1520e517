"""`cango-operator dev`: the local cluster and simulated GPU nodes, for development.

cango-operator dev cluster up [--name N]     start (or reuse) a local control plane
cango-operator dev cluster down [--name N]   stop it, leaving no process behind
cango-operator dev federation up [--sites N]  a hub and N site clusters joined through Open
                                             Cluster Management (built on first use)
                  [--wan-links]              (each site through a WAN link of its own)
cango-operator dev federation down           stop them, leaving no process behind
cango-operator dev federation link cut|heal|delay|status SITE [--ms N] [--reset]
                                             cut, heal or delay a site's WAN link
cango-operator dev real-node [--site S]      a local cluster with one real kubelet node beside
                                             kwok, until interrupted (root; docs/real-node.md)
cango-operator dev nodes -f FILE [-f FILE]   one kwok Node per GpuNode in the manifests; with
                                             the CRDs installed, also apply (server-side) the
                                             Sites and GpuNodes themselves
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
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
    _name_and_workdir(cluster, "cango-dev", "cluster")
    fed = sub.add_parser(
        "federation",
        help="start or stop a hub and site clusters joined through Open Cluster Management",
        description="A hub cluster (no nodes) running OCM's registration controller, and N "
        "site clusters (kwok nodes, kube-scheduler) each with OCM's klusterlet agent, which "
        "joins with a bootstrap kubeconfig and is accepted by the hub. `up` prints the "
        "hub's KUBECONFIG and each site's; `down` stops every process.",
    )
    _federation_arguments(fed)
    real = sub.add_parser(
        "real-node",
        help="a local cluster with one real kubelet node, until interrupted (root)",
        description="Starts a local cluster set up for a real node, then a real node "
        "(kubelet, containerd, runc; the images of `make image` loaded) on a pod network "
        "that cannot route out of this machine; prints the exports and runs until "
        "interrupted, then removes everything (docs/real-node.md).",
    )
    _name_and_workdir(real, "cango-realnode", "cluster")
    real.add_argument("--site", default="dev-site", help="the node's site label (%(default)s)")
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


def _name_and_workdir(parser: argparse.ArgumentParser, name: str, what: str) -> None:
    parser.add_argument("--name", default=name, help=f"{what} name (default: %(default)s)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where cluster state lives (default: %(default)s)",
    )


def _federation_arguments(fed: argparse.ArgumentParser) -> None:
    which = argparse.ArgumentParser(add_help=False)
    _name_and_workdir(which, "cango-fed", "federation")
    actions = fed.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", parents=[which], help="start the hub and the site clusters")
    up.add_argument(
        "--sites",
        type=_site_count,
        default=3,
        metavar="N",
        help="number of site clusters, named site-1 .. site-N (1..8, default: %(default)s)",
    )
    up.add_argument(
        "--wan-links",
        action="store_true",
        help="each site reaches the hub through a WAN link of its own (a loopback TCP proxy "
        "process) that `link` cuts, heals and delays",
    )
    actions.add_parser("down", parents=[which], help="stop every process of the federation")
    link = actions.add_parser(
        "link",
        parents=[which],
        help="cut, heal or delay a site's WAN link (a federation up with --wan-links)",
        description="cut: a dead WAN (open connections stall, new ones go unanswered; "
        "--reset closes them instead); heal: forward again; delay: --ms N of latency added "
        "to each direction; status: state, delay, open connections, bytes.",
    )
    link.add_argument("what", choices=["cut", "heal", "delay", "status"])
    link.add_argument("site", help="site cluster name, e.g. site-1")
    link.add_argument("--ms", type=int, default=None, help="delay: milliseconds per direction")
    link.add_argument("--reset", action="store_true", help="cut: close every connection")


MAX_SITES = 8


def _site_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sites must be a number, got {text!r}") from None
    if not 1 <= count <= MAX_SITES:
        raise argparse.ArgumentTypeError(f"--sites must be 1..{MAX_SITES}, got {count}")
    return count


def run(args: argparse.Namespace) -> int:
    if args.dev_command == "cluster":
        return _cluster(args)
    if args.dev_command == "federation":
        return _federation(args)
    if args.dev_command == "real-node":
        return _real_node(args)
    return _nodes(args)


def _federation(args: argparse.Namespace) -> int:
    from cango_operator.devcluster.federation import federation_down, federation_up

    if args.action == "link":
        return _link(args)
    bin_dir = ensure_bin_dir()
    if args.action == "down":
        federation_down(args.name, args.workdir, bin_dir)
        print(f"federation {args.name} stopped")
        return 0
    sites = [f"site-{i}" for i in range(1, args.sites + 1)]
    fed = federation_up(args.name, sites, args.workdir, bin_dir, wan_links=args.wan_links)
    for site in fed.sites:
        print(f"# site cluster {site.name}: KUBECONFIG={shlex.quote(str(site.cluster.kubeconfig))}")
        print(f"#   its own credentials on the hub: {shlex.quote(str(site.hub_kubeconfig))}")
        if site.link is not None:
            print(f"#   its WAN link: `dev federation link cut|heal|delay {site.name}`")
    if bin_dir is not None:
        print(f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"')
    print(f"export KUBECONFIG={shlex.quote(str(fed.hub.kubeconfig))}")
    return 0


def _link(args: argparse.Namespace) -> int:
    from cango_operator.devcluster.federation import site_link

    if (args.what == "delay") != (args.ms is not None):
        print("--ms goes with delay, and delay needs it", file=sys.stderr)
        return 2
    if args.reset and args.what != "cut":
        print("--reset goes with cut only", file=sys.stderr)
        return 2
    link = site_link(args.workdir, args.name, args.site)
    if args.what == "cut":
        status = link.cut(reset=args.reset)
    elif args.what == "heal":
        status = link.heal()
    elif args.what == "delay":
        status = link.delay(args.ms)
    else:
        status = link.status()
    print(
        f"{args.site}: {status.state}, delay {status.delay_ms} ms each way, "
        f"{status.open_connections} open connection(s), {status.bytes_up} bytes up, "
        f"{status.bytes_down} down"
    )
    return 0


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


def _real_node(args: argparse.Namespace) -> int:
    from cango_operator.devcluster.nodes import SITE_LABEL
    from cango_operator.devcluster.realnode import PodNetwork, start_real_node, stop_real_node
    from cango_operator.devcluster.realnode.controlplane import cluster_args
    from cango_operator.devcluster.tools import ensure_image_dir, ensure_kubelet_dir

    if os.geteuid() != 0:
        print("dev real-node needs root (cgroups, a bridge, routes, mounts)", file=sys.stderr)
        return 2
    net = PodNetwork()
    bin_dir = ensure_bin_dir()
    kubelet_dir, image_dir = ensure_kubelet_dir(), ensure_image_dir()
    extra = cluster_args(args.workdir, args.name, net)
    cluster = cluster_up(args.name, args.workdir, bin_dir, extra_args=extra)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        archives = [image_dir / "cango-operator.tar", image_dir / "model-server.tar"]
        node = start_real_node(cluster, kubelet_dir, archives, {SITE_LABEL: args.site}, net=net)
        try:
            images = (image_dir / "images.env").read_text().strip()
            print("# images loaded: " + images.replace("\n", ", "))
            print(f"# real node {node.name} Ready; Ctrl-C (or SIGTERM) removes it and the cluster")
            if cluster.bin_dir is not None:
                print(f'export PATH={shlex.quote(str(cluster.bin_dir))}:"$PATH"')
            print(f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}", flush=True)
            while not stop.wait(1):
                pass
        finally:
            stop_real_node(cluster, node)
    finally:
        cluster_down(args.name, args.workdir, bin_dir)
    print(f"real node and cluster {args.name} stopped")
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
