"""What ``screencodec host`` opens from its arguments before anyone is asked:
the download and recording folders checked, the screen to share opened (:func:`_check_source`),
the recorder, the injector of remote input and the X watchers that pause it
when the local user moves the pointer or types, the listener or the relay
registration (:func:`_open`). Any of them failing is a :class:`_StartError`:
one line on stderr and exit status 2 (host.run_host).

Separate: each is one step of the start, read on its own, with its own
failure words; the loop that uses what they open is host.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from screencodec.capture.base import FrameSource
from screencodec.cli.args import unusable_folder
from screencodec.cli.host_lines import NO_INPUT, VIEW_ONLY
from screencodec.cli.sessions import needs_extra
from screencodec.cli.terminal import in_words
from screencodec.errors import CaptureError, ScreencodecError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.host import Host
from screencodec.transport.session.screens import SourceFactory

if TYPE_CHECKING:
    from screencodec.transport.connect.registration import RelayStatus

__all__ = [
    "_StartError", "_check_folders", "_check_source", "_injector", "_no_display", "_open",
    "_recorder", "_source_factory", "_start_watchers",
]


class _StartError(ScreencodecError, RuntimeError):
    """The host could not start (port in use, relay unreachable): one line."""


def _check_folders(args: argparse.Namespace) -> None:
    """--download-dir and --record must be folders that take files, there
    at start: a download folder that was not there was found only after
    the user's yes to a file, which was then lost (the agent read that the
    host had not accepted it); a --record folder that was not there was
    made without a word, so a mistyped one took the recordings where
    nobody would look (the docs never promised to make it)."""
    for flag, folder in (("download-dir", args.download_dir), ("record", args.record)):
        why = None if folder is None else unusable_folder(folder)
        if why == "no such directory":
            # Quoted: a command the user copies ("My Recordings" made two folders).
            why = f"{why} (make it first: mkdir -p {shlex.quote(str(folder))})"
        if why is not None:
            raise _StartError(f"--{flag} {folder}: {why}")


async def _check_source(args: argparse.Namespace) -> FrameSource | None:
    """The screen to share must open, before anyone is asked. With ``--source
    screen`` the host does not start otherwise (it asked its user, who said
    y, and the agent then read 'closed by peer: closed locally'); with
    ``auto`` it says in one line that agents will see the synthetic demo
    desktop (the banner said YOUR SCREEN IS BEING SHARED over a picture that
    was not this computer's). Opened on a thread, waited for at most
    ``screens.ANSWER_WITHIN`` s (an X server that stopped answering: the
    host's start, Ctrl-C included, waited for it for good). Returns the
    source of ``--monitor``, open, for the first viewer (its layout is read
    from it without waiting for X); None when there is no screen."""
    if args.source == "synthetic":
        _check_synthetic(args)
        return None
    from screencodec.capture import ScreenSource
    from screencodec.capture.screen import NOT_OPENED
    from screencodec.transport.session.screens import off_the_loop

    why = _no_display()
    if why is None:
        try:
            await off_the_loop(lambda: ScreenSource(0).close())
        except CaptureError as exc:
            why = in_words(safe_text(exc, 200))
    if why is None:
        try:  # there is a screen: a --monitor it does not have is a mistake
            return await off_the_loop(lambda: ScreenSource(args.monitor))
        except (CaptureError, IndexError, ValueError) as exc:
            if not str(exc).startswith(NOT_OPENED):
                raise _StartError(f"--monitor {args.monitor}: {safe_text(exc, 200)}") from None
            # The display itself failed between the two opens (it was going
            # down, or not up yet): said as a display that did not open, not
            # of --monitor (walk36: "--monitor 1: cannot open the screen on
            # display ':136'" with no --monitor given).
            why = in_words(safe_text(exc, 200))
    if args.source == "screen":
        raise _StartError(f"no screen to share ({why}): start it where $DISPLAY is this"
                          " computer's screen, or with --source synthetic for a demo desktop")
    _check_synthetic(args)
    print(f"(no screen to capture here ({why}): agents will see a synthetic demo desktop,"
          " not this computer's screen; --source screen refuses to start instead)", flush=True)
    return None


def _check_synthetic(args: argparse.Namespace) -> None:
    """The synthetic desktop agents will see must be one that can be made:
    a --scenario or --size it refuses started the host, which asked its user
    and only then failed the session ("closed by peer: closed locally" at the
    agent; walk39). Checked, not made: each viewer's desktop is made when
    it joins (startup39: making one here and closing it cost every start
    0.08 s of CPU)."""
    # Not the synthetic package (numpy, PIL, fonts: 20 ms of CPU before the
    # password): each viewer's session loads it when it makes its desktop.
    from screencodec.capture.desktop_check import SCENARIO_NAMES, check_desktop

    if args.scenario not in SCENARIO_NAMES:
        raise _StartError(f"--scenario {args.scenario}: unknown scenario {args.scenario!r};"
                          f" choose one of {sorted(SCENARIO_NAMES)}")  # fmt: skip
    try:
        check_desktop(*args.size, scenario=args.scenario)
    except ScreencodecError as exc:
        width, height = args.size
        raise _StartError(f"--size {width}x{height}: {safe_text(exc, 200)}") from None


def _no_display() -> str | None:
    """Why there is no X display to open, when $DISPLAY says so at once."""
    if os.name == "posix" and sys.platform != "darwin" and not os.environ.get("DISPLAY"):
        # python-xlib's words were "cannot open X display None: Bad display name """.
        return "no X display: $DISPLAY is not set"
    return None


def _recorder(args: argparse.Namespace) -> Any:
    if args.record is None:
        for flag in ("record_key", "record_sign"):
            if getattr(args, flag) is not None:
                raise _StartError(f"--{flag.replace('_', '-')} needs --record DIR")
        return None
    from screencodec.recording import Recorder, RetentionPolicy

    try:
        return Recorder(args.record, auditor=args.record_key, signer=args.record_sign,
                        retention=RetentionPolicy())  # fmt: skip
    except (ScreencodecError, OSError) as exc:
        raise _StartError(f"cannot record into {args.record}: {exc}") from exc


def _recording_words(args: argparse.Namespace, recorder: Any) -> str:
    """The start's line of a host that records (walk43: nothing said it, and
    a recording past its retention was deleted at start without a word):
    where, whether sealed, signed by which host key, how long kept, and
    what the start deleted."""
    if recorder is None:
        return ""
    days = recorder.retention.days if recorder.retention is not None else None
    # walk45: without a key nothing said what keeps the files from other
    # eyes (the writer creates each 0600: recording/writer.py).
    sealed = (", sealed for the auditor's key" if args.record_key is not None else
              ", not sealed: readable by this account and root only (file mode 0600);"
              " --record-key AUDITOR.pub seals them")  # fmt: skip
    # walk52: --record-sign was not said, nor the key id the auditor pins.
    signer = recorder.signer
    signed = ("" if signer is None else
              f", signed with this host's key {signer.entry['key_id']}")  # fmt: skip
    kept = "" if days is None else f"; kept {days:g} days"
    line = f"\nrecording every session into {args.record}{sealed}{signed}{kept}"
    if recorder.pruned:
        line += f" (deleted now, older than that: {_recordings(recorder.pruned)})"
    return line


def _recordings(paths: list[Any]) -> str:
    """``1 recording, NAME`` / ``3 recordings, NAME ...``: what retention deleted."""
    n = len(paths)
    more = " ..." if n > 1 else ""
    return f"{n} recording{'' if n == 1 else 's'}, {safe_text(paths[0].name, 100)}{more}"


def _pruned_words(args: argparse.Namespace, recorder: Any, gone: list[Any]) -> str:
    """What a host running for days says when retention deleted recordings
    after a session (walk43: without a word)."""
    days = recorder.retention.days if recorder.retention is not None else None
    older = "" if days is None else f", older than {days:g} days"
    return f"deleted from {args.record}{older} (its retention): {_recordings(gone)}"


def _source_factory(args: argparse.Namespace, kept: list[FrameSource]) -> SourceFactory:
    """The host's sources; the first of ``--monitor`` is the one ``kept``
    holds, if any (opened at the start: :func:`_check_source`)."""
    from screencodec.capture import open_source

    width, height = args.size

    def factory(index: int) -> FrameSource:
        if kept and index == args.monitor:
            return kept.pop()
        if args.source == "synthetic":
            return open_source(
                "synthetic", live=True, width=width, height=height, scenario=args.scenario
            )
        if args.source == "screen":
            return open_source("screen", monitor=index)
        # auto: the screen if a display is reachable, else the synthetic desktop
        return open_source(
            "auto", live=True, monitor=index, width=width, height=height,
            scenario=args.scenario,
        )

    return factory


def _injector(args: argparse.Namespace) -> tuple[Any, tuple[str, str] | None]:
    """The injector, or else why there is none: ``(for the local user, for
    the agent)``; the local words may name this computer's details, the
    agent's do not."""
    if args.control == "none":
        return None, ("started with --control none", VIEW_ONLY)
    try:
        no_display = _no_display()
        if no_display is not None:
            raise ScreencodecError(no_display)
        from screencodec.transport.input.xtest import XTestInjector

        return XTestInjector(), None
    except (ScreencodecError, ImportError) as exc:
        why = safe_text(exc, 200)
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("Xlib"):
            # walk43: "No module named 'Xlib'" to a customer who installed
            # the wheel without the x11 extra: the extra's words instead.
            why = needs_extra("", "x11", "Xlib").strip()
        print(f"(remote control unavailable: {why})", flush=True)
        return None, (why, NO_INPUT)


async def _open(args: argparse.Namespace, creds: Any, on_channel: Any, timeouts: Any,
                on_lost: Any = None, *,
                on_status: Callable[[RelayStatus], None] | None = None) -> tuple[Any, str]:
    """Listen or register; a failure to start is a :class:`_StartError`.
    ``on_status`` hears of the relay's changes once registered (the start
    itself says whether it worked)."""
    from screencodec.transport.connect import host_via_relay, listen_direct

    if args.relay:
        rhost, rport = args.relay
        reg = await host_via_relay(rhost, rport, creds, on_channel, timeouts=timeouts,
                                   on_lost=on_lost)
        failed = await _registered_or_refused(reg)
        if reg.state != "registered":
            # The wait's own words only when it gave up on a grace; else,
            # as before, what the last attempt met.
            gave_up = failed if getattr(failed, "waited", 0) else None
            why = gave_up or reg.last_error or "no answer within 10 s"
            await reg.close()
            why = in_words(str(why).removeprefix(f"cannot reach {rhost}:{rport}: ")
                           .removeprefix(f"the relay {rhost}:{rport} "))
            raise _StartError(f"cannot register at the relay {rhost}:{rport}: "
                              f"{safe_text(why, 200)}")
        if on_status is not None:
            reg.add_status_listener(on_status)
        return reg, f"via relay {rhost}:{rport}"
    try:
        listener = await listen_direct(args.bind, args.listen or 0, creds, on_channel,
                                       timeouts=timeouts)
    except OSError as exc:
        why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise _StartError(f"cannot listen on {args.bind}:{args.listen}: {why}") from None
    where = f"listening on {args.bind}:{listener.port}"
    return listener, where + _address_needed(args, listener.port)


def _address_needed(args: argparse.Namespace, port: int) -> str:
    """The line under ``listening on 0.0.0.0:PORT``: that the agent needs
    this computer's address and the port too (walk43: a customer told to
    run ``screencodec host`` read "listening on 0.0.0.0:38325" and "Read
    both" of the code and password, and gave the agent neither address nor
    port; without --listen the port is a new one each start)."""
    if args.bind not in ("0.0.0.0", "::", ""):
        return ""  # one address: the line above names it
    again = "" if args.listen else "; a new port each start: --listen PORT keeps one"
    return (f"\nYour agent also needs this computer's address and the port {port}"
            f" (screencodec view ADDRESS:{port}{again}); from outside your network,"
            " use a relay instead: screencodec host --relay HOST:PORT")  # fmt: skip


async def _registered_or_refused(reg: Any) -> BaseException | None:
    """Until ``reg`` is registered or failed at start (the error then):
    registration retries in the background, and the first failure is the
    answer (a relay that is down or refuses says so at once), in 10 s at
    most; but a relay whose session directory recovers (BUSY,
    protocol.RECOVERING: a new cluster's first ``claim_ttl``, a Redis that
    lost its keys) asks for a wait, which ``wait_registered`` sits out for
    as long as the relay says (bounded: registration.RECOVERING_MOST). Before
    (epoch41), the host exited at once, status 2, "peer refused: BUSY:
    session directory recovering"; before relay42 it waited a fixed 60 s,
    so a relay with a ``--claim-ttl`` over ~50 s sent its first user away."""
    from screencodec.transport.connect.relay_open import RelayRecoveringError

    waiting = asyncio.ensure_future(reg.wait_registered(10))
    told = False
    try:
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=0.1)
            err = reg.last_error
            if not told and isinstance(err, RelayRecoveringError) and not waiting.done():
                told = True
                about = "" if err.left is None else f", about {math.ceil(err.left)} s"
                print("(the relay's session directory is recovering (a new relay cluster,"
                      f" or its Redis restarted or lost its keys): waiting to register{about})",
                      flush=True)
        failed: BaseException | None = waiting.exception()
        return failed
    finally:
        waiting.cancel()


def _start_watchers(host: Host,
                    lost: Callable[[str], None] | None = None) -> list[asyncio.Task[None]]:
    """On X11, the local user's pointer movement, keys and clicks pause
    remote input (each watcher that the display supports). ``lost(why)``
    is called on the loop when the injector's or a watcher's X connection
    fails (the display is gone); a watcher then ends, the injector drops
    what it is given (:attr:`XTestInjector.lost`). Without ``lost``, a
    watcher's task ends with the connection's error."""
    # An XTestInjector exists only once its module is loaded: without it
    # (no X display, --control none) the watchers' modules stay unloaded
    # (python-xlib and ctypes: 8 ms of a start's import time, startup39).
    xtest = sys.modules.get("screencodec.transport.input.xtest")
    if xtest is None or not isinstance(host.injector, xtest.XTestInjector):
        return []
    from screencodec.transport.input.xpresses import LocalPressWatcher
    from screencodec.transport.input.xtest import (
        LocalPointerWatcher,
        PollingWatcher,
        XTestInjector,
    )

    injector = host.injector
    if not isinstance(injector, XTestInjector):
        return []
    loop = asyncio.get_running_loop()

    if lost is not None:
        def injector_lost(why: str) -> None:  # on the injector's worker thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: the host has ended
                loop.call_soon_threadsafe(lost, why)

        injector.on_lost = injector_lost

    async def watch(watcher: PollingWatcher | LocalPointerWatcher) -> None:
        from Xlib.error import ConnectionClosedError

        try:
            await watcher.run()
        except (ConnectionClosedError, OSError) as exc:
            if lost is None:
                raise
            why = str(exc) or type(exc).__name__
            injector.server_gone(why)  # so its close does not wait on that server again
            lost(why)

    tasks = []
    for make in (
        lambda: LocalPointerWatcher(lambda: host.local_input_activity("pointer"), injector),
        lambda: LocalPressWatcher(host.local_input_activity, injector),
    ):
        try:
            watcher = make()
        except ScreencodecError:
            continue  # no XInput 2.2, say: the other watcher still serves
        tasks.append(asyncio.ensure_future(watch(watcher)))
    return tasks
