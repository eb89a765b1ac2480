"""The ``host``, ``view`` and ``relay`` commands of the ``screencodec`` CLI."""

from __future__ import annotations

from screencodec.transport.cli.main import add_subcommands

__all__ = ["add_subcommands"]
