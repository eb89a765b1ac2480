"""The ``screencodec relay`` command: pair hosts behind NAT with their viewers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``relay`` to an argparse subparsers object."""
    r = subparsers.add_parser("relay", help="run a relay for hosts behind NAT")
    r.add_argument("--listen", type=int, required=True, metavar="PORT")
    r.add_argument("--bind", default="0.0.0.0")
    r.set_defaults(func=run_relay)


async def _relay_main(args: argparse.Namespace) -> int:
    from screencodec.transport.relay import Relay

    async with Relay(args.bind, args.listen) as relay:
        print(f"relay listening on {args.bind}:{relay.port}", flush=True)
        await asyncio.Event().wait()
    return 0


def run_relay(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_relay_main(args))
    return 0
