"""The ``screencodec view`` command: watch a shared screen, optionally take control.

In the terminal, the host's chat is printed as ``host says: TEXT`` and a
line typed as ``/say TEXT`` is sent to the host's user, then marked
``delivered: TEXT`` once the host's program has it (at the end, ``not
confirmed, the session ended: TEXT`` if it was sent and the host never said
it had it, ``NOT delivered, the session ended: TEXT`` if it was never sent;
transport/session/chat.py).
``/send PATH``
offers a file to the host's user (:class:`_Sending`: one line when it is
offered, one with the outcome: saved, declined, or not saved and why).
A host with more than one screen has them listed, each over ``--max-pixels``
marked too large, and ``/monitor N`` switches (:class:`_Screens`: one too
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
words (:func:`ended_words`): the host's reason, "you left the session" or
"the connection was lost", never the channel's layers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import getpass
import importlib.util
import re
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from screencodec.cli.args import address, pixels, unusable_folder
from screencodec.cli.main import Exit
from screencodec.cli.progress import Progress, Receiving
from screencodec.cli.saving import again_words, finish_saving
from screencodec.cli.say import (
    SAY,
    VIEW_COMMANDS,
    Command,
    command,
    file_to_send,
    help_lines,
    said,
    unknown,
)
from screencodec.cli.terminal import (
    StatusLines,
    TypedLine,
    ending_signals,
    in_words,
    rtt_band,
    rtt_shown,
    signals_given_back,
    tell,
)
from screencodec.decoder import too_large
from screencodec.errors import (
    AccessRefusedError,
    AuthenticationError,
    ConsentDeniedError,
    ProtocolError,
    RefuseCode,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.geometry import Monitor
from screencodec.transport.channel.codes import (
    CODE_DIGITS,
    PASSWORD_LENGTH,
    normalize_password,
    parse_code,
)
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import CONTROL, VIEW
from screencodec.transport.session.sidechannels import (
    BEFORE_AN_ANSWER,
    NOT_READ,
    REFUSED_UNASKED,
    STOPPED_THERE_WHY,
    USER_SAID_NO,
)
from screencodec.transport.session.viewer import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from screencodec.transport.session.refusal import Refusal
    from screencodec.transport.session.viewer import Viewer
    from screencodec.web.bridge import WebBridge

__all__ = ["register"]

T = TypeVar("T")


#: The exit statuses, as ``--help`` lists them (cli.main.Exit, docs/cli.md).
EXIT_STATUS = (
    "exit status: 0 the session ended (you left, or the host ended it); 1 an error (could"
    " not connect, ...); 2 bad arguments; 3 refused (declined, no such session, ...); 4"
    " wrong password; 5 the connection was lost and not taken up again; 130 interrupted"
    " (docs/cli.md)")


def register(subparsers: Any, summary: str) -> None:
    """Add ``view`` to an argparse subparsers object."""
    v = subparsers.add_parser("view", help=summary, epilog=EXIT_STATUS)
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
    v.add_argument("--web", action="store_true",
                   help="watch and control in a browser page on this machine")  # fmt: skip
    v.add_argument("--web-port", type=int, default=0, metavar="N",
                   help="port of the page on 127.0.0.1 (default: a free one)")  # fmt: skip
    v.add_argument("--no-open", action="store_true",
                   help="only print the page's address, do not open a browser")  # fmt: skip
    v.add_argument("--download-dir", type=Path, metavar="DIR",
                   help="with --web: where files the user sends you are saved")  # fmt: skip
    v.add_argument("--max-pixels", type=pixels, default=DEFAULT_MAX_PIXELS, metavar="N",
                   help="the largest host screen shown, in pixels (default"
                        f" {DEFAULT_MAX_PIXELS}: an 8K screen, three 4K side by side);"
                        " a larger one ends the session, and is marked in the list of"
                        " the host's screens")  # fmt: skip
    v.set_defaults(func=run_view)


def _where(args: argparse.Namespace) -> str:
    if args.relay:
        return f"relay {args.relay[0]}:{args.relay[1]}"
    return f"{args.address[0]}:{args.address[1]}"


def _explain(exc: BaseException, args: argparse.Namespace) -> str:
    """A connection error in the words a support agent needs."""
    text = str(exc)
    kind = "relay" if args.relay else "host"
    refusal = _refusal(exc, args)
    if refusal is not None:
        return refusal
    if (
        text.startswith("frame of")
        or "is not a screencodec" in text
        or "unknown protocol version" in text
    ):
        # The peer's first bytes did not frame as ours: something else listens there.
        return f"{_where(args)} is not a screencodec {kind} (it answered in another protocol)"
    if text == "handshake timed out":
        return (
            f"no screencodec {kind} answered at {_where(args)} (handshake timed out): "
            "check the address and port"
        )
    # connect/accept.py words a refused TCP connection "cannot reach ...: [Errno 111] ...".
    if isinstance(exc, ConnectionRefusedError) or "[Errno 111]" in text:
        return f"nothing listens at {_where(args)} (connection refused)"
    return in_words(text)  # "[Errno -2] Name or service not known", say


#: "peer refused: CODE: detail", how framing.refusal_error words the refusals
#: that are not AccessRefusedError (MALFORMED, BAD_VERSION, BUSY, TIMEOUT).
_PEER_REFUSED = re.compile(r"peer refused: ([A-Z_]+): (.*)", re.DOTALL)


def _refusal(exc: BaseException, args: argparse.Namespace) -> str | None:
    """A host's or relay's refusal in plain words, without its protocol code
    (None if ``exc`` is no refusal). The peer's own words, where shown, are
    its choice: they pass through safe_text."""
    if isinstance(exc, AccessRefusedError):
        if exc.code == RefuseCode.UNKNOWN_SESSION:
            return f"no session with that code at {_where(args)}: check the 9-digit code"
        if exc.code == RefuseCode.SESSION_ENDED:
            return "that session has ended: ask the host's user for a new code and password"
        return f"access refused: {safe_text(str(exc).removeprefix(exc.code.name + ': '))}"
    found = _PEER_REFUSED.fullmatch(str(exc))
    if found is None:
        return None
    name, detail = found.groups()
    where = f"{args.relay[0]}:{args.relay[1]}" if args.relay else _where(args)
    # The relay's and the host's words for a first frame of the other kind.
    if name == "MALFORMED" and not args.relay and "relay client" in detail:
        return f"{where} is a relay, not a host: use --relay {where}"
    if name == "MALFORMED" and args.relay and "expected a hello" in detail:
        return f"{where} is a host, not a relay: give it without --relay"
    return f"{_where(args)} refused the connection: {safe_text(detail)}"


async def _open(args: argparse.Namespace, password: str) -> Any:
    """A sealed channel to the host, directly or through the relay."""
    from screencodec.transport.connect import connect_direct, connect_via_relay

    if args.relay:
        return await connect_via_relay(args.relay[0], args.relay[1], args.code, password)
    return await connect_direct(args.address[0], args.address[1], args.code, password)


async def _connect(args: argparse.Namespace, password: str) -> Any:
    try:
        return await _open(args, password)
    except (ScreencodecError, OSError) as exc:
        error = _ViewError(_explain(exc, args), exit_status(exc))
        # Its errno kept: the web viewer's reconnect tells a refusal (the
        # host's program gone) by it; without, it retried for the whole 60 s
        # and said "reconnecting failed: nothing listens ...". And the error
        # itself: by it, the reconnect gives up on what a retry cannot mend
        # (a wrong password, a session ended: ends36) and says how a session
        # ended (connect/reconnect.py).
        error.errno = getattr(exc, "errno", None)
        error.explains = exc
        raise error from exc


class _ViewError(ScreencodecError, ConnectionError):
    """A connection failure, already explained for the user; ``status``,
    the exit status it stands for."""

    def __init__(self, message: str, status: Exit = Exit.ERROR) -> None:
        super().__init__(message)
        self.status = status
        #: The error it explains, if any (connect/reconnect.py judges by it).
        self.explains: BaseException | None = None


#: Refusals that say the password was wrong (the handshake's, and a host
#: whose password was changed meanwhile).
_WRONG_PASSWORD = frozenset({RefuseCode.AUTH_FAILED, RefuseCode.PASSWORD_INVALIDATED})


def exit_status(exc: BaseException) -> Exit:
    """The exit status of a viewer that ``exc`` ended: REFUSED for the host's
    user's no and the host's or relay's refusals, WRONG_PASSWORD, else
    ERROR (nothing to connect to, a protocol error, ...)."""
    if isinstance(exc, _ViewError):
        return exc.status
    if isinstance(exc, ConsentDeniedError):
        return Exit.REFUSED
    if isinstance(exc, AccessRefusedError):
        return Exit.WRONG_PASSWORD if exc.code in _WRONG_PASSWORD else Exit.REFUSED
    if isinstance(exc, AuthenticationError):  # the handshake's "wrong session password"
        return Exit.WRONG_PASSWORD
    found = _PEER_REFUSED.fullmatch(str(exc))
    if found is not None and found[1] == RefuseCode.BUSY.name:
        return Exit.REFUSED
    return Exit.ERROR


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
    )  # fmt: skip
    web = WebViewer(lambda: _connect(args, password), options)
    # Ctrl-C, SIGTERM, SIGHUP and --duration leave as the page's Leave button
    # does: the host gets the agent's Bye, the page its ended banner.
    with _leave_on_signals() as left:
        try:
            run = asyncio.ensure_future(web.run())
            ended, reason = await _unless_left(run, left, args.duration)
            if not ended:
                leaving = web.viewer
                web.leave()
                reason = await run if leaving is None else await _saved_first(run, leaving, left)
                if not left.is_set() and web.viewer is None:  # --duration passed
                    raise _ViewError("no page opened the viewer link in time")
                if reason == LEFT_HERE:  # Ctrl-C, SIGTERM, SIGHUP: not the page's Leave
                    reason = LEFT
        except OSError as exc:
            if web.url or isinstance(exc, ScreencodecError):
                raise
            # The page's own socket could not be opened (--web-port taken, say).
            port = f"port {args.web_port}" if args.web_port else "a port"
            why = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise _ViewError(f"cannot serve the page on 127.0.0.1 {port}: {why}") from exc
        hint = _over_limit_hint(str(reason), args.max_pixels, web=True)
        lost = web.viewer is not None and web.viewer.link_lost
        turned_away = _web_not_back_in(str(reason))
        if turned_away is not None:  # asked again after a lost link, and no
            lost, reason = False, turned_away
        elif lost:
            lost = not _web_ended_away(str(reason))
            reason = _web_not_taken_up(str(reason))
        tell(ended_words(_yours(str(reason), LEFT_HERE)) + hint)
    # A lost link the page's viewer could not take up again leaves it lost.
    return Exit.REFUSED if turned_away is not None else _end_status(hint, lost=lost)


async def _saved_first(run: Awaitable[T], viewer: Viewer, left: _Left) -> T:
    """``run``, the session being left, once the files the host's user sent
    whose end came are saved (it waits for them), said as the host says it
    (cli/saving.py): which files it waits for, at once, then each one's
    outcome; a Ctrl-C more leaves without them (otherwise it interrupts at
    once, as ever), and so does the SIGTERM or SIGHUP that made it leave,
    sent again (a service manager has no Ctrl-C to press)."""
    files = viewer.files
    again = asyncio.Event()
    stopped_by = left.signals[0] if left.signals else None
    with _again_on_ctrl_c(again, files.saving), _again_on_ending_signals(again, files.saving, left):
        return await finish_saving(run, files.saving, files.give_up, again=again, say=tell,
                                   sender=lambda f: "the host", outcomes=viewer.events(),
                                   leave=lambda: again_words(stopped_by))  # fmt: skip


@contextlib.contextmanager
def _again_on_ending_signals(
    again: asyncio.Event, saving: Callable[[], list[Any]], left: _Left
) -> Iterator[None]:
    """While inside, SIGTERM or SIGHUP while ``saving()`` has files sets
    ``again``; after, they leave as :func:`_leave_on_signals` made them."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []

    def received(sig: int) -> None:
        if saving():
            again.set()
        else:
            left.stop(sig)

    try:
        for sig in ending_signals():
            loop.add_signal_handler(sig, received, sig)
            installed.append(sig)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        pass
    try:
        yield
    finally:
        for sig in installed:
            loop.add_signal_handler(sig, left.stop, sig)


@contextlib.contextmanager
def _again_on_ctrl_c(again: asyncio.Event, saving: Callable[[], list[Any]]) -> Iterator[None]:
    """While inside, a Ctrl-C while ``saving()`` has files sets ``again``;
    else it does what it did before (the handler in place: asyncio's
    interrupts the program at once)."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT) or signal.default_int_handler

    def interrupted(signum: int, frame: Any) -> None:
        if saving():
            loop.call_soon_threadsafe(again.set)
        elif callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, interrupted)
    except ValueError:  # not the main thread: as before
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _not_taken_up(reason: str, why: str | None) -> str:
    """Why a session whose link was lost (``reason``) ended, once it could
    not be taken up again: the host's machine refused (``why`` None: its
    program has stopped), or reconnecting failed (``why``, explained)."""
    if why is None:
        return f"{_plain(reason)}, and the host no longer answers (its program has stopped)"
    return f"{_plain(reason)}; could not reconnect: {why}"


#: How WebViewer.run (web/run.py) ends a lost link not taken up again:
#: ``LOST (its program has stopped)`` or ``LOST (reconnecting failed: WHY)``.
_WEB_GONE = " (its program has stopped)"
_WEB_FAILED = " (reconnecting failed: "


def _web_ended_away(reason: str) -> bool:
    """Whether the web viewer's reason for a lost link says the session
    ended while the agent was away (web/run.AWAY): it ends ENDED, not LOST,
    as :func:`_ended_meanwhile`'s (ends36: exit status 5)."""
    from screencodec.web.run import AWAY

    return any(reason.endswith(suffix) for suffix in AWAY.values())


def _web_not_back_in(reason: str) -> str | None:
    """The terminal's words for the web viewer's reason when, reconnected
    after a lost link, the host's user asked again did not let it back in
    (web/run.NOT_BACK_IN): as :func:`_rejoin` says it; None for any other."""
    from screencodec.transport.connect.reconnect import not_let_back_in
    from screencodec.web.run import NOT_BACK_IN

    lost, back, why = reason.partition(NOT_BACK_IN)
    if not back or not why.endswith(")"):
        return None
    return f"{_plain(lost)}, and {not_let_back_in(why[:-1])}"


def _web_not_taken_up(reason: str) -> str:
    """The web viewer's reason for a lost link it could not take up again in
    the words ``view`` uses (:func:`_not_taken_up`, :func:`_ended_meanwhile`):
    it printed the layers nested, ``the connection was lost (the peer closed
    the connection (reconnecting failed: ...))``. Other reasons as they are."""
    from screencodec.web.run import AWAY

    if reason.endswith(_WEB_GONE):
        return _not_taken_up(reason.removesuffix(_WEB_GONE), None)
    for how, suffix in AWAY.items():
        if reason.endswith(suffix):
            return f"{_plain(reason.removesuffix(suffix))}, and {_AWAY_WORDS[how.value]}"
    lost, failed, why = reason.partition(_WEB_FAILED)
    if failed and why.endswith(")"):
        return _not_taken_up(lost, why[:-1])
    return reason


#: How a session this side left is told (Ctrl-C, --duration).
LEFT = "you left the session"
#: How the page's Leave button is told on the agent's terminal.
LEFT_IN_PAGE = "you left the session (Leave in the web page)"


def _yours(reason: str, left_here: str) -> str:
    """The web viewer's reasons for its own leaving ("the agent left the
    session", what the host reads) in the words of the agent's own terminal:
    the agent did it, so "you" did (it read "the agent left the session"
    after Leave in the page, and "you left the session" after Ctrl-C)."""
    if reason == left_here:
        return LEFT_IN_PAGE
    return re.sub(r"^the agent closed ", "you closed ", reason)
#: The host's own goodbyes (session/host.py, link.py) in the agent's words.
_HOST_WORDS = {
    "host ended": "the host ended the session",
    "the local user stopped sharing": "the host's user stopped sharing the screen",
    "closed locally": "the host closed the connection",
}


def ended_words(reason: str) -> str:
    """The line that says why a session ended (``Viewer.run``'s reason, or
    the web viewer's), ``session ended: WHY``, WHY in plain words: without
    the channel's layers ("channel closed: closed by peer: ..."), the host's
    own words kept, through safe_text. The web viewer's reasons for its own
    leaving are the agent's own actions: "you left the session ..." (see
    :func:`_yours`)."""
    return f"session ended: {_plain(reason)}"


#: How a lost link is told (:func:`_plain`; connect/reconnect.LOST_WORDS).
_LOST = "the connection was lost"


#: An idle close's words (channel/sealed.SILENCE, "nothing received for N s
#: (peer gone)"): whose they are says which way nothing came.
_IDLE_CLOSE = re.compile(r"nothing received for (\S+) s \(peer gone\)")


def _plain(reason: str) -> str:
    if reason in (LEFT, "channel closed: closed locally"):
        return LEFT
    silent = _IDLE_CLOSE.fullmatch(reason.removeprefix("channel closed: "))
    if silent is not None:  # this side's: the host said nothing for so long
        return f"{_LOST} (nothing came from the host for {silent[1]} s)"
    silent = _IDLE_CLOSE.fullmatch(reason.removeprefix("channel closed: closed by peer: "))
    if silent is not None:  # the host's: it heard nothing from this side
        return f"{_LOST} (the host heard nothing from this computer for {silent[1]} s)"
    for layer in ("host said bye: ", "channel closed: closed by peer: "):
        if reason.startswith(layer):
            why = reason.removeprefix(layer)
            return safe_text(_HOST_WORDS.get(why, why), 200) or "the host ended the session"
    if reason.startswith("channel closed: "):
        why = reason.removeprefix("channel closed: ")
        if why in ("the peer closed the connection", "the connection is gone") or why.startswith(
            "the connection broke"
        ):
            return _LOST
        return f"{_LOST} ({safe_text(why, 200)})"
    return safe_text(reason, 200)


def _end_status(hint: str, *, lost: bool) -> Exit:
    """The exit status of a session that was joined and has ended: LOST when
    its link was lost and not taken up again, ERROR when this viewer ended
    it over --max-pixels (``hint``, :func:`_over_limit_hint`'s, is then
    not empty), else ENDED (the agent left, or the host ended it)."""
    if lost:
        return Exit.LOST
    return Exit.ERROR if hint else Exit.ENDED


class _Left(asyncio.Event):
    """Set when the agent leaves by a signal; ``signals``: those received."""

    def __init__(self) -> None:
        super().__init__()
        self.signals: list[int] = []

    def stop(self, sig: int) -> None:
        self.signals.append(sig)
        self.set()


@contextlib.contextmanager
def _leave_on_signals() -> Iterator[_Left]:
    """While inside, the first Ctrl-C (SIGINT), SIGTERM and SIGHUP set the
    event instead of ending the program: the session is then left like
    ``--duration`` leaves it (the host gets a Bye, the snapshot is still
    written). A second Ctrl-C interrupts at once; SIGTERM and SIGHUP again
    change nothing (the session is being left already), unless a file is
    being saved (:func:`_saved_first`). After, SIGTERM and SIGHUP have the
    handler they had before (:func:`_given_back`), and Ctrl-C is ignored:
    the command has ended (its end line told), and one pressed while the
    program exits must not change its status (asyncio's handler, given
    back, made it 130 after a session the host had ended in order: the
    agent's Ctrl-C at its end line). :func:`run_view` gives it back the
    handler from before the command once the terminal is put back."""
    left = _Left()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    ending = ending_signals()  # SIGTERM and SIGHUP, unless ignored (started under nohup)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *ending)}

    def first() -> None:
        left.stop(signal.SIGINT)
        installed.remove(signal.SIGINT)
        _given_back(loop, signal.SIGINT, previous[signal.SIGINT])

    try:
        loop.add_signal_handler(signal.SIGINT, first)
        installed.append(signal.SIGINT)
        for sig in ending:
            loop.add_signal_handler(sig, left.stop, sig)
            installed.append(sig)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        pass
    try:
        yield left
    finally:
        _ctrl_c_ignored(loop, mine=signal.SIGINT in installed)
        for sig in installed:
            if sig != signal.SIGINT:
                _given_back(loop, sig, previous[sig])


def _ctrl_c_ignored(loop: asyncio.AbstractEventLoop, *, mine: bool) -> None:
    """Ctrl-C ignored from now on, this command's handler (``mine``) taken
    off ``loop`` first. Not the handler before it meanwhile, even for a
    moment: asyncio's then cancelled the command that had ended, Python's
    raised KeyboardInterrupt, either an exit status 130 (1 run in 30 of a
    Ctrl-C sent as the end line was read). Taking the loop's off puts
    Python's back until the next line: a Ctrl-C there is ignored too."""
    try:
        if mine:
            loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _given_back(loop: asyncio.AbstractEventLoop, sig: int, previous: Any) -> None:
    """Take this command's handler of ``sig`` off ``loop`` and put back
    ``previous``, the one before it (:func:`signal.getsignal`'s). The loop
    alone would leave the default (SIG_DFL): a program that runs this
    command inside it then died of its next SIGTERM, its own handler
    never called. None: the handler before was not set from Python; the
    default is the best guess."""
    loop.remove_signal_handler(sig)
    if previous is not None:
        signal.signal(sig, previous)


async def _unless_left(aw: Awaitable[T], left: asyncio.Event, timeout: float | None = None,
                       *, cancel: bool = False) -> tuple[bool, T | None]:  # fmt: skip
    """``(True, result)`` once ``aw`` is done, or ``(False, None)`` when the
    person left (or ``timeout`` passed) first; ``aw`` keeps running then,
    unless ``cancel`` (it is then cancelled and waited for)."""
    task = asyncio.ensure_future(aw)
    leaving = asyncio.ensure_future(left.wait())
    try:
        await asyncio.wait({task, leaving}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        leaving.cancel()
        # Python 3.11's wait_for drops a cancellation that meets its inner
        # future's result (a TCP connect completing as SIGTERM came): it
        # then went on with the handshake for its 10 s. So ask again.
        while cancel and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.2)
    if task.done() and not task.cancelled():
        return True, task.result()
    return False, None


def _typed_lines(line: TypedLine | None) -> asyncio.Queue[str]:
    """The lines typed (not blank), read by a daemon thread (a waiting read
    must not keep the process alive); one reader for the whole run,
    whichever connection the session is on. ``line``: on a terminal, the
    line being typed, kept whole while other lines print."""
    loop = asyncio.get_running_loop()
    typed: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            for text in iter(line.readline, "") if line is not None else sys.stdin:
                if text.strip():
                    loop.call_soon_threadsafe(typed.put_nowait, text)

    threading.Thread(target=read, name="view-terminal", daemon=True).start()
    return typed


async def _chat(viewer: Any, screens: _Screens, typed: asyncio.Queue[str],
                held: list[str], events: Any) -> None:  # fmt: skip
    """Show the host's chat (the viewer passed it through safe_text) and carry
    out the lines typed: ``/say TEXT`` is sent, ``/send PATH`` offers a file
    (:class:`_Sending`), ``/monitor N`` switches screens (``screens``),
    ``/help`` lists the commands, and any other line is answered with one
    line saying it was not sent and how to write (it was dropped without a
    word: an agent typing "hello" saw nothing happen). ``typed``: the lines
    (:func:`_typed_lines`). ``held``: chat typed while the link was down
    (:class:`_Conversation`), sent first, in order; a line that cannot be
    sent (the session is ending, or its link broke) is put back there.
    ``events``: the viewer's, subscribed before its run reads a message."""
    from screencodec.transport.session.chat import DELIVERED, SENT, ChatBacklogError
    from screencodec.transport.session.events import (
        ChatDelivery,
        ChatReceived,
        FileRefused,
        PermissionChanged,
        SessionRejoined,
    )

    async def shown() -> None:
        had = viewer.level
        async for ev in events:
            if isinstance(ev, ChatReceived):
                print(f"host says: {ev.text}", flush=True)
            elif isinstance(ev, ChatDelivery) and ev.state == DELIVERED:
                for text in ev.texts:  # the host's program has it (and shows it)
                    print(f"delivered: {safe_text(text, _MARKED)}", flush=True)
            elif isinstance(ev, ChatDelivery) and ev.state == SENT and ev.first == 1:
                print(OLD_HOST_CHAT, flush=True)  # once: every line of it is only sent
            elif isinstance(ev, PermissionChanged):
                # Not when VIEW went too: the session ends (Permission.taking
                # takes the whole level then), nothing is left to watch.
                if CONTROL in had and CONTROL not in ev.level and VIEW in ev.level:
                    print(TAKEN_BACK, flush=True)
                had = ev.level
            elif isinstance(ev, SessionRejoined):  # after a lost link: what the host took up
                tell(ev.describe(viewer.level))
            elif isinstance(ev, FileRefused):
                print(f"the host's user offered {safe_text(ev.name, 100)!r} ({amount(ev.size)}):"
                      f" not received, {safe_text(ev.why, 100)} (screencodec view --web"
                      " --download-dir DIR receives files)", flush=True)  # fmt: skip

    printer = asyncio.ensure_future(shown())
    sending = _Sending(viewer)
    try:
        while True:
            if not held:
                line = await typed.get()
                text = said(line)
                if text is None:
                    await _command(line, sending, screens)
                    continue
                if not text:
                    continue  # a bare /say: nothing to send
                held.append(text)
            text = held[0]
            try:
                await viewer.chat(text)  # kept by the viewer until the host confirms it
            except ChatBacklogError as exc:
                held.pop(0)
                print(f"(not sent: {exc}): {safe_text(text, 1000)}", flush=True)
                continue
            except ScreencodecError:
                return  # the session is ending, or its link broke: the line stays held
            held.pop(0)
            print(f"you said: {safe_text(text, 1000)}", flush=True)
    except ScreencodecError:
        return  # the session is ending (a /monitor could not be sent)
    finally:
        printer.cancel()
        sending.cancel()
        events.close()


async def _command(line: str, sending: _Sending, screens: _Screens) -> None:
    """Carry out a typed line that is not chat: ``/send``, ``/monitor``, or
    the answer of :func:`_not_chat`."""
    typed = command(line)
    if typed is not None and typed.name == "send":
        sending.start(typed.arg)
    elif typed is not None and typed.name == "monitor":
        await screens.select(typed.arg)
    else:
        tell(_not_chat(line))


class _Sending:
    """The files the agent offers with ``/send PATH``, each in a task of its
    own (the host's user may take a minute to answer, and chat goes on
    meanwhile): one line when it is offered, one with what became of it
    (the :class:`~screencodec.transport.session.events.FileSent` the
    viewer's sender returns), or one saying why it was not offered."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, arg: str) -> None:
        path = file_to_send(arg)
        if isinstance(path, str):
            tell(path)
            return
        task = asyncio.ensure_future(self._offer(path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _offer(self, path: Path) -> None:
        name = safe_text(path.name, 200)
        size, arrived = 0, -1  # arrived: what the host said it has of it (one that paces)

        def has(received: int) -> None:
            nonlocal arrived
            arrived = received

        try:
            size = path.stat().st_size
            tell(f"offering {name} ({amount(size)}) to the host's user, who is asked whether"
                 " to accept it")  # fmt: skip
            progress = Progress(f"sending {name} to the host", size)
            loop = asyncio.get_running_loop()

            def sending(done: int, _size: int) -> None:
                said = progress.line(done, loop.time())
                if said is not None:
                    tell(said)

            sent = await self.viewer.sender.send(path, on_sending=sending, on_arrived=has)
        except asyncio.CancelledError:
            if self.viewer.link_lost:  # the terminal stops this session's offers
                tell(f"(not sent: {name}: {FILE_NOT_NOW})")
            raise
        except SessionClosedError:
            tell(f"(not sent: {name}: {self._ended_words(arrived, size)})")
            return
        except (ScreencodecError, OSError) as exc:  # the file went away meanwhile, say
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            tell(f"(not sent: {name}: {safe_text(why, 200).lower()})")
            return
        tell(_sent_words(name, sent.size, sent.outcome, sent.why, lost=self._lost(),
                         current=self.viewer.host_gives_reasons))  # fmt: skip

    def _ended_words(self, arrived: int, size: int) -> str:
        """Why a file being offered or sent did not go whole: the link was
        lost (send it again once back), or the host ended the session (its
        Bye came), or the session ended; and how much of it the host said
        had arrived (``arrived`` >= 0: a host that paces files says), and
        that none of it was kept: the host removes a file cut short, as this
        side's host says of one coming the other way (walk35: the agent was
        left unsure whether the host kept what had arrived)."""
        if self._lost():
            return FILE_NOT_NOW
        end = ("the host ended the session" if self.viewer.host_bye is not None
               else "the session ended")  # fmt: skip
        if arrived < 0:
            return end
        return f"{end}, {amount(arrived)} of {amount(size)} had arrived; {NOTHING_KEPT}"

    def _lost(self) -> bool:
        """Whether the session's link broke (it may be taken up again)."""
        return self.viewer.link_lost or bool(getattr(self.viewer.channel, "broken", False))


def _sent_words(name: str, size: int, outcome: str, why: str, *, lost: bool = False,
                current: bool = False) -> str:  # fmt: skip
    """What became of a file the agent sent, in words (``outcome`` and
    ``why``: FileSent's; ``why`` is the host's, through safe_text, or the
    sender's own when the session ended first). ``lost``: the session's
    link broke, and the session may go on: it is not said to have ended.
    ``current``: the host says why it refuses a file unasked (a code), so
    a no without one is its user's (``Viewer.host_gives_reasons``); only to a
    host of the version before is a no also maybe "it takes no files"."""
    if outcome == "delivered":
        return f"delivered {name} ({amount(size)}): the host saved it"
    if outcome == "failed" and lost and why == _SENDER_ENDED:
        return f"(not sent whole: {name}: {FILE_NOT_NOW})"
    if outcome == "failed" and why.startswith(NOT_READ):  # this side's fault, not the host's
        reason = safe_text(why[len(NOT_READ):], 200) or "no reason given"
        return f"(not sent whole: {name}: it could not be read here: {reason})"
    if outcome == "failed" and why == STOPPED_THERE_WHY:  # its user stopped it (rstop36)
        return (f"the host's user stopped receiving {name} ({amount(size)}); nothing of it"
                " was kept there")  # fmt: skip
    if outcome == "failed":  # accepted, then not saved (its folder gone, a full disk)
        return f"the host could not save {name}: {safe_text(why, 200) or 'no reason given'}"
    if outcome == "unconfirmed" and why:  # the session ended before the host's word
        end = "the connection to the host was lost" if lost else "the session ended"
        return (f"sent {name} ({amount(size)}) to the host, but {end} before it said whether"
                " it saved it")  # fmt: skip
    if outcome == "unconfirmed":  # a host of a version that does not report results
        return f"sent {name} ({amount(size)}) to the host (it does not say whether it saved it)"
    if outcome == "declined" and why.endswith(BEFORE_AN_ANSWER):  # the end came first
        if lost:
            return f"(not sent: {name}: {FILE_NOT_NOW})"
        return f"(not sent: {name}: the session ended before the host's user answered)"
    if outcome == "declined" and why.startswith(REFUSED_UNASKED):  # the host said why (a code)
        return f"the host did not accept {name}: {why[len(REFUSED_UNASKED):]}"
    if outcome == "declined" and current:  # no code: its user said no (or let it go by)
        return f"the host did not accept {name}: {USER_SAID_NO}"
    return (f"the host did not accept {name}: {USER_SAID_NO}, or the host takes no files (or"
            " none this large)")  # fmt: skip


#: Why the sender fails a file it had not sent whole when its session ends
#: (FileSender.close).
_SENDER_ENDED = "the session ended"


#: The most rows of the host's screen list printed (the wire allows 64).
_SCREENS_SHOWN = 16


class _Screens:
    """The host's screens in the agent's terminal: listed when the host has
    more than one (its MonitorList, only numbers), each whose picture is
    over the viewer's ``max_pixels`` marked "too large for this viewer";
    a switch the host made is one line. ``/monitor N`` (:meth:`select`)
    asks the host for screen N, unless the terminal can say at once why
    not: no such screen, the one shown, or one too large (the host would
    switch, and the session end on its first picture)."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self._told: tuple[tuple[Monitor, ...], int] | None = None

    def seen(self, msg: m.Message) -> None:
        """A message from the host (the viewer's ``on_message``)."""
        if not isinstance(msg, m.MonitorList):
            return
        told, self._told = self._told, (msg.monitors, msg.current)
        if sum(mon.index != 0 for mon in msg.monitors) < 2:
            return  # nothing to choose from
        if told is not None and told[0] == msg.monitors:
            if told[1] != msg.current:
                tell(f"now watching {self._name(msg.current)}")
            return
        tell(self._listed(msg.monitors, msg.current))

    def _listed(self, monitors: tuple[Monitor, ...], current: int) -> str:
        lines = [f"the host has {sum(mon.index != 0 for mon in monitors)} screens;"
                 " type /monitor N to watch screen N:"]  # fmt: skip
        for mon in monitors[:_SCREENS_SHOWN]:
            what = "all screens, " if mon.index == 0 else ""
            notes = [*(["primary"] if mon.primary else []),
                     *(["watching"] if mon.index == current else []),
                     *(["too large for this viewer"] if self._too_large(mon) else [])]
            noted = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"  {mon.index}: {what}{mon.width}x{mon.height}{noted}")
        if len(monitors) > _SCREENS_SHOWN:
            lines.append(f"  ... and {len(monitors) - _SCREENS_SHOWN} more")
        if any(self._too_large(mon) for mon in monitors):
            lines.append(f"(a screen too large for this viewer is over its limit of"
                         f" {self.viewer.max_pixels} pixels: --max-pixels sets it)")
        return "\n".join(lines)

    def _too_large(self, mon: Monitor) -> bool:
        return too_large(mon.width, mon.height, self.viewer.max_pixels) is not None

    def _monitor(self, index: int) -> Monitor | None:
        return next((mon for mon in self.viewer.monitors if mon.index == index), None)

    def _name(self, index: int) -> str:
        """``screen N (WxH)``, or ``all screens (WxH)`` for 0."""
        mon = self._monitor(index)
        size = "" if mon is None else f" ({mon.width}x{mon.height})"
        return f"{'all screens' if index == 0 else f'screen {index}'}{size}"

    async def select(self, arg: str) -> None:
        """``/monitor ARG``: ask the host for screen ARG, or say why not."""
        if not (arg.isascii() and arg.isdigit()):
            tell("(usage: /monitor N: N is the number of one of the host's screens, 0 for all)")
            return
        index = int(arg)
        mon = self._monitor(index)
        if mon is None:
            numbers = ", ".join(str(x.index) for x in self.viewer.monitors) or "none listed yet"
            tell(f"(not switched: the host has no screen {index}; its screens: {numbers})")
        elif index == self.viewer.monitor:
            tell(f"(you are watching {self._name(index)} already)")
        elif self._too_large(mon):
            tell(f"(not switched: {self._name(index)} is too large for this viewer, over"
                 f" its limit of {self.viewer.max_pixels} pixels;"
                 f" {_watch_it(mon.width * mon.height)})")  # fmt: skip
        else:
            await self.viewer.select_monitor(index)
            tell(f"asked the host for {self._name(index)}")


def _not_chat(line: str) -> str:
    """The answer to a typed line that is not ``/say TEXT``, ``/send`` or
    ``/monitor``."""
    typed: Command | None = command(line)
    if typed is not None and typed.name == "help":
        return help_lines(VIEW_COMMANDS)
    if typed is not None:
        return unknown(typed)
    return f"(not sent: to write to the host's user, type {SAY} and your message)"


#: Told with a grant of CONTROL in the terminal, which sends no input: the
#: host's user said yes to a mouse and keyboard the agent could not find.
NO_INPUT_HERE = ("(this terminal sends no input: to use the host's mouse and keyboard,"
                 " run screencodec view with --web)")
#: Told once when ``--control`` is asked for, before the answer (the host's
#: user may take up to its question's timeout): walk35 saw nothing printed
#: meanwhile, a question on the host's screen not told from a hung view.
CONTROL_ASKED = "asked for control: waiting for the host's user's answer..."
#: Told when the host takes CONTROL back (its user's /view, its revoke).
TAKEN_BACK = "the host's user took back control: you can only watch now"
#: Told when the agent's page gave CONTROL back (its button, or the page went away).
GIVEN_BACK = "you gave control back: you can only watch now"


def _tell_control(viewer: Viewer, bridge: WebBridge) -> None:
    """With ``--web``: print the terminal viewer's lines when CONTROL comes
    and goes, whoever asked for it (``--control`` or the page's button): the
    host's grant, its refusal (once the request's answer is known: by the
    host's user, or by the host unasked with its reason, or no answer), its
    taking control back, or the page's own give-back (the bridge holds
    control back until the host's answer: read before its own
    ``on_message``, which this wraps, clears it)."""
    page = viewer.on_message
    had = CONTROL in viewer.level
    # A refusal is known only when the bridge's request returns (Viewer.refusal
    # matches it to the host's answer and notice); a grant is told by its
    # message below, as the terminal viewer tells both.
    bridge.on_refused = lambda refusal: tell(_control_answer(False, refusal))

    def seen(msg: m.Message) -> None:
        nonlocal had
        given_back = bridge.held_back  # the bridge clears it on the host's answer
        if page is not None:
            page(msg)
        has = CONTROL in viewer.level  # the viewer applied the message before this call
        if isinstance(msg, m.PermissionGrant) and has and not had:
            tell(_control_answer(True, None))
        elif isinstance(msg, m.PermissionRevoke) and had and not has:
            tell(GIVEN_BACK if given_back else TAKEN_BACK)
        had = has

    viewer.on_message = seen


def _control_answer(granted: bool, refusal: Refusal | None) -> str:
    """The answer to ``--control`` in words (``refusal``: the viewer's)."""
    if granted:
        return "control granted"
    if refusal is None:
        return "control not granted: the host did not answer"
    if refusal.by_user:
        return "control refused by the host's user"
    return (f"control refused (the host's user was not asked): "
            f"{safe_text(refusal.reason, 200)}")  # fmt: skip


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
        _, channel = await _unless_left(_connect(args, password), left, cancel=True)
        if channel is None:
            return _left_before_joining(args)
        viewer = Viewer(channel, who=args.name, max_pixels=args.max_pixels)
        # The password is proven; the host now asks its user. It does not say
        # for how long (its --consent-timeout), so no number is shown.
        print("waiting for the host's user to accept...", flush=True)
        joined, level = await _unless_left(viewer.start(VIEW), left, cancel=True)
        if not joined:
            with contextlib.suppress(ScreencodecError, OSError):
                await viewer.bye("the agent left the session")
            return _left_before_joining(args)
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
            asked = asyncio.ensure_future(viewer.request(CONTROL))
            print(CONTROL_ASKED, flush=True)
            answered, granted = await _unless_left(asked, left)
            if answered:
                print(_control_answer(bool(granted), viewer.refusal), flush=True)
                if granted:
                    tell(NO_INPUT_HERE)
            else:
                asked.cancel()

        earlier = _Earlier()  # the links of this session before the present one

        async def ticker() -> None:
            status, silence = StatusLines(), _Silence()
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
                for news in (None if woke_late else silence.line(chat.viewer, chat.away, now),
                             _status(chat.viewer, status, now, earlier, away=chat.away),
                             *receiving.lines(chat.viewer.files.receiving(), now)):  # fmt: skip
                    if news is not None:
                        tell(news)

        tick = asyncio.ensure_future(ticker())
        turned_away = False  # asked again after a lost link, and not let back in
        try:
            while True:
                reason = await _watch(viewer, running, left, until)
                # A lost link (no Bye: the agent's network, a relay restarting)
                # is taken up again, the host's user not asked again
                # (transport/session/resume.py).
                if not (viewer.link_lost and viewer.resume_ticket is not None):
                    # A host of a version that gives no ticket, or a link
                    # broken under a read (_watch's words for it).
                    lost = viewer.link_lost or _plain(reason).startswith(_LOST)
                    break
                chat.reconnecting()
                again = await _rejoin(args, password, viewer, reason, left)
                if isinstance(again, _Over):
                    reason, lost, turned_away = again
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
    return Exit.REFUSED if turned_away else _end_status(hint, lost=lost)


async def _watch(viewer: Viewer, task: asyncio.Future[str], left: asyncio.Event,
                 until: float | None) -> str:  # fmt: skip
    """Wait for the joined session (``task``: its ``viewer.run()``) to end,
    the person to leave or ``until`` (``--duration``) to pass; returns why
    it ended."""
    timeout = None if until is None else max(0.0, until - time.monotonic())
    try:
        ended, reason = await _unless_left(task, left, timeout)
        if not ended:  # --duration passed, Ctrl-C, SIGTERM or SIGHUP
            await viewer.bye("the agent left the session")
            await task
            return LEFT
    except ProtocolError:
        raise
    except TransportError as exc:  # the connection broke under a read
        return f"channel closed: {exc}"
    return str(reason)


#: What the terminal says of a line never sent (the host's program never had it).
NOT_DELIVERED = "NOT delivered, the session ended"
#: ... of a line sent on a link that ended before the host confirmed it: it
#: may have arrived, its confirmation lost.
NOT_CONFIRMED = "not confirmed, the session ended"
#: ... once, of a host that confirms no chat (a version before chat delivery).
OLD_HOST_CHAT = "(sent: this host's version does not confirm that chat arrives)"
_MARKED = 80  # characters of a line shown again when it is marked delivered

#: How long a lost link is retried: the host keeps a lost session this long
#: by default (HostConfig.resume_window).
RESUME_WITHIN = 60.0


def _rejoin_words(exc: BaseException, args: argparse.Namespace) -> str:
    """Why taking a lost link up again failed, from its last attempt: what
    the relay said of the session's host, if it knew it ("the host has not
    been heard from for 58 s; its connection to the relay was lost", as the
    "still reconnecting" lines and the web page say it), else as a first
    connection's error is explained. The relay's "no such session" of a
    session it paired this agent with before is no typing mistake: "check
    the 9-digit code", which a first connection is told, was wrong here."""
    from screencodec.transport.connect.reconnect import attempt_words

    if (isinstance(exc, AccessRefusedError) and exc.code == RefuseCode.UNKNOWN_SESSION
            and attempt_words(exc, RESUME_WITHIN) != _NO_SUCH_SESSION):  # fmt: skip
        return attempt_words(exc, RESUME_WITHIN)
    return _explain(exc, args)


#: A relay's words for a code it knows nothing of (relay/server.py _unknown).
_NO_SUCH_SESSION = "no such session code"


class _Over(NamedTuple):
    """Why a session whose link was lost ended after all (``reason``), and
    whether it ends lost (``lost``: exit status LOST) or not (the agent
    left, the host ended it meanwhile: ENDED)."""

    reason: str
    lost: bool
    #: The host's user, asked again, did not let the agent back in: REFUSED.
    refused: bool = False


def _ended_meanwhile(exc: BaseException, reason: str) -> _Over | None:
    """A refusal of a reconnection because the session has ended, in words
    (None for any other error): a relay that saw the host's program stop
    (its socket closed without a release) is told as a host reached
    directly whose program stopped, still lost; a host that ended it (a
    relay's "the host ended this session", a host's own refusal) ended it
    while the agent was away, as did one whose display went (the words of
    :data:`_AWAY_WORDS`). walk35: both read "could not reconnect: that
    session has ended: ask the host's user for a new code and password",
    exit status 5, so a script could not tell "the host ended it" from
    "lost"; ends36: a display gone read as the user's end."""
    from screencodec.transport.connect.reconnect import EndedAway, ended_while_away

    how = ended_while_away(exc)
    if how is None:
        return None
    if how is EndedAway.STOPPED:
        return _Over(_not_taken_up(reason, None), lost=True)
    return _Over(f"{_plain(reason)}, and {_AWAY_WORDS[how.value]}", lost=False)


#: How the terminal says the session ended while the agent was away
#: (connect/reconnect.EndedAway's values, not STOPPED's), after "the
#: connection was lost, and ".
_AWAY_WORDS = {
    "ended": "the host's user had ended the session while you were away",
    "display gone": "the host's X display was gone while you were away: its screen, mouse and"
                    " keyboard could no longer be used, and the host stopped",
}  # fmt: skip


async def _rejoin(args: argparse.Namespace, password: str, lost: Viewer, reason: str,
                  left: asyncio.Event) -> Viewer | _Over:  # fmt: skip
    """Connect again after a lost link and resume the session with its
    ticket; the new viewer, or why the session ended after all."""
    from screencodec.transport.connect.reconnect import (
        attempt_words,
        not_let_back_in,
        reconnect,
        reconnecting_line,
        refused,
    )
    from screencodec.transport.session.viewer import Viewer

    # Not "session ended: ...": the session goes on if the host takes it up again.
    tell(reconnecting_line(_plain(reason), RESUME_WITHIN))

    def tried(attempt: int, error: BaseException | None) -> None:
        if error is not None and attempt % 4 == 1:  # a line now and then, not one a second
            tell(f"still reconnecting: {attempt_words(error, RESUME_WITHIN)}")

    try:
        done, channel = await _unless_left(
            reconnect(lambda: _open(args, password), within=RESUME_WITHIN, on_attempt=tried,
                      refused_is_final=not args.relay),
            left, cancel=True)  # fmt: skip
    except (ScreencodecError, OSError, asyncio.TimeoutError) as exc:
        if not args.relay and refused(exc):
            return _Over(_not_taken_up(reason, None), lost=True)
        return _ended_meanwhile(exc, reason) or _Over(
            _not_taken_up(reason, _rejoin_words(exc, args)), lost=True)
    if not done or channel is None:
        return _Over(LEFT, lost=False)
    # The picture shown until now goes on: the host sends only what changed
    # meanwhile, not a keyframe (transport/session/kept.py).
    viewer = Viewer(channel, who=args.name, max_pixels=args.max_pixels,
                    resume=lost.resume_ticket, picture=lost.kept_picture)  # fmt: skip
    tell("reconnected; waiting for the host (its user is asked again if the session"
         " could not be resumed)")  # fmt: skip
    try:
        joined, _ = await _unless_left(viewer.start(lost.level), left, cancel=True)
    except ConsentDeniedError as exc:  # asked again (the session had ended), and no
        return _Over(f"{_plain(reason)}, and {not_let_back_in(exc)}", lost=False, refused=True)
    except (ScreencodecError, OSError) as exc:
        return _Over(f"{_plain(reason)}; not taken up again: {safe_text(exc, 200)}", lost=True)
    if not joined:
        with contextlib.suppress(ScreencodecError, OSError):
            await viewer.bye("the agent left the session")
        return _Over(LEFT, lost=False)
    # Not "back in the session" yet: the host's hello, which run() reads
    # next, says whether it took the session up (the conversation tells it).
    return viewer


class _Conversation:
    """The terminal's chat and commands (:func:`_chat`) for the viewer of
    the moment: moved to the new one when a lost link was taken up again.

    While the link is being taken up again (:meth:`reconnecting`), a
    ``/say`` line is held, told "(not sent yet: reconnecting)", and sent in
    order once back in the session (as the web page holds chat); so is one
    whose sending failed as the link broke. A ``/send`` is not offered then:
    it is told to be sent again once back (the page's words for a file).
    Lines still held when the session ends are told not sent
    (:meth:`not_sent`). The walk3 walkthrough found such a line dropped
    without a word, and a ``/send`` told "offering ..." and then "the
    session ended" while the session went on."""

    def __init__(self, viewer: Viewer, typed: asyncio.Queue[str]) -> None:
        self._typed = typed
        self._task: asyncio.Future[None] | None = None
        #: Chat typed while the link was down, to be sent after the resume.
        self.held: list[str] = []
        self.move_to(viewer)

    def move_to(self, viewer: Viewer) -> None:
        self.stop()
        self.viewer = viewer
        self.away = False  #: the link is being taken up again (:meth:`reconnecting`)
        screens = _Screens(viewer)
        viewer.on_message = screens.seen
        # Subscribed now, before the viewer's run reads a message: a line
        # the host kept for the resume may be its first (transport/session/chat.py).
        events = viewer.events()
        self._task = asyncio.ensure_future(_chat(viewer, screens, self._typed, self.held,
                                                 events))  # fmt: skip

    def reconnecting(self) -> None:
        """The link was lost and is being taken up again: the lines typed
        meanwhile are answered here (:meth:`_while_away`)."""
        self.stop()
        self.away = True
        self._task = asyncio.ensure_future(self._while_away())

    async def _while_away(self) -> None:
        while True:
            line = await self._typed.get()
            text = said(line)
            typed = command(line)
            if text:
                self.held.append(text)
                tell(f"(not sent yet: reconnecting; sent once back in the session):"
                     f" {safe_text(text, 1000)}")  # fmt: skip
            elif text is not None:
                continue  # a bare /say: nothing to send
            elif typed is not None and typed.name == "send":
                path = file_to_send(typed.arg)
                tell(path if isinstance(path, str)
                     else f"(not sent: {safe_text(path.name, 200)}: {FILE_NOT_NOW})")  # fmt: skip
            elif typed is not None and typed.name == "monitor":
                tell(f"(not switched: {AWAY}; type it again once back in the session)")
            else:
                tell(_not_chat(line))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def not_sent(self) -> None:
        """The session has ended: the chat still held was not sent, the
        lines sent that the host never confirmed are not confirmed, and
        those given to the viewer and never sent were not delivered."""
        chats = self.viewer.chats
        chats.give_up()  # kept for a resume that did not come
        told = [(i, NOT_CONFIRMED, t) for i, t in chats.unconfirmed_lines]
        told += [(i, NOT_DELIVERED, t) for i, t in chats.lost_lines]
        for _, words, text in sorted(told):
            tell(f"{words}: {safe_text(text, 1000)}")
        chats.unconfirmed_lines.clear()
        chats.lost_lines.clear()
        for text in self.held:
            tell(f"(not sent, the session ended: {safe_text(text, 1000)})")
        self.held.clear()


#: Of a file cut short at the other side, which removes it (the host's
#: words for a file going the other way: cli/host.py).
NOTHING_KEPT = "nothing of it was kept there"
#: While a lost link is being taken up again.
AWAY = "the connection to the host was lost; reconnecting"
#: A file offered, or being offered, when the link to the host was lost
#: (the web page's words: docs/web.md).
FILE_NOT_NOW = "the connection to the host was lost; send it again once back in the session"


def _over_limit_hint(reason: str, max_pixels: int, *, web: bool = False) -> str:
    """What to do about a session this viewer ended because the host's
    picture was over ``--max-pixels`` (its reason is :func:`too_large`'s,
    "the host's screen is WxH, over this viewer's limit of N pixels"); ""
    for any other end. With ``web``, a picture the page cannot draw at all
    is to be watched in the terminal (the page needs the web extra, aiohttp)."""
    size = re.match(r"the host's screen is (\d+)x(\d+),", reason)
    if size is None or reason != too_large(int(size[1]), int(size[2]), max_pixels):
        return ""
    needed = int(size[1]) * int(size[2])
    if web:
        from screencodec.web.bridge import PAGE_MAX_PIXELS

        if needed > PAGE_MAX_PIXELS:
            return (f" (the web page draws at most {PAGE_MAX_PIXELS} pixels:"
                    f" {_watch_it(needed, ' without --web,')})")  # fmt: skip
    return f" ({_watch_it(needed)})"


def _watch_it(needed: int, how: str = "") -> str:
    """What to type to watch a picture of ``needed`` pixels."""
    return f"to watch it, start screencodec view{how} with --max-pixels {needed}"


#: Seconds without a word from the host after which the view says the link
#: is silent, as the page does (web/bridge.py): a host that answers the
#: channel's probes is heard from within a round trip of 2 s of silence
#: (Timeouts.probe); one of an earlier version only sends its Stats, at
#: least every 10 s.
PROBED_SILENT_AFTER = 3.0
SILENT_AFTER = 12.0
#: How often the silence (and the [view] line) is looked at (s).
_SILENCE_CHECK = 0.5
#: A look at the silence this late (s) was held up by the program not
#: running, not by the host (channel/sealed.py's watchdog judges alike).
_OVERSLEPT = 2.0


class _Silence:
    """One line when the host has said nothing for :data:`PROBED_SILENT_AFTER`
    seconds (:data:`SILENT_AFTER` when it answers no probe: the channel's
    ``last_heard`` and ``answers_probes``, transport/channel/sealed.py), and
    one when it is heard from again; none while the link is being taken up
    again (said otherwise). State: :attr:`told`, the ``last_heard`` of the
    silence told (None: none told)."""

    def __init__(self) -> None:
        self.told: float | None = None

    def line(self, viewer: Viewer, away: bool, now: float) -> str | None:
        channel = viewer.channel
        heard = getattr(channel, "last_heard", None)
        if away or heard is None or getattr(channel, "closed", False):
            self.told = None  # the reconnection's lines say what happens
            return None
        if self.told is not None:
            if heard <= self.told:
                return None
            quiet, self.told = heard - self.told, None
            return f"(the host is heard from again after {quiet:.0f} s of silence)"
        probed = bool(getattr(channel, "answers_probes", False))
        quiet = now - heard
        if quiet < (PROBED_SILENT_AFTER if probed else SILENT_AFTER):
            return None
        self.told = heard
        # A host that answered probes and stays silent is taken for lost
        # (Timeouts.unanswered, 10 s) and the view reconnects.
        then = "; if it goes on, the view reconnects" if probed else ""
        return f"(no word from the host for {quiet:.0f} s: the picture may not be live{then})"


class _Earlier:
    """What the session's earlier links decoded (updates, decode errors):
    the ``[view]`` line counts over the session, as the picture shown goes
    on from one link to the next (a resume on the kept picture). It said
    ``decoded 0`` of the kept picture when a resumed link had decoded
    nothing yet."""

    def __init__(self) -> None:
        self.links = 0
        self.decoded = 0
        self.errors = 0

    def add(self, lost: Viewer) -> None:
        """``lost``'s link is over; the session goes on on another."""
        self.links += 1
        self.decoded += lost.decoded
        self.errors += lost.decode_errors


def _status(viewer: Viewer, status: StatusLines, now: float,
            earlier: _Earlier | None = None, *, away: bool = False) -> str | None:  # fmt: skip
    """The ``[view]`` line, or None when it is not due: printed once a
    picture is shown, then when its size changes, decode errors come, the
    host's figures arrive or the link gets slow or fast again (and in a log
    once a minute besides): one line a second drowned out the host's chat.
    On a terminal it is short (errors only when there are some) and cut to
    the window's width; a log keeps every figure. The counts are over the
    session (``earlier``: its links before this one); a resumed link that
    shows the kept picture and has decoded nothing yet says so. None while
    the link is being taken up again (``away``): the lost link's figures
    read as a live picture after "reconnecting" (walk35); a change held
    back meanwhile is printed once back."""
    fb = viewer.framebuffer
    if fb is None or away:
        return None  # nothing shown yet: "connected ..., granted" said where it is
    earlier = earlier or _Earlier()
    decoded = earlier.decoded + viewer.decoded
    errors = earlier.errors + viewer.decode_errors
    waiting = earlier.links > 0 and viewer.decoded == viewer.decode_errors == 0
    s = viewer.host_stats
    size = f"{fb.shape[1]}x{fb.shape[0]}"
    rtt = None if s is None else rtt_band(s.rtt_us / 1000)
    if not status.due("view", (size, errors, rtt, waiting), now):
        return None
    # The picture kept from before the cut is what is shown until then.
    note = ", resumed: waiting for the host's first update" if waiting else ""
    figures = "" if s is None else (f" {s.fps_milli / 1000:.1f} fps {s.kbps} kbit/s"
                                    f"{rtt_shown(s.rtt_us / 1000, 1)}")
    if not status.on_terminal:
        return f"[view] {size} decoded {decoded} errors {errors}{figures}{note}"
    if s is not None:  # the round trip before the rate: what a narrow window keeps
        figures = f": {s.fps_milli / 1000:.0f} fps{rtt_shown(s.rtt_us / 1000)} {s.kbps} kbit/s"
    shown = f" errors {errors}" if errors else ""
    return status.fit(f"[view] {size} decoded {decoded}{shown}{figures}{note}")


#: --snapshot when the session ended before a picture came (--duration
#: passed while the host was still starting its screen; measured: its first
#: picture came more than 2 s after the grant with a tenth of a CPU core).
_NO_PICTURE = "no snapshot written to {}: the host sent no picture before the session ended"


#: --snapshot when the agent left (Ctrl-C, SIGTERM, SIGHUP) while connecting
#: or while the host's user was asked: there was never a picture to write.
_LEFT_EARLY = "no snapshot written to {}: you left before the session began"


def _left_before_joining(args: argparse.Namespace) -> int:
    """The end of a view the agent left before it joined: the end line, and
    with ``--snapshot`` an error (it exited 0 with no word: a script took
    the snapshot for written)."""
    tell(ended_words(LEFT))
    if args.snapshot is not None:
        raise _ViewError(_LEFT_EARLY.format(args.snapshot))
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
        print("--web needs the web extra: pip install 'screencodec[web]'", file=sys.stderr)
        return Exit.USAGE
    if args.web and not _page_draws(args.max_pixels):
        return Exit.USAGE
    # A code or password of the wrong form (misheard) is told here at once,
    # before anything connects or a page opens.
    if not _well_formed(args.code, parse_code, NOT_A_CODE):
        return Exit.USAGE
    password = args.password or _ask_password()
    if password is None:
        return Exit.USAGE
    if not _well_formed(password, normalize_password, NOT_A_PASSWORD):
        return Exit.USAGE
    # In the terminal viewer, what the agent types is kept whole while the
    # host's chat and status lines are printed (cli/terminal.TypedLine); the
    # terminal's modes are put back however the viewer ends.
    typed = None if args.web else TypedLine.on_terminal(sys.stdin, sys.stdout)
    real_stdout = sys.stdout
    if typed is not None:
        sys.stdout = typed.stdout
    try:
        # Ctrl-C is ignored from the end of the session (_leave_on_signals)
        # until the terminal is put back; then it has its handler again.
        with signals_given_back(signal.SIGINT):
            try:
                return asyncio.run(_web_main(args, password) if args.web
                                   else _view_main(args, password, typed))  # fmt: skip
            finally:
                if typed is not None:
                    typed.close()
                    sys.stdout = real_stdout
    except OSError as exc:
        if isinstance(exc, ScreencodecError):
            print(f"error: {exc}", file=sys.stderr)
        else:  # --web-port in use, for instance
            print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return exit_status(exc)
    except (ScreencodecError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_status(exc)
    # A KeyboardInterrupt (a second Ctrl-C while leaving) goes on up: cli.main
    # makes it exit status 130 (it was 0, as if the session ended in order).
