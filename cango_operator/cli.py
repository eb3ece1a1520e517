"""The ``cango-operator`` command line: one subcommand per module in ``commands/``.

Each module in ``cango_operator.commands`` provides ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported lazily, so
``--help`` stays fast and a subcommand's heavy dependencies load only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from cango_operator import __version__
from cango_operator.errors import CangoError

#: subcommand -> (module, one-line help). The help is here so ``--help`` imports nothing.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("cango_operator.commands.run", "run the operator (kubeconfig or in-cluster)"),
    "agent": ("cango_operator.commands.agent", "run the node agent (NVML or simulated)"),
    "site-guard": (
        "cango_operator.commands.siteguard",
        "at a site: keep it inside its power budget while the hub is unreachable",
    ),
    "site-mining": (
        "cango_operator.commands.sitemining",
        "at a site: drive its miners to the mining target, in ramps",
    ),
    "gateway": (
        "cango_operator.commands.gateway",
        "serve the jobs' endpoints through Envoy (a Gateway's routes, keys, limits)",
    ),
    "plan": (
        "cango_operator.commands.plan",
        "offline what-if: plan jobs onto a fleet from manifests",
    ),
    "demo": ("cango_operator.commands.demo", "play a simulated fleet scenario on a local cluster"),
    "crds": ("cango_operator.commands.crds", "generate the CRD manifests from the API models"),
    "observability": (
        "cango_operator.commands.observability",
        "generate the Grafana dashboards and the metrics, dashboards and alerts docs",
    ),
    "dev": (
        "cango_operator.commands.dev",
        "development helpers: local cluster, simulated GPU nodes",
    ),
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(SUBCOMMANDS[name][0])


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cango-operator",
        description="Place GPU inference services at mining sites by power, price and latency.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if a in SUBCOMMANDS), None)
    for name, (_, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _load(name).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = _load(args.command).run(args)
    except CangoError as exc:
        print(f"cango-operator {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
