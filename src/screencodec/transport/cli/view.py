"""The ``screencodec view`` command: watch a shared screen, optionally take control."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any

from screencodec.errors import ScreencodecError
from screencodec.transport.cli.args import address
from screencodec.transport.session.permissions import CONTROL, VIEW

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``view`` to an argparse subparsers object."""
    v = subparsers.add_parser("view", help="watch a shared screen")
    v.add_argument("address", nargs="?", type=address, metavar="HOST:PORT")
    v.add_argument("--relay", type=address, metavar="HOST:PORT")
    v.add_argument("--code", required=True)
    v.add_argument("--password", help="prompted for if omitted (keeps it out of `ps`)")
    v.add_argument("--name", default="support", help="who you are, shown to the user")
    v.add_argument("--control", action="store_true", help="ask for remote control too")
    v.add_argument("--duration", type=float, default=None, metavar="S", help="leave after S")
    v.add_argument("--snapshot", type=Path, metavar="FILE.png", help="write the last frame")
    v.add_argument("--snapshot-cursor", action="store_true",
                   help="draw the host's pointer into the snapshot")  # fmt: skip
    v.set_defaults(func=run_view)


async def _view_main(args: argparse.Namespace, password: str) -> int:
    from screencodec.transport.connect import connect_direct, connect_via_relay
    from screencodec.transport.session.viewer import Viewer

    if args.relay:
        channel: Any = await connect_via_relay(args.relay[0], args.relay[1], args.code, password)
    else:
        channel = await connect_direct(args.address[0], args.address[1], args.code, password)
    viewer = Viewer(channel, who=args.name)
    level = await viewer.start(VIEW)
    print(f"connected to {channel.peer}, granted: {level}", flush=True)
    task = asyncio.ensure_future(viewer.run())
    if args.control:
        print(f"control {'granted' if await viewer.request(CONTROL) else 'refused'}", flush=True)

    async def ticker() -> None:
        while True:
            await asyncio.sleep(1.0)
            s = viewer.host_stats
            fb = viewer.framebuffer
            size = f"{fb.shape[1]}x{fb.shape[0]}" if fb is not None else "-"
            print(
                f"[view] {size} decoded {viewer.decoded} errors {viewer.decode_errors}"
                + (
                    f" {s.fps_milli / 1000:.1f} fps {s.kbps} kbit/s rtt {s.rtt_us / 1000:.1f} ms"
                    if s
                    else ""
                ),
                flush=True,
            )

    tick = asyncio.ensure_future(ticker())
    try:
        reason = await asyncio.wait_for(asyncio.shield(task), args.duration)
    except asyncio.TimeoutError:
        await viewer.bye("viewer left")
        reason = await task
    finally:
        tick.cancel()
    print(f"session ended: {reason}", flush=True)
    if args.snapshot is not None and viewer.framebuffer is not None:
        from PIL import Image

        from screencodec.transport.session.pointer import composite

        fb = viewer.framebuffer
        if args.snapshot_cursor:
            fb = composite(fb, viewer.cursor)
        rgb = fb[..., 2::-1].copy()
        Image.fromarray(rgb, "RGB").save(args.snapshot)
        print(f"snapshot written to {args.snapshot}", flush=True)
    return 0


def run_view(args: argparse.Namespace) -> int:
    if (args.address is None) == (args.relay is None):
        print("give either HOST:PORT or --relay HOST:PORT", file=sys.stderr)
        return 2
    password = args.password or getpass.getpass("Password: ")
    try:
        return asyncio.run(_view_main(args, password))
    except (ScreencodecError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
