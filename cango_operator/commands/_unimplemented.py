"""What a subcommand that has not landed yet says: plainly, and with a non-zero exit."""

from __future__ import annotations

import argparse
import sys


def not_yet(command: str, issue: str) -> int:
    print(
        f"cango-operator {command}: not implemented yet ({issue}).",
        file=sys.stderr,
    )
    return 2


def add_nothing(parser: argparse.ArgumentParser) -> None:
    """Stub subcommands take any arguments, so the 'not implemented' message is what shows."""
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
