"""The ``screencodec host`` command: share this screen (see ``cli.py``).

Runs one event loop: the listener or relay registration hands each
authenticated channel to :meth:`Host.serve`; a display task turns host events
into the banner and status lines; on X11 a watcher pauses remote input when
the local user moves the pointer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any

from screencodec.capture.base import FrameSource
from screencodec.errors import ScreencodecError
from screencodec.transport.cli.args import address, size
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import terminal_consent, terminal_yes_no
from screencodec.transport.session.events import (
    PasswordInvalidated,
    PasswordRotated,
    SessionEnded,
    SharingChanged,
    StatsUpdated,
)
from screencodec.transport.session.host import Host
from screencodec.transport.session.screens import SourceFactory
from screencodec.transport.session.sidechannels import FileOfferInfo

__all__ = ["BANNER", "register", "run_host"]

BANNER = "#" * 64
#: Seconds between an invalidation and the new password: meanwhile the agent is
#: told the password was invalidated, and guessing is slowed to 3 per period.
ROTATE_AFTER = 2.0


def register(subparsers: Any) -> None:
    """Add ``host`` to an argparse subparsers object."""
    h = subparsers.add_parser("host", help="share this screen with a support agent")
    where = h.add_mutually_exclusive_group()
    where.add_argument("--listen", type=int, metavar="PORT", help="accept viewers directly")
    where.add_argument("--relay", type=address, metavar="HOST:PORT", help="register at a relay")
    h.add_argument("--bind", default="0.0.0.0", help="address for --listen (default all)")
    h.add_argument("--source", choices=("auto", "screen", "synthetic"), default="auto")
    h.add_argument("--scenario", default="typing", help="synthetic desktop scenario")
    h.add_argument("--size", type=size, default=(1280, 720), help="synthetic size WxH")
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


def _source_factory(args: argparse.Namespace) -> SourceFactory:
    from screencodec.capture import open_source

    width, height = args.size

    def factory(index: int) -> FrameSource:
        if args.source == "synthetic":
            return open_source("synthetic", width=width, height=height, scenario=args.scenario)
        if args.source == "screen":
            return open_source("screen", monitor=index)
        # auto: the screen if a display is reachable, else the synthetic desktop
        return open_source(
            "auto", monitor=index, width=width, height=height, scenario=args.scenario
        )

    return factory


def _injector(args: argparse.Namespace) -> Any:
    if args.control == "none":
        return None
    try:
        from screencodec.transport.input.xtest import XTestInjector

        return XTestInjector()
    except (ScreencodecError, ImportError) as exc:
        print(f"(remote control unavailable: {exc})", flush=True)
        return None


async def _show(host: Host, done: asyncio.Event, once: bool) -> None:
    """Banner while shared, a status line per viewer per second."""
    async for ev in host.events():
        if isinstance(ev, SharingChanged):
            if ev.viewers:
                print(
                    f"\n{BANNER}\n##  YOUR SCREEN IS BEING SHARED WITH: {', '.join(ev.viewers)}"
                    f"\n##  Press Ctrl-C at any time to stop sharing.\n{BANNER}",
                    flush=True,
                )
            else:
                print(f"\n{BANNER}\n##  Screen sharing stopped.\n{BANNER}", flush=True)
        elif isinstance(ev, PasswordInvalidated):
            print(
                f"\n{'!' * 64}\n!!  {ev.failed} wrong passwords were tried for session "
                f"{ev.code}.\n!!  That password no longer works; a new one follows."
                f"\n!!  Only read it to the person you called for help.\n{'!' * 64}",
                flush=True,
            )
        elif isinstance(ev, PasswordRotated):
            print(
                f"Session code: {ev.code}\nNew password: {ev.password}\n"
                "Read both to your support agent again.",
                flush=True,
            )
        elif isinstance(ev, StatsUpdated):
            print(f"[shared] {ev.stats.line()}", flush=True)
        elif isinstance(ev, SessionEnded):
            print(f"session with {ev.peer} ended: {ev.reason}", flush=True)
            if once:
                done.set()


async def _host_main(args: argparse.Namespace) -> int:
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.channel.limits import Timeouts
    from screencodec.transport.channel.sealed import SecureChannel
    from screencodec.transport.connect import host_via_relay, listen_direct

    config = HostConfig(
        consent_timeout=args.consent_timeout,
        monitor=args.monitor,
        max_duration=args.max_duration,
        download_dir=args.download_dir,
    )
    consent = terminal_consent()

    async def file_consent(info: FileOfferInfo) -> bool:
        # Same y/N rule; the receiver applies the consent timeout.
        question = f"{info.peer} sends the file {info.name!r} ({info.size} bytes). Save it?"
        return await terminal_yes_no(question)

    async def on_channel(channel: SecureChannel) -> None:
        await host.serve(channel)

    host = Host(
        _source_factory(args),
        consent=consent,
        injector=_injector(args),
        config=config,
        file_consent=file_consent,
    )
    creds = SessionCredentials()
    host.watch_credentials(creds, rotate_after=ROTATE_AFTER)
    timeouts = Timeouts(max_duration=args.max_duration)
    done = asyncio.Event()
    shower = asyncio.ensure_future(_show(host, done, args.once))
    watcher = _start_watcher(host)
    if args.relay:
        opened: Any = await host_via_relay(
            args.relay[0], args.relay[1], creds, on_channel, timeouts=timeouts
        )
        await opened.wait_registered(10)
        where = f"via relay {args.relay[0]}:{args.relay[1]}"
    else:
        opened = await listen_direct(
            args.bind, args.listen or 0, creds, on_channel, timeouts=timeouts
        )
        where = f"listening on {args.bind}:{opened.port}"
    print(
        f"{where}\nSession code: {creds.display_code}\nPassword:     {creds.password}\n"
        "Read both to your support agent. Nothing is shared until you answer y.",
        flush=True,
    )
    try:
        await done.wait()
    finally:
        await opened.close()
        await host.close()
        for task in (shower, watcher):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (shower, watcher) if t), return_exceptions=True)
    return 0


def _start_watcher(host: Host) -> asyncio.Task[None] | None:
    """On X11, the local user's pointer movement pauses remote input."""
    from screencodec.transport.input.xtest import LocalPointerWatcher, XTestInjector

    if not isinstance(host.injector, XTestInjector):
        return None
    try:
        watcher = LocalPointerWatcher(host.local_input_activity, host.injector)
    except ScreencodecError:
        return None
    return asyncio.ensure_future(watcher.run())


def run_host(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_host_main(args))
    print("\nsharing stopped", flush=True)
    return 0
