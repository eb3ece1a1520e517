"""`cango-operator run`: the operator, against a kubeconfig or from inside the cluster.

Several instances may run at once (``--peering``, the default): the one with the highest
priority acts, the others wait and take over within ``--peering-lifetime`` seconds of it
dying. Without ``--priority`` an instance's priority comes from its start time, older
first, so a running leader is never displaced by a newcomer.
"""

from __future__ import annotations

import argparse
import random
import time

from cango_operator.builders import GatewayRef
from cango_operator.errors import ConfigError
from cango_operator.operator.options import (
    DEFAULT_LIVENESS,
    DEFAULT_PEERING,
    DEFAULT_USAGE_INTERVAL,
    OperatorOptions,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: in-cluster, then $KUBECONFIG)"
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        dest="namespaces",
        action="append",
        default=[],
        metavar="NS",
        help="watch InferenceJobs in this namespace only (repeatable; glob patterns allowed)",
    )
    scope.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="watch InferenceJobs in every namespace (the default)",
    )
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument(
        "--peering",
        default=DEFAULT_PEERING,
        metavar="NAME",
        help="kopf peering object shared by this operator's instances (default: %(default)s)",
    )
    peering.add_argument(
        "--standalone", action="store_true", help="no peering: this is the only instance"
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority; the highest live instance acts (default: from start time, "
        "older first)",
    )
    parser.add_argument(
        "--peering-lifetime",
        type=int,
        default=15,
        metavar="SECONDS",
        help="a silent peer counts as dead after this long (default: %(default)s)",
    )
    parser.add_argument(
        "--liveness",
        default=DEFAULT_LIVENESS,
        metavar="URL",
        help="serve the liveness probe here (default: %(default)s; 'none' to disable)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=9090,
        help="serve /metrics and /readyz on this port (default: %(default)s; 0 disables)",
    )
    parser.add_argument(
        "--node-stale-seconds",
        type=float,
        default=60.0,
        help="a GpuNode without a heartbeat this long is Unknown (default: %(default)s)",
    )
    parser.add_argument(
        "--debounce",
        type=float,
        default=0.3,
        metavar="SECONDS",
        help="gather events this long before planning (default: %(default)s)",
    )
    parser.add_argument(
        "--usage-interval",
        type=float,
        default=DEFAULT_USAGE_INTERVAL,
        metavar="SECONDS",
        help="bring each running job's status.usage (GPU-hours, kWh) up to date at least "
        "this often (default: %(default)s)",
    )
    parser.add_argument(
        "--improvement-max-pairs",
        type=int,
        default=None,
        metavar="N",
        help="run the placement engine's improvement stage (an exact solve after the greedy "
        "placer) on problems of at most N (job, node) pairs; 0: the greedy plan alone "
        "(default: the engine's limit)",
    )
    parser.add_argument(
        "--kueue",
        action="store_true",
        help="hold jobs labelled kueue.x-k8s.io/queue-name to their tenant's Kueue quota: "
        "one Workload per replica, only the replicas Kueue admits are placed (needs Kueue)",
    )
    parser.add_argument(
        "--gateway",
        default=None,
        metavar="NAMESPACE/NAME",
        help="route jobs with spec.endpoint through this Gateway (Gateway API): an "
        "InferencePool and an HTTPRoute per job, the URL in status.endpoint (needs the "
        "Gateway API and Inference Extension CRDs; default: no routes)",
    )
    parser.add_argument(
        "--federation",
        action="store_true",
        help="run as the hub of a federation (Open Cluster Management): the work of a Site "
        "with spec.cluster goes to that managed cluster as ManifestWorks",
    )


def default_priority() -> int:
    """Older instances rank higher: minus the start time in microseconds, made unique."""
    return -(int(time.time() * 1000) * 1000 + random.randrange(1000))


def options_from(args: argparse.Namespace) -> OperatorOptions:
    if args.metrics_port < 0 or args.metrics_port > 65535:
        raise ConfigError(f"--metrics-port must be 0..65535, got {args.metrics_port}")
    if args.peering_lifetime < 2:
        raise ConfigError(
            f"--peering-lifetime must be at least 2 seconds, got {args.peering_lifetime}"
        )
    if args.node_stale_seconds <= 0:
        raise ConfigError(f"--node-stale-seconds must be positive, got {args.node_stale_seconds}")
    if not args.standalone and args.node_stale_seconds <= 2 * args.peering_lifetime:
        # A paused instance may believe it is active for up to one peering lifetime; its
        # frozen view must not make fresh heartbeats look stale in that time.
        raise ConfigError(
            f"--node-stale-seconds ({args.node_stale_seconds:g}) must exceed twice "
            f"--peering-lifetime ({args.peering_lifetime})"
        )
    if args.debounce < 0:
        raise ConfigError(f"--debounce must not be negative, got {args.debounce}")
    if args.usage_interval <= 0:
        raise ConfigError(f"--usage-interval must be positive, got {args.usage_interval:g}")
    if args.improvement_max_pairs is not None and args.improvement_max_pairs < 0:
        raise ConfigError(
            f"--improvement-max-pairs must not be negative, got {args.improvement_max_pairs}"
        )
    try:
        gateway = GatewayRef.parse(args.gateway) if args.gateway else None
    except ValueError as exc:
        raise ConfigError(f"--gateway: {exc}") from None
    liveness = None if args.liveness in ("", "none") else args.liveness
    if liveness is not None and not liveness.startswith("http://"):
        raise ConfigError(f"--liveness must be an http:// URL or 'none', got {liveness!r}")
    return OperatorOptions(
        kubeconfig=args.kubeconfig,
        namespaces=tuple(args.namespaces),
        peering=None if args.standalone else args.peering,
        priority=args.priority if args.priority is not None else default_priority(),
        peering_lifetime=args.peering_lifetime,
        liveness=liveness,
        metrics_port=args.metrics_port or None,
        node_stale_seconds=args.node_stale_seconds,
        debounce_seconds=args.debounce,
        usage_interval_seconds=args.usage_interval,
        federation=args.federation,
        improvement_max_pairs=args.improvement_max_pairs,
        kueue=args.kueue,
        gateway=gateway,
    )


def run(args: argparse.Namespace) -> int:
    from cango_operator.operator import run_operator

    run_operator(options_from(args))
    return 0
