"""The session commands: ``host``, ``view``, ``relay`` and ``recordings``.

Importing this needs the ``transport`` extra; ``main`` falls back to a one-line
explanation per command when it is missing. Every handler takes the parsed
arguments, runs its own event loop and returns an exit code; output is
line-oriented so it reads fine in a terminal and in a log.
"""

from __future__ import annotations

from typing import Any

from screencodec.cli.host import register as register_host
from screencodec.cli.recordings import register as register_recordings
from screencodec.cli.relay import register as register_relay
from screencodec.cli.view import register as register_view

__all__ = ["add_subcommands"]


def add_subcommands(subparsers: Any) -> None:
    """Add ``host``, ``view``, ``relay`` and ``recordings`` to an argparse subparsers object."""
    for register in (register_host, register_view, register_relay, register_recordings):
        register(subparsers)
