"""`cango-operator agent`: not implemented yet; lands with the node agent."""

from __future__ import annotations

import argparse

from cango_operator.commands._unimplemented import add_nothing, not_yet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_nothing(parser)


def run(args: argparse.Namespace) -> int:
    return not_yet("agent", "it lands with the node agent")
