"""Command-line host, viewer and relay: ``screencodec host|view|relay``.

The ``screencodec`` CLI adds these through :func:`add_subcommands`; ``python -m
screencodec.transport.cli`` runs the same commands standalone. Each command
lives in its own module with a ``register(subparsers)``; every handler takes
the parsed arguments, runs its own event loop and returns an exit code.
Output is line-oriented so it reads fine in a terminal and in a log.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from screencodec.transport.cli import host, recordings, relay, view

__all__ = ["add_subcommands", "main"]


def add_subcommands(subparsers: Any) -> None:
    """Add ``host``, ``view`` and ``relay`` to an argparse subparsers object."""
    for command in (host, view, relay, recordings):
        command.register(subparsers)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry: ``python -m screencodec.transport.cli host|view|relay ...``."""
    parser = argparse.ArgumentParser(prog="screencodec")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
