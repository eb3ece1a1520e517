"""`cango-operator demo`: play a simulated day of a GPU fleet at mining sites, with a report.

Starts local clusters, the operator and the simulated feeds and node agents, plays the
scenario (``examples/demo/scenario.yaml`` by default), shows a live view, and prints a
report measured on the clusters, next to a baseline on a mirror of the same fleet.

Federated (the default): a hub and one site cluster per region joined through Open
Cluster Management; the baseline is OCM's own Placement (default prioritizers) choosing a
cluster per service, then kube-scheduler at that cluster. ``--single-cluster``: one
cluster for everything; the baseline is kube-scheduler alone.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from cango_operator.demo.runner import DemoOptions, run_demo
from cango_operator.demo.scenario import DEFAULT_SCENARIO
from cango_operator.devcluster.cluster import DEFAULT_WORKDIR


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        metavar="FILE",
        help="scenario YAML (default: %(default)s)",
    )
    parser.add_argument(
        "--speed",
        type=_positive,
        default=None,
        metavar="N",
        help="simulated seconds per real second (default: the scenario's day.defaultSpeed)",
    )
    parser.add_argument(
        "--single-cluster",
        dest="federated",
        action="store_false",
        help="run everything in one cluster instead of a hub and a site cluster per region "
        "(needs about half the memory; no Open Cluster Management build)",
    )
    parser.add_argument(
        "--keep-cluster",
        action="store_true",
        help="leave the cluster(s) running at the end (prints their KUBECONFIGs)",
    )
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the baseline of plain Deployments (half the nodes and pods)",
    )
    parser.add_argument(
        "--report-json", type=Path, metavar="FILE", help="also write the report as JSON here"
    )
    parser.add_argument(
        "--name",
        default=None,
        help="name of the demo's own local cluster, or federation (default: cango-demo-<pid>); "
        "it must not exist yet",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where cluster state and the operator's log live (default: %(default)s)",
    )
    parser.add_argument(
        "--operator-arg",
        dest="operator_args",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for the operator (cango-operator run), e.g. "
        "--operator-arg=--improvement-max-pairs=0 for the greedy plan alone; repeatable",
    )
    parser.add_argument(
        "--sample-interval",
        type=_positive,
        default=1.5,
        metavar="SECONDS",
        help="real seconds between samples of the cluster (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    options = DemoOptions(
        scenario=args.scenario,
        speed=args.speed,
        federated=args.federated,
        keep_cluster=args.keep_cluster,
        baseline=args.baseline,
        report_json=args.report_json,
        workdir=args.workdir,
        sample_interval_s=args.sample_interval,
        operator_args=tuple(args.operator_args),
    )
    if args.name:
        options = replace(options, cluster_name=args.name)
    report = run_demo(options)
    cango = report.worlds.get("cango")
    if cango is not None and cango.overruns.site_samples:
        print(
            f"cango-operator demo: the operator's placements overran a site's power budget "
            f"in {cango.overruns.site_samples} samples (must be 0)"
        )
        return 1
    return 0
