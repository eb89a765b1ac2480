"""The ``screencodec view`` command: watch a shared screen, optionally take control.

In the terminal, the host's chat is printed as ``host says: TEXT`` and a
line typed as ``/say TEXT`` is sent to the host's user, then marked
``delivered: TEXT`` once the host's program has it (at the end, ``not
confirmed, the session ended: TEXT`` if it was sent and the host never said
it had it, ``NOT delivered, the session ended: TEXT`` if it was never sent;
transport/session/chat.py).
``/send PATH``
offers a file to the host's user (view_commands._Sending: one line when it is
offered, one with the outcome: saved, declined, or not saved and why).
A host with more than one screen has them listed, each over ``--max-pixels``
marked too large, and ``/monitor N`` switches (view_commands._Screens: one too
large is refused before the host is asked). With ``--web`` the
screen is shown in a browser page served on 127.0.0.1
(:mod:`screencodec.web`): the page decodes the wire format itself, and
pointer, keyboard, chat, files and monitors are handled there.

``--control``: the answer is one line: granted, refused by the host's user,
or refused by the host without asking its user, with the host's reason
(through safe_text), so an agent knows whether asking again can help.

A session code or password of the wrong form (transport/channel/codes.py)
is one line and exit status 2 before anything is connected (with ``--web``,
the page says it once open). The end is ``session ended: WHY`` in plain
words (view_ending.ended_words): the host's reason, "you left the session" or
"the connection was lost", never the channel's layers.

This module holds the command itself: its arguments' checks
(:func:`run_view`; the arguments are view_args.py's), the terminal's session loop
(:func:`_view_main`: connect, join, watch, take a lost link up again, the
end line, ``--snapshot``) and the ``--web`` one (:func:`_web_main`). What
they call is split by concern into modules beside it, each read on its
own, none of which imports this one: view_connect.py (connecting,
explaining failures, reconnecting), view_signals.py (Ctrl-C, SIGTERM,
SIGHUP), view_commands.py (what is typed and its answers; ``/type`` and
``/key`` in view_typing.py), view_status.py (the lines printed unasked)
and view_ending.py (the end line's words, the exit status).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import getpass
import importlib.util
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screencodec.cli.args import unusable_folder
from screencodec.cli.main import Exit
from screencodec.cli.progress import Receiving
from screencodec.cli.say import SAY
from screencodec.cli.sessions import needs_extra
from screencodec.cli.terminal import (
    StatusLines,
    TypedLine,
    ending_signals,
    signals_given_back,
    tell,
)
from screencodec.cli.view_commands import (
    _Conversation,
    _Sending,  # noqa: F401 (tests import it from here)
    _sent_words,  # noqa: F401 (tests import it from here)
    _typed_lines,
    said_early,
)
from screencodec.cli.view_connect import (
    _connect,
    _first_connect,
    _Over,
    _rejoin,
    _rejoin_words,  # noqa: F401 (tests import it from here)
    _ViewError,
    exit_status,
)
from screencodec.cli.view_control import END_WAIT, LOST_ASKING, control_wait
from screencodec.cli.view_ending import (
    LEFT,
    LEFT_AWAY,
    _bye_words,
    _end_status,
    _left_words,
    _lost_link,
    _not_taken_up,  # noqa: F401 (tests import it from here)
    _over_limit_hint,
    _web_lost_words,
    _yours,
    ended_words,
)
from screencodec.cli.view_signals import _leave_on_signals, _Left, _saved_first, _unless_left
from screencodec.cli.view_status import (
    _OVERSLEPT,
    _SILENCE_CHECK,
    CONTROL_ASKED,
    NO_INPUT_HERE,
    PROBED_SILENT_AFTER,  # noqa: F401 (tests import it from here)
    TAKEN_BACK,  # noqa: F401 (tests import it from here)
    _control_answer,
    _Earlier,
    _RanAgain,
    _Silence,
    _status,
    _tell_control,
)
from screencodec.errors import ProtocolError, ScreencodecError, TransportError
from screencodec.transport.channel.codes import (
    CODE_DIGITS,
    PASSWORD_LENGTH,
    normalize_password,
    parse_code,
)
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.permissions import CONTROL, VIEW

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = ["run_view"]


async def _web_main(args: argparse.Namespace, password: str) -> int:
    from screencodec.web import WebOptions, WebViewer
    from screencodec.web.run import LEFT_HERE

    def show(url: str) -> None:
        opened = "" if args.no_open else "   (opening it in your browser)"
        tell(f"web viewer: {url}{opened}")
        tell("keep this link private: it admits one page, once")

    told: list[object] = [None]  # the viewer whose levels are told

    def step(text: str) -> None:
        tell(safe_text(text, 300))
        if web.viewer is not None and web.bridge is not None and web.viewer is not told[0]:
            told[0] = web.viewer  # joined, or a lost link resumed: its levels from now on
            _tell_control(web.viewer, web.bridge)

    options = WebOptions(
        who=args.name, port=args.web_port, control=args.control,
        open_browser=not args.no_open, download_dir=args.download_dir, on_url=show,
        on_step=step, max_pixels=args.max_pixels, host_direct=not args.relay,
        resume_within=args.reconnect_for,
        on_early_chat=lambda text: tell(f"host says: {safe_text(text, 1000)}"),  # as said_early
    )  # fmt: skip
    firsts = [True]

    async def connect() -> Any:
        # The first connection waits while the relay says the code's host
        # may not be back yet (relay43), as the terminal's does; a lost
        # link's attempts are retried by the reconnect, which says why.
        if firsts:
            firsts.clear()
            return await _first_connect(args, password)
        return await _connect(args, password)

    web = WebViewer(connect, options)
    # Ctrl-C, SIGTERM, SIGHUP and --duration leave as the page's Leave button
    # does: the host gets the agent's Bye, the page its ended banner.
    left_away = False  # left by a signal while the link was being taken up again
    with _leave_on_signals() as left:
        try:
            run = asyncio.ensure_future(web.run())
            ended, reason = await _unless_left(run, left, args.duration)
            if not ended:
                leaving, by = web.viewer, list(left.signals)  # by: none for --duration
                # SIGTERM, SIGHUP: the page says the program was stopped (page51).
                web.leave(stopped_by=signal.Signals(by[0]).name if by else None)
                reason = await run if leaving is None else await _saved_first(run, leaving, left)
                if not left.is_set() and web.viewer is None:  # --duration passed
                    raise _ViewError("no page opened the viewer link in time")
                # Ctrl-C, SIGTERM, SIGHUP: not the page's Leave, unless it
                # was pressed first (its Bye went: words52).
                if reason == LEFT_HERE and not web.page_left_first:
                    # SIGTERM, SIGHUP: stopped, not "you left" (words51). While
                    # the link was being taken up again no Bye reached the
                    # host: said, and the agent's leaving is no lost link
                    # (exit 0), as the terminal's view has it (left51).
                    away = leaving is not None and leaving.link_lost
                    reason = _left_words(by, began=leaving is not None and bool(leaving.level),
                                         away=away)  # fmt: skip
                    left_away = away
        except OSError as exc:
            if web.url or isinstance(exc, ScreencodecError):
                raise
            # The page's own socket could not be opened (--web-port taken, say).
            port = f"port {args.web_port}" if args.web_port else "a port"
            why = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise _ViewError(f"cannot serve the page on 127.0.0.1 {port}: {why}") from exc
        hint = _over_limit_hint(str(reason), args.max_pixels, web=True)
        lost = web.viewer is not None and web.viewer.link_lost and not left_away
        # How a lost link not taken up again ended, as the run recorded it
        # (audit38: read back from the reason's end, the host's words in it).
        if web.lost_end is not None:
            lost = lost and not web.ended_away and not web.not_back_in
            reason = _web_lost_words(web.lost_end)
        tell(ended_words(_yours(str(reason), LEFT_HERE)) + hint)
    # A lost link the page's viewer could not take up again leaves it lost;
    # asked again after it, and no: refused.
    failed = web.viewer is not None and web.viewer.host_failed
    return Exit.REFUSED if web.not_back_in else _end_status(hint, lost=lost, failed=failed)


async def _view_main(args: argparse.Namespace, password: str,
                     line: TypedLine | None = None) -> int:  # fmt: skip
    from screencodec.transport.session.viewer import Viewer

    # Ctrl-C, SIGTERM and SIGHUP before the session is joined (connecting,
    # the host's user being asked) leave as well: the attempt is given up, a
    # question is withdrawn by the agent's Bye. (Ctrl-C there exited with no
    # Bye and no end line: the host's user read "viewer gone".) A second
    # Ctrl-C interrupts at once. One scope from the first connection to the
    # end line: with one for joining and another for the session, a Ctrl-C
    # between the two (the lines below printed, the agent's Ctrl-C right
    # after) exited 130 with no Bye, and one that came as the host's yes did
    # was dropped, the session going on.
    with _leave_on_signals() as left, contextlib.ExitStack() as stack:
        _, channel = await _unless_left(_first_connect(args, password), left, cancel=True)
        if channel is None:
            return _left_before_joining(args, left.signals)
        viewer = Viewer(channel, who=args.name, max_pixels=args.max_pixels)
        # The password is proven; the host now asks its user. It does not say
        # for how long (its --consent-timeout), so no number is shown.
        print("waiting for the host's user to accept...", flush=True)
        viewer.on_early_chat = said_early  # the host's user writes while deciding (say38)
        joined, level = await _unless_left(viewer.start(VIEW), left, cancel=True)
        if not joined:
            with contextlib.suppress(ScreencodecError, OSError):
                await viewer.bye(_bye_words(left.signals))  # left, or stopped (words52)
            return _left_before_joining(args, left.signals)
        # Joined; a Ctrl-C that came as the host said yes leaves at once (_watch).
        print(f"connected to {channel.peer}, granted: {level}", flush=True)
        print(f"To write to the host's user, type {SAY} and your message, then Enter.",
              flush=True)  # fmt: skip
        typed = _typed_lines(line)
        until = None if args.duration is None else time.monotonic() + args.duration
        chat = _Conversation(viewer, typed)
        stack.callback(chat.stop)
        running = asyncio.ensure_future(viewer.run())  # it reads the answer below
        if args.control:
            asked = asyncio.ensure_future(viewer.request(CONTROL, control_wait()))
            print(CONTROL_ASKED, flush=True)
            answered, granted = await _unless_left(asked, left)
            if answered and not granted and viewer.refusal is None:
                # No answer: the viewer answers a pending request so as its
                # run ends; the session's end line says what happened
                # (walk52: "the host did not answer" before it).
                await asyncio.wait({running}, timeout=END_WAIT)
                if running.done():
                    answered = False
                    if viewer.link_lost:
                        tell(LOST_ASKING)
            if answered:
                print(_control_answer(bool(granted), viewer.refusal), flush=True)
                # A yes after it is told when it comes (walk52).
                chat.unanswered.told = not granted and viewer.refusal is None
                if granted:
                    tell(NO_INPUT_HERE)
            else:
                asked.cancel()

        earlier = _Earlier()  # the links of this session before the present one

        async def ticker() -> None:
            status, silence, ran_again = StatusLines(), _Silence(), _RanAgain()
            receiving = Receiving(lambda f: f"receiving {safe_text(f.name, 200)} from the host")
            loop = asyncio.get_running_loop()
            while True:
                due = loop.time() + _SILENCE_CHECK
                await asyncio.sleep(_SILENCE_CHECK)
                now = loop.time()
                # Woken late, this program did not run (kill -STOP, a frozen
                # machine): what the host sent meanwhile is still unread, so
                # its silence is not told yet (walk36: "no word from the
                # host for 84 s" of a view that had been stopped 84 s).
                woke_late = now - due > _OVERSLEPT
                if woke_late:  # nor are the host's figures of the time it ran (words51)
                    ran_again.stopped(now, chat.viewer.decoded)
                for news in (None if woke_late else silence.line(chat.viewer, chat.away, now),
                             _status(chat.viewer, status, now, earlier, away=chat.away,
                                     ran_again=ran_again),
                             *receiving.lines(chat.viewer.files.receiving(), now)):  # fmt: skip
                    if news is not None:
                        tell(news)

        tick = asyncio.ensure_future(ticker())
        turned_away = False  # asked again after a lost link, and not let back in
        failed_again = False  # the host's program failed as it took the session up
        try:
            while True:
                reason = await _watch(viewer, running, left, until)
                # A lost link (no Bye: the agent's network, a relay restarting)
                # is taken up again, the host's user not asked again
                # (transport/session/resume.py).
                if not (viewer.link_lost and viewer.resume_ticket is not None):
                    # A host of a version that gives no ticket, or a link
                    # broken under a read (_watch's words for it).
                    lost = viewer.link_lost or _lost_link(reason)
                    break
                chat.reconnecting()
                again = await _rejoin(args, password, viewer, reason, left)
                if isinstance(again, _Over):
                    reason, lost, turned_away, failed_again = again
                    break
                earlier.add(viewer)
                viewer = again
                chat.move_to(viewer)
                running = asyncio.ensure_future(viewer.run())
        except ProtocolError:
            raise  # the host broke the protocol: an error, said as one
        finally:
            tick.cancel()
            chat.stop()
        chat.not_sent()  # chat held for a resume that did not come
        if reason in (LEFT, LEFT_AWAY):  # SIGTERM, SIGHUP: stopped, not "you left" (words51)
            reason = _left_words(left.signals, away=reason == LEFT_AWAY)
        # Still inside: a second SIGTERM while the snapshot is written waits for it.
        hint = _over_limit_hint(str(reason), viewer.max_pixels)
        tell(ended_words(str(reason)) + hint)
        if args.snapshot is not None:
            if viewer.framebuffer is None:  # it said nothing and exited 0
                raise _ViewError(_NO_PICTURE.format(args.snapshot))
            try:
                _write_snapshot(viewer, args.snapshot, args.snapshot_cursor)
            except OSError as exc:  # it said "error: No such file or directory"
                raise _ViewError(_unwritable(args.snapshot, exc)) from None
            tell(f"snapshot written to {args.snapshot}")
    failed = viewer.host_failed or failed_again  # failed_again: as it took the session up
    return Exit.REFUSED if turned_away else _end_status(hint, lost=lost, failed=failed)


async def _watch(viewer: Viewer, task: asyncio.Future[str], left: _Left,
                 until: float | None) -> str:  # fmt: skip
    """Wait for the joined session (``task``: its ``viewer.run()``) to end,
    the person to leave or ``until`` (``--duration``) to pass; returns why
    it ended."""
    timeout = None if until is None else max(0.0, until - time.monotonic())
    try:
        ended, reason = await _unless_left(task, left, timeout)
        if not ended:  # --duration passed, Ctrl-C, SIGTERM or SIGHUP
            await viewer.bye(_bye_words(left.signals))  # left, or stopped (words52)
            await task
            return LEFT
    except ProtocolError:
        raise
    except TransportError as exc:  # the connection broke under a read
        return f"channel closed: {exc}"
    return str(reason)


#: --snapshot when the session ended before a picture came (--duration
#: passed while the host was still starting its screen; measured: its first
#: picture came more than 2 s after the grant with a tenth of a CPU core).
_NO_PICTURE = "no snapshot written to {}: the host sent no picture before the session ended"


#: --snapshot when the agent left (Ctrl-C, SIGTERM, SIGHUP) while connecting
#: or while the host's user was asked: there was never a picture to write.
#: The why: "you left", or "the viewer was stopped by SIGTERM" (words51).
_LEFT_EARLY = "no snapshot written to {}: {} before the session began"


def _left_before_joining(args: argparse.Namespace, signals: list[int]) -> int:
    """The end of a view the agent left before it joined (``signals``: those
    that made it leave, :func:`_left_words`): the end line, and with
    ``--snapshot`` an error (it exited 0 with no word: a script took the
    snapshot for written)."""
    why = _left_words(signals, began=False)
    tell(ended_words(why))
    if args.snapshot is not None:
        who = "you left" if why == LEFT else why.removesuffix(" before the session began")
        raise _ViewError(_LEFT_EARLY.format(args.snapshot, who))
    return Exit.ENDED


def _unwritable(path: Path, exc: OSError) -> str:
    return f"cannot write the snapshot to {path}: {(exc.strerror or str(exc)).lower()}"


def _snapshot_writable(path: Path) -> bool:
    """Whether --snapshot's directory takes the file, told before anything
    connects: a wrong path was found only when the session ended, and the
    picture was lost."""
    why = "it is a directory" if path.is_dir() else unusable_folder(path.parent)
    if why is not None:
        print(f"error: cannot write the snapshot to {path}: {why}", file=sys.stderr)
    return why is None


def _write_snapshot(viewer: Viewer, path: Path, cursor: bool) -> None:
    """The last frame as a PNG (``cursor``: the host's pointer drawn in)."""
    from PIL import Image

    from screencodec.transport.session.pointer import composite

    fb = viewer.framebuffer
    assert fb is not None
    if cursor:
        fb = composite(fb, viewer.cursor)
    rgb = fb[..., 2::-1].copy()
    Image.fromarray(rgb, "RGB").save(path, format="PNG")  # whatever the name ends with


#: What a mistyped code or password is told, before anything is connected
#: or opened (the formats are transport/channel/codes.py's).
NOT_A_CODE = f"that is not a session code: {CODE_DIGITS} digits, like 123 456 789"
NOT_A_PASSWORD = (f"that is not a session password: {PASSWORD_LENGTH} letters and digits,"
                  " like 7kq2m9xa (there is no 0, 1, l or o in one)")


def _page_draws(max_pixels: int) -> bool:
    """Whether the web page draws pictures of ``max_pixels`` (``--max-pixels``
    with ``--web``); if not, one line says so. The page's own decoder takes
    at most PAGE_MAX_PIXELS: a larger limit would be lowered without a word."""
    from screencodec.web.bridge import PAGE_MAX_PIXELS

    if max_pixels <= PAGE_MAX_PIXELS:
        return True
    print(f"error: --max-pixels {max_pixels}: the web page draws at most {PAGE_MAX_PIXELS}"
          " pixels (leave out --web to watch a larger screen in the terminal)",
          file=sys.stderr)  # fmt: skip
    return False


def _well_formed(text: str, parse: Callable[[str], str], error: str) -> bool:
    """Whether ``parse`` takes ``text``; if not, ``error`` is printed."""
    try:
        parse(text)
    except ValueError:
        print(f"error: {error}", file=sys.stderr)
        return False
    return True


def _ask_password() -> str | None:
    """The password typed at the prompt, or None when none came (Ctrl-D, or
    no terminal and stdin at its end), said in one line. Ctrl-C goes on
    up (exit status 130: cli.main ends the line, so the shell's prompt
    starts on a line of its own). Both were tracebacks from getpass."""
    try:
        return getpass.getpass("Password: ")
    except EOFError:
        print("\nerror: no password typed: type it at the prompt, or give --password",
              file=sys.stderr)  # fmt: skip
        return None


#: Tries at the password prompt before the viewer gives up (status 2).
PASSWORD_TRIES = 3


def _prompted_password() -> str | None:
    """A password of the right form typed at the prompt, asked again after
    one that is not (walk45: ``wrongpw1`` ended the program, and the agent
    ran the whole command again to retype it); None after
    :data:`PASSWORD_TRIES` of them, or none typed (said in a line)."""
    for left in range(PASSWORD_TRIES - 1, -1, -1):
        password = _ask_password()
        if password is None:
            return None
        try:
            normalize_password(password)
        except ValueError:
            # The agent's typing, not the program's error: no "error:".
            again = ": type it again" if left else ""
            print(f"{NOT_A_PASSWORD}{again}", file=sys.stderr)
            continue
        return password
    return None


def _ending_words(exc: BaseException) -> str:
    """The last line of a viewer that ``exc`` ended. A refusal (the host's
    user said no, a wrong password, a code nobody holds, the host or relay
    busy) is told as its plain sentence, its status non-zero: a person's no
    is not a program's error (walk44: "error: the host's user declined")."""
    if exit_status(exc) in (Exit.REFUSED, Exit.WRONG_PASSWORD):
        return str(exc)
    return f"error: {exc}"


def run_view(args: argparse.Namespace) -> int:
    if (args.address is None) == (args.relay is None):
        print("give either HOST:PORT or --relay HOST:PORT", file=sys.stderr)
        return Exit.USAGE
    if args.web and args.snapshot is not None:
        print("--snapshot is not available with --web (the page draws the screen)", file=sys.stderr)
        return Exit.USAGE
    if args.snapshot is not None and not _snapshot_writable(args.snapshot):
        return Exit.USAGE
    why = None if args.download_dir is None else unusable_folder(args.download_dir)
    if why is not None:
        # A file the host's user sent was then lost after the agent's yes.
        print(f"error: --download-dir {args.download_dir}: {why}", file=sys.stderr)
        return Exit.USAGE
    if not args.web and args.download_dir is not None:
        # Taken without a word before, and every file the host's user sent
        # was then refused ("this viewer takes no files").
        print("--download-dir needs --web: the terminal viewer takes no files (the page"
              " asks about each and saves it there)", file=sys.stderr)  # fmt: skip
        return Exit.USAGE
    if args.web and importlib.util.find_spec("aiohttp") is None:
        print(needs_extra("screencodec view: --web", "web", "aiohttp"), file=sys.stderr)
        return Exit.USAGE
    if args.web and not _page_draws(args.max_pixels):
        return Exit.USAGE
    # A code or password of the wrong form (misheard) is told here at once,
    # before anything connects or a page opens.
    if not _well_formed(args.code, parse_code, NOT_A_CODE):
        return Exit.USAGE
    if args.password:
        password: str | None = args.password
        if not _well_formed(args.password, normalize_password, NOT_A_PASSWORD):
            return Exit.USAGE
    else:
        password = _prompted_password()
    if password is None:
        return Exit.USAGE
    # In the terminal viewer, what the agent types is kept whole while the
    # host's chat and status lines are printed (cli/terminal.TypedLine); the
    # terminal's modes are put back however the viewer ends.
    typed = None if args.web else TypedLine.on_terminal(sys.stdin, sys.stdout)
    real_stdout = sys.stdout
    if typed is not None:
        sys.stdout = typed.stdout
    try:
        # Ctrl-C is ignored, SIGTERM and SIGHUP noted, from the end of the
        # session (_leave_on_signals) until the terminal is put back; then
        # each has its handler again.
        with signals_given_back(signal.SIGINT, *ending_signals()):
            try:
                return asyncio.run(_web_main(args, password) if args.web
                                   else _view_main(args, password, typed))  # fmt: skip
            finally:
                if typed is not None:
                    typed.close()
                    sys.stdout = real_stdout
    except OSError as exc:
        if isinstance(exc, ScreencodecError):
            print(_ending_words(exc), file=sys.stderr)
        else:  # --web-port in use, for instance
            print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return exit_status(exc)
    except (ScreencodecError, ValueError) as exc:
        print(_ending_words(exc), file=sys.stderr)
        return exit_status(exc)
    # A KeyboardInterrupt (a second Ctrl-C while leaving) goes on up: cli.main
    # makes it exit status 130 (it was 0, as if the session ended in order).
