"""`cango-operator site-guard`: keep a site inside its power budget while the hub is away.

cango-operator site-guard --cluster latam-1 --site latam-1-a --hub-kubeconfig /hub/kubeconfig

Runs at the site (the cango-site chart installs it). Without ``--kubeconfig`` (or
``$KUBECONFIG``) it uses the pod's service account for the site's own API server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from cango_operator.commands.clients import api_client, wait_for_hub_credentials
from cango_operator.errors import ConfigError

log = logging.getLogger(__name__)

DESCRIPTION = """\
The guard polls each site's own power feed (the Site's spec.power.feed, as last read
from the hub and kept in the ConfigMap cango-site-guard of --namespace) with the power
model the operator uses. While the hub answers, it only watches. When the hub stops
answering (--misses probes in a row, each bounded by --probe-timeout) and the site's
power budget falls below the GPU work it runs, it scales the operator's Deployments down
in the order the hub's planner would: preemptible first, lowest priority first. It never
scales anything up. When the hub answers again it writes what it stopped into the
annotation compute.cango.io/site-guard-report of the GpuNodes concerned, and the hub
takes over.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = DESCRIPTION
    parser.add_argument(
        "--site",
        action="append",
        required=True,
        metavar="NAME",
        help="a Site (on the hub) whose nodes are in this cluster; repeat for several",
    )
    parser.add_argument(
        "--cluster",
        default=os.environ.get("CLUSTER_NAME") or None,
        help="this cluster's name on the hub (default: $CLUSTER_NAME)",
    )
    parser.add_argument(
        "--hub-kubeconfig",
        default=os.environ.get("HUB_KUBECONFIG"),
        help="the site's own hub kubeconfig (the klusterlet's Secret hub-kubeconfig-secret, "
        "mounted) (default: $HUB_KUBECONFIG)",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig of this site's cluster; in-cluster service account when not given",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("POD_NAMESPACE", "open-cluster-management-agent"),
        help="the guard's namespace here: its ConfigMap, and the Secrets feeds name "
        "(default: $POD_NAMESPACE or open-cluster-management-agent)",
    )
    parser.add_argument(
        "--watch-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="only the jobs' Deployments in this namespace; repeat for several "
        "(default: all namespaces)",
    )
    parser.add_argument(
        "--probe-interval",
        type=float,
        default=2.0,
        help="seconds between probes of the hub (default: 2)",
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        default=2.0,
        help="seconds a probe waits for the hub's answer (default: 2)",
    )
    parser.add_argument(
        "--misses",
        type=int,
        default=3,
        help="unanswered probes in a row that make the hub unreachable (default: 3)",
    )


def run(args: argparse.Namespace) -> int:
    if not args.cluster:
        raise ConfigError("--cluster (or $CLUSTER_NAME) is required: the report names it")
    if not args.hub_kubeconfig:
        raise ConfigError("--hub-kubeconfig (or $HUB_KUBECONFIG) is required")
    if args.probe_interval <= 0 or args.probe_timeout <= 0 or args.misses < 1:
        raise ConfigError("--probe-interval and --probe-timeout must be > 0, --misses >= 1")
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from cango_operator.siteguard import GuardConfig, HubApi, SiteApi, SiteGuard

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not await wait_for_hub_credentials(Path(args.hub_kubeconfig), stop):
        return 0
    site_client = api_client(args.kubeconfig)
    # No retries on the hub: each probe is one try, bounded by --probe-timeout.
    hub_client = api_client(args.hub_kubeconfig, retries=0)
    try:
        guard = SiteGuard(
            GuardConfig(
                cluster=args.cluster,
                sites=tuple(args.site),
                probe_interval_s=args.probe_interval,
                misses=args.misses,
            ),
            SiteApi(site_client, args.namespace, args.watch_namespace),
            HubApi(hub_client, args.probe_timeout),
        )
        await guard.run(stop)
        return 0
    finally:
        site_client.close()
        hub_client.close()
