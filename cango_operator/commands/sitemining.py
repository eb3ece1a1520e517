"""`cango-operator site-mining`: drive a site's miners to the mining target.

cango-operator site-mining --site tx-1 [--kubeconfig hub.kubeconfig] [--once]

Runs at the site, where the miners' addresses are reachable. Without ``--kubeconfig``
(or ``$KUBECONFIG``) it uses the pod's service account to read its Site.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
from pathlib import Path

from cango_operator.commands.clients import api_client, wait_for_hub_credentials
from cango_operator.errors import ConfigError
from cango_operator.mining.driver import DEFAULT_TIMEOUT_S
from cango_operator.sitemining.runner import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CREDENTIALS_DIR,
    DEFAULT_INTERVAL_S,
    SiteMiningConfig,
)

DESCRIPTION = """\
Every --interval seconds: read the Site (spec.mining.miners, .ramp, .shedOrder and the
operator's status.power.miningTargetKw), read every miner, and when the miners draw more
than the target shed power in batches (spec.mining.ramp), lowering profiles or putting
the least efficient miners to sleep (spec.mining.shedOrder); when they draw less by more
than 2 % of the target (at least 2 kW), wake the most efficient first, never above the
target. Each call to a miner is bounded by --timeout and retried with backoff; a miner
that does not answer counts at the draw it last reported. What it did goes to the Site's
status.mining, and as Events about the Site (MinersShed, MinersRaised,
MinerActionsFailed, MiningShortfall, MinersUnreachable, ...; the API server keeps those
about a Site in namespace default).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = DESCRIPTION
    parser.add_argument(
        "--site",
        default=os.environ.get("SITE_NAME"),
        help="the Site whose miners to drive (default: $SITE_NAME)",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="where the Site lives (the hub of a federation, with the site's credentials); "
        "in-cluster service account when not given",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        help=f"seconds between two passes (default {DEFAULT_INTERVAL_S:g})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds one call to a miner may take (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"miners talked to at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        default=DEFAULT_CREDENTIALS_DIR,
        help="where the Secrets the Site's miner groups name (credentialsSecretRef) are "
        "mounted, one directory each holding the key password (default: %(default)s)",
    )
    parser.add_argument(
        "--no-events",
        dest="events",
        action="store_false",
        help="log what it did, write no Events about the Site",
    )
    parser.add_argument(
        "--once", action="store_true", help="one pass, print what it did as JSON, and exit"
    )
    parser.add_argument(
        "--wait-for-kubeconfig",
        action="store_true",
        help="wait until --kubeconfig exists (at a site: the hub credentials the "
        "klusterlet writes once the hub accepts the site)",
    )


def run(args: argparse.Namespace) -> int:
    config = SiteMiningConfig(
        site=args.site or "",
        interval_s=args.interval,
        timeout_s=args.timeout,
        concurrency=args.concurrency,
        credentials_dir=args.credentials_dir,
        events=args.events,
        instance=socket.gethostname(),  # in a pod: the pod's name
    )
    return asyncio.run(_serve(args, config))


async def _serve(args: argparse.Namespace, config: SiteMiningConfig) -> int:
    from cango_operator.sitemining.kube import SiteClient
    from cango_operator.sitemining.runner import SiteMiningRunner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.wait_for_kubeconfig:
        if not args.kubeconfig:
            raise ConfigError("--wait-for-kubeconfig needs --kubeconfig")
        if not await wait_for_hub_credentials(Path(args.kubeconfig), stop):
            return 0
    client = api_client(args.kubeconfig)
    try:
        runner = SiteMiningRunner(config, SiteClient(client))
        if args.once:
            result = await runner.tick()
            print(json.dumps({"site": config.site, "mining": result.status}))
            return 1 if result.message and result.fleet is None else 0
        await runner.run(stop)
        return 0
    finally:
        client.close()
