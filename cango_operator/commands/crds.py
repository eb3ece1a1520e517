"""`cango-operator crds`: not implemented yet; lands with the API models."""

from __future__ import annotations

import argparse

from cango_operator.commands._unimplemented import add_nothing, not_yet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_nothing(parser)


def run(args: argparse.Namespace) -> int:
    return not_yet("crds", "it lands with the API models")
