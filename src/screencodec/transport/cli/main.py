"""Command-line host, viewer and relay: ``screencodec host|view|relay``.

The ``screencodec`` CLI adds these through :func:`add_subcommands`; ``python -m
screencodec.transport.cli`` runs the same commands standalone. Every handler
takes the parsed arguments and returns an exit code; each runs its own event
loop. Output is line-oriented so it reads fine in a terminal and in a log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from screencodec.errors import ScreencodecError
from screencodec.transport.cli.host import run_host
from screencodec.transport.session.permissions import CONTROL, VIEW

__all__ = ["add_subcommands", "main"]


def _addr(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, not {text!r}") from None
    return w, h


def add_subcommands(subparsers: Any) -> None:
    """Add ``host``, ``view`` and ``relay`` to an argparse subparsers object."""
    h = subparsers.add_parser("host", help="share this screen with a support agent")
    where = h.add_mutually_exclusive_group()
    where.add_argument("--listen", type=int, metavar="PORT", help="accept viewers directly")
    where.add_argument("--relay", type=_addr, metavar="HOST:PORT", help="register at a relay")
    h.add_argument("--bind", default="0.0.0.0", help="address for --listen (default all)")
    h.add_argument("--source", choices=("auto", "screen", "synthetic"), default="auto")
    h.add_argument("--scenario", default="typing", help="synthetic desktop scenario")
    h.add_argument("--size", type=_size, default=(1280, 720), help="synthetic size WxH")
    h.add_argument("--monitor", type=int, default=1, help="monitor shown first (0 = all)")
    h.add_argument("--consent-timeout", type=float, default=30.0, metavar="S")
    h.add_argument("--max-duration", type=float, default=None, metavar="S")
    h.add_argument(
        "--control",
        choices=("none", "xtest"),
        default="xtest",
        help="how granted remote input is injected (default xtest if a display)",
    )
    h.add_argument(
        "--download-dir",
        type=Path,
        default=None,
        help="accept files (each after a y/N question) into this directory",
    )
    h.add_argument("--once", action="store_true", help="exit when the first session ends")
    h.set_defaults(func=run_host)

    v = subparsers.add_parser("view", help="watch a shared screen")
    v.add_argument("address", nargs="?", type=_addr, metavar="HOST:PORT")
    v.add_argument("--relay", type=_addr, metavar="HOST:PORT")
    v.add_argument("--code", required=True)
    v.add_argument("--password", help="prompted for if omitted (keeps it out of `ps`)")
    v.add_argument("--name", default="support", help="who you are, shown to the user")
    v.add_argument("--control", action="store_true", help="ask for remote control too")
    v.add_argument("--duration", type=float, default=None, metavar="S", help="leave after S")
    v.add_argument("--snapshot", type=Path, metavar="FILE.png", help="write the last frame")
    v.add_argument("--snapshot-cursor", action="store_true",
                   help="draw the host's pointer into the snapshot")  # fmt: skip
    v.set_defaults(func=_run_view)

    r = subparsers.add_parser("relay", help="run a relay for hosts behind NAT")
    r.add_argument("--listen", type=int, required=True, metavar="PORT")
    r.add_argument("--bind", default="0.0.0.0")
    r.set_defaults(func=_run_relay)


# -- viewer and relay ---------------------------------------------------------


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


def _run_view(args: argparse.Namespace) -> int:
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


async def _relay_main(args: argparse.Namespace) -> int:
    from screencodec.transport.relay import Relay

    async with Relay(args.bind, args.listen) as relay:
        print(f"relay listening on {args.bind}:{relay.port}", flush=True)
        await asyncio.Event().wait()
    return 0


def _run_relay(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_relay_main(args))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry: ``python -m screencodec.transport.cli host|view|relay ...``."""
    parser = argparse.ArgumentParser(prog="screencodec")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))

