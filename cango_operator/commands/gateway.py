"""`cango-operator gateway`: serve a Gateway's routes to the jobs' replicas through Envoy.

cango-operator gateway --gateway gateway-system/inference --listen-address 0.0.0.0
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType

from cango_operator.commands.clients import api_client
from cango_operator.errors import ConfigError

log = logging.getLogger(__name__)

DESCRIPTION = """\
Runs Envoy and keeps its configuration to the Gateway named by --gateway: every
HTTPRoute on it (written by the operator for each InferenceJob with spec.endpoint) is
served at the port of the Gateway's HTTP listener, to the ready pods its InferencePool
selects. A request prefers the replicas in the region its x-cango-client-region header
names (else the job's clientRegion) and spills to the others as those fail; API keys
(401) and rate limits (429 with Retry-After) are enforced here. The Gateway's status gets
--advertise as its address, so the operator can tell each tenant its URL. Envoy's admin
interface (stats in Prometheus format at /stats/prometheus) listens on --admin; to let
Prometheus scrape those stats from elsewhere without opening the admin interface, give
--stats-address (it serves GET /stats/prometheus and nothing else).

A replica with --spill-at requests or more in flight from this gateway takes no new ones
while others can (first its region's, then the next region's), until it is down to half.

With --endpoint-picker, a request first asks its pool's endpoint picker (the Inference
Extension's protocol: Envoy's ext_proc, with the preferred region's replicas as the
subset hint) which replica serves it; when the picker fails or is away, Envoy picks.
"""

#: Requests in flight to one replica from which it is busy, by default.
DEFAULT_SPILL_AT = 32
#: Where a pool's endpoint picker answers by default: its Service in the cluster's DNS.
DEFAULT_PICKERS = "{name}.{namespace}.svc:{port}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = DESCRIPTION
    parser.add_argument(
        "--gateway",
        required=True,
        metavar="NAMESPACE/NAME",
        help="the Gateway to serve (the operator's --gateway)",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig; in-cluster service account when not given (default: $KUBECONFIG)",
    )
    parser.add_argument(
        "--pods-kubeconfig",
        action="append",
        default=[],
        metavar="PATH",
        help="a cluster whose pods are the replicas; repeat for several (in a federation: "
        "the sites' clusters, --kubeconfig being the hub's) (default: --kubeconfig's)",
    )
    parser.add_argument(
        "--region",
        default=None,
        help="the region this gateway serves: requests that name none "
        "(x-cango-client-region) go to its replicas first, the others' as the fallback "
        "(default: each job's clientRegion)",
    )
    parser.add_argument(
        "--listen-address",
        default="127.0.0.1",
        help="address Envoy listens on, at the Gateway listener's port (default: 127.0.0.1)",
    )
    parser.add_argument(
        "--advertise",
        default=None,
        help="the address written into the Gateway's status.addresses, which tenants "
        "use (default: --listen-address)",
    )
    parser.add_argument(
        "--admin",
        default="127.0.0.1:9901",
        metavar="HOST:PORT",
        help="Envoy's admin interface and stats (default: 127.0.0.1:9901)",
    )
    parser.add_argument(
        "--stats-address",
        default=None,
        metavar="HOST:PORT",
        help="also serve Envoy's stats (GET /stats/prometheus only) here, e.g. 0.0.0.0:9902 "
        "in a pod (default: none; the admin interface has them)",
    )
    parser.add_argument(
        "--spill-at",
        type=int,
        default=DEFAULT_SPILL_AT,
        metavar="N",
        help="requests in flight to one replica from which new ones go to others (its "
        f"region's, then the next region's) until it is down to N/2; 0: never (default: "
        f"{DEFAULT_SPILL_AT})",
    )
    parser.add_argument(
        "--endpoint-picker",
        nargs="?",
        const=DEFAULT_PICKERS,
        default=None,
        metavar="ADDRESS",
        help="ask each InferencePool's endpoint picker (its endpointPickerRef) which "
        "replica serves a request; ADDRESS is HOST:PORT with {name}, {namespace} and "
        "{port} of the ref filled in (without ADDRESS: "
        f"{DEFAULT_PICKERS}, the Service in the cluster's DNS) (default: no picker; Envoy picks)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="directory for Envoy's configuration files (default: a new temporary one)",
    )
    parser.add_argument(
        "--envoy", default="envoy", help="the Envoy binary, a path or a name on PATH"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between passes over the API objects (default: 1)",
    )


def _host_port(flag: str, text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{flag}: expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _pickers(template: str | None) -> str | None:
    from cango_operator.gateway.translate import picker_address

    if template is None:
        return None
    try:
        picker_address(template, "pool-epp", "tenant", 9002)
    except (ValueError, KeyError, IndexError) as exc:
        raise ConfigError(
            f"--endpoint-picker {template!r}: {exc} (use {{name}}, {{namespace}}, {{port}})"
        ) from exc
    return template


def run(args: argparse.Namespace) -> int:
    from cango_operator.builders import GatewayRef
    from cango_operator.gateway.controller import GatewayController, GatewaySettings
    from cango_operator.gateway.process import EnvoyProcess, find_envoy

    try:
        gateway = GatewayRef.parse(args.gateway)
    except ValueError as exc:
        raise ConfigError(f"--gateway: {exc}") from exc
    if args.interval <= 0:
        raise ConfigError("--interval must be > 0")
    if args.spill_at < 0:
        raise ConfigError(f"--spill-at must be >= 0, got {args.spill_at}")
    admin = _host_port("--admin", args.admin)
    stats = _host_port("--stats-address", args.stats_address) if args.stats_address else None
    if stats is not None and stats[1] == admin[1] and stats[0] == admin[0]:
        raise ConfigError("--stats-address: must differ from --admin")
    binary = find_envoy(args.envoy)
    config_dir = args.config_dir or Path(tempfile.mkdtemp(prefix="cango-gateway-"))
    config_dir = config_dir.resolve()
    settings = GatewaySettings(
        gateway,
        args.listen_address,
        args.advertise or args.listen_address,
        config_dir,
        args.region,
        _pickers(args.endpoint_picker),
        admin,
        args.spill_at,
    )
    api = api_client(args.kubeconfig)
    pod_apis = [api_client(path) for path in args.pods_kubeconfig]
    controller = GatewayController(api, settings, pod_apis)
    # The first pass before Envoy starts, so it starts with the routes in place; with the
    # API away, Envoy starts serving nothing and the passes fill it in.
    try:
        controller.sync()
    except Exception as exc:  # the API may be away: start anyway
        log.warning("first gateway pass failed, starting with no routes: %s", exc)
        controller.start_empty()
    proxy = EnvoyProcess(binary, config_dir, *admin, stats=stats)
    proxy.start()
    log.info("gateway %s: Envoy started (config %s, admin %s)", gateway, config_dir, args.admin)
    stop = threading.Event()

    def _stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stop.wait(args.interval):
            code = proxy.exit_code()
            if code is not None:
                log.error("Envoy exited with %s:\n%s", code, proxy.log_tail())
                return 1
            try:
                controller.sync()
            except Exception as exc:  # the API may be away: keep serving
                log.warning("gateway pass failed, Envoy keeps its last configuration: %s", exc)
        return 0
    finally:
        proxy.stop()
        for client in (api, *pod_apis):
            client.close()
