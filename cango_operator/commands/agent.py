"""`cango-operator agent`: the node agent (one per GPU node, a DaemonSet).

cango-operator agent --node-name N                     real GPUs through NVML
cango-operator agent --simulate --sim-model H100-80GB  simulated GPUs (kwok nodes, demo)
cango-operator agent --once --print                    one reading as JSON, no cluster
cango-operator agent --once --print-status             the GpuNode status it would write

Without ``--kubeconfig`` (or ``$KUBECONFIG``) it uses the in-cluster service account.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import time
from datetime import UTC, datetime
from typing import Any

from cango_operator.agent.latency import parse_probes
from cango_operator.agent.runner import (
    DEFAULT_INTERVAL_S,
    DEFAULT_JITTER,
    DEFAULT_PROBE_INTERVAL_S,
    AgentConfig,
)
from cango_operator.agent.telemetry import TelemetrySource
from cango_operator.commands.clients import api_client as new_api_client
from cango_operator.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_METRICS_PORT = 9400


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.add_argument(
        "--node-name",
        default=os.environ.get("NODE_NAME", ""),
        help="the Kubernetes Node (and GpuNode) this agent reports for (default: $NODE_NAME)",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig file; in-cluster service account when not given",
    )
    fed = parser.add_argument_group("federation (a node in a site cluster of a federation)")
    fed.add_argument(
        "--hub-kubeconfig",
        default=os.environ.get("HUB_KUBECONFIG"),
        help="kubeconfig of the hub, where the GpuNode lives (the site's own credentials); "
        "Node and Pods are still read with --kubeconfig, and the agent reports the GPUs of "
        "the pods bound to its node as status.allocatedGpus (default: $HUB_KUBECONFIG)",
    )
    fed.add_argument(
        "--cluster",
        default=os.environ.get("CLUSTER_NAME") or None,
        help="the managed cluster this node is in; a GpuNode it registers carries it "
        "(default: $CLUSTER_NAME)",
    )
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between writes"
    )
    parser.add_argument(
        "--jitter",
        type=float,
        default=DEFAULT_JITTER,
        help="spread each interval by this fraction either way",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=DEFAULT_METRICS_PORT,
        help="port for /metrics and /healthz (0: any free port, -1: no server)",
    )
    parser.add_argument("--metrics-host", default="0.0.0.0", help="address to serve metrics on")
    parser.add_argument(
        "--probe",
        action="append",
        default=[],
        metavar="REGION=HOST:PORT",
        help="TCP latency probe target for a client region (repeatable)",
    )
    parser.add_argument(
        "--probe-interval", type=float, default=DEFAULT_PROBE_INTERVAL_S, help="seconds"
    )
    parser.add_argument(
        "--power-cap",
        action="store_true",
        help="apply GPU power limits the operator asks for (annotation "
        "compute.cango.io/gpu-power-limit-w); needs root on a real GPU node",
    )
    parser.add_argument(
        "--no-register",
        dest="register",
        action="store_false",
        help="never create the GpuNode (default: create it when the Node has a site label)",
    )
    parser.add_argument(
        "--overhead-w",
        type=float,
        default=None,
        help="spec.overheadW of a self-registered GpuNode (CPU, fans, NICs)",
    )
    sim = parser.add_argument_group("simulation (kwok nodes, demo, tests)")
    sim.add_argument("--simulate", action="store_true", help="simulated GPUs instead of NVML")
    sim.add_argument("--sim-model", default="H100-80GB", help="GPU model, as in spec.gpu.model")
    sim.add_argument("--sim-gpus", type=int, default=8, help="GPU count (1..16)")
    sim.add_argument("--sim-memory-mib", type=int, default=None, help="override the model's")
    sim.add_argument("--sim-max-power-w", type=float, default=None, help="override the model's")
    parser.add_argument(
        "--once", action="store_true", help="do one interval (or one reading) and exit"
    )
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print readings as JSON instead of writing to a cluster (no cluster needed)",
    )
    parser.add_argument(
        "--print-status",
        action="store_true",
        help="print the GpuNode status the agent would write, as JSON, instead of writing "
        "it (no cluster needed; powerW includes --overhead-w)",
    )


def _make_source(args: argparse.Namespace, gpus_in_use: Any = None) -> TelemetrySource:
    if args.simulate:
        from cango_operator.agent.simulated_source import SimulatedSource

        kwargs: dict[str, Any] = {}
        if gpus_in_use is not None:
            kwargs["gpus_in_use"] = gpus_in_use
        return SimulatedSource(
            args.sim_model,
            args.sim_gpus,
            memory_mib=args.sim_memory_mib,
            max_power_w=args.sim_max_power_w,
            seed=args.node_name or socket.gethostname(),
            **kwargs,
        )
    from cango_operator.agent.nvml_source import NvmlSource

    return NvmlSource()


def _print_readings(args: argparse.Namespace) -> int:
    from cango_operator.agent.health import judge_node
    from cango_operator.agent.status import desired_status
    from cango_operator.agent.telemetry import reading_as_dict

    source = _make_source(args)
    try:
        while True:
            reading = source.read()
            health = judge_node(reading.gpus)
            if args.print_status:
                out = desired_status(
                    reading, health, None, now=datetime.now(UTC), overhead_w=args.overhead_w or 0.0
                )
            else:
                out = reading_as_dict(reading)
                out["phase"] = health.phase.value
                out["health"] = health.message
            print(json.dumps(out), flush=True)
            if args.once:
                return 0
            time.sleep(args.interval)
    finally:
        source.close()


async def _serve(args: argparse.Namespace, config: AgentConfig) -> int:
    from cango_operator.agent.kube import KubeClient, PodGpuCounter
    from cango_operator.agent.metrics import AgentMetrics
    from cango_operator.agent.runner import Agent
    from cango_operator.agent.server import start_server

    api_client = new_api_client(args.kubeconfig)
    hub_client = new_api_client(args.hub_kubeconfig) if args.hub_kubeconfig else None
    kube = KubeClient(api_client, hub_client)
    source = _make_source(args, PodGpuCounter(kube, config.node_name))
    # On a federation's hub the agent reports its node's allocation (see agent.status).
    allocation = PodGpuCounter(kube, config.node_name, bound=True) if hub_client else None
    agent = Agent(config, source, kube, AgentMetrics(config.node_name), allocation=allocation)
    runner = None
    try:
        if args.metrics_port >= 0:
            runner, port = await start_server(
                agent.metrics.registry, agent.healthy, args.metrics_host, args.metrics_port
            )
            log.info("metrics on http://%s:%d/metrics", args.metrics_host, port)
        if args.once:
            await agent.probe_once()
            result = await agent.tick()
            if result.skipped:
                log.error("nothing written: %s", result.skipped)
                return 1
            print(json.dumps({"node": config.node_name, "sent": list(result.sent)}))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "agent for %s: %s, every %gs",
            config.node_name,
            type(source).__name__,
            config.interval_s,
        )
        await agent.run(stop)
        return 0
    finally:
        if runner is not None:
            await runner.cleanup()
        source.close()
        api_client.close()
        if hub_client is not None:
            hub_client.close()


def run(args: argparse.Namespace) -> int:
    if args.print_only or args.print_status:
        return _print_readings(args)
    if args.hub_kubeconfig and not args.cluster:
        raise ConfigError(
            "--cluster (or $CLUSTER_NAME) is required with --hub-kubeconfig: the hub takes "
            "GpuNodes from a site only when they carry its cluster's name"
        )
    config = AgentConfig(
        node_name=args.node_name,
        interval_s=args.interval,
        jitter=args.jitter,
        probes=parse_probes(args.probe),
        probe_interval_s=args.probe_interval,
        register=args.register,
        power_cap=args.power_cap,
        overhead_w=args.overhead_w,
        cluster=args.cluster,
    )
    return asyncio.run(_serve(args, config))
