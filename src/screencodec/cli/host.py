"""The ``screencodec host`` command: share this screen (see ``cli.py``).

Runs one event loop: the listener or relay registration hands each
authenticated channel to :meth:`Host.serve`; a display task turns host events
into the banner and status lines; on X11 watchers pause remote input when
the local user moves the pointer, types or clicks.

All terminal output goes through one :class:`TerminalQuestions`: questions are
asked one at a time and nothing prints over an open one. Every string a peer
chose is passed through :func:`safe_text` before it is printed. Failures to
start (port in use, relay unreachable) are one line on stderr and exit code 2.

Commands: each chat line from an agent is printed as ``agent 'NAME' (PEER)
says: TEXT``; each of the local user's lines as ``delivered to AGENT: TEXT``
once that agent's program has it (``not confirmed by AGENT, the session
ended: TEXT`` if the session ended before it said so, ``NOT delivered to
AGENT, the session ended: TEXT`` if it was never sent: :func:`_delivery`). The local user types
commands (parsed by :mod:`.say`): ``/say
TEXT`` chats with every agent, ``/view`` takes control back (the agents keep
watching), ``/end`` ends the sessions (the host then exits with ``--once``,
else waits for the next agent, who is asked about again), ``/send PATH``
offers a file to each agent, ``/stop [NAME]`` stops the files being sent
and received (those of that name; nothing of them is kept: cancel36, rstop36),
``/help`` lists them; each prints one line once
it has taken effect. Command lines are split off the terminal's input before
the questions read it (:class:`_TerminalInput`), so a command never answers a
question and an answer never becomes a command.

Files: started without ``--download-dir``, the host refuses every file an
agent sends without asking, and says so in one line (the file's name through
safe_text).

Signals: Ctrl-C, SIGTERM and SIGHUP end the sessions as ``/end`` does (a
Bye, the agent's held keys let go, the recording closed), then the program.
A Ctrl-C pressed again while it stops is told that it is under way and
changes nothing: the exit is the same, status 0 (:func:`_stop_on_signals`).

Typing: on a terminal, what the user has typed of a line is kept whole while
chat, status and other lines are printed: each is printed where the typed
text began and the typed text follows it again (:class:`~.terminal.TypedLine`,
which puts the terminal's modes back however the program ends).

Relay: while registered at a relay (``--relay``), the host says in one line
when the relay is lost (the code does not work meanwhile; it keeps retrying)
and in one line when the code works again, never a line per retry
(:func:`_relay_status`).

Control: when the host cannot inject input (``--control none``, or
``--control xtest`` and no X display), the session layer refuses a request to
CONTROL without asking the local user (the agent is told why); the local user
is told in one line. The rest of a first request (VIEW) is asked as usual.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from screencodec.capture.base import FrameSource
from screencodec.cli.args import address, size, unusable_folder
from screencodec.cli.main import Exit
from screencodec.cli.progress import Progress, Receiving
from screencodec.cli.saving import again_words, finish_saving
from screencodec.cli.say import (
    HOST_COMMANDS,
    SAY,
    Command,
    command,
    file_to_send,
    help_lines,
    unknown,
)
from screencodec.cli.terminal import (
    StatusLines,
    TypedLine,
    ending_signals,
    in_words,
    rtt_band,
    rtt_shown,
    settle_stdout,
    signals_given_back,
    tell,
)
from screencodec.errors import CaptureError, ScreencodecError
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session.chat import (
    DELIVERED,
    MAX_UNACKED,
    NOT_CONFIRMED,
    NOT_DELIVERED,
    ChatBacklogError,
)
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import TerminalQuestions
from screencodec.transport.session.endreasons import (
    LET_IN_TO_NOTHING,
    NO_REQUEST,
    NO_VIEW_ASKED,
    REQUEST_WAIT,
)
from screencodec.transport.session.events import (
    ChatDelivery,
    ChatReceived,
    FileReceived,
    FileRefused,
    PasswordGuessed,
    PermissionChanged,
    SessionEnded,
    SessionResumed,
    SharingChanged,
    StatsUpdated,
)
from screencodec.transport.session.host import Host
from screencodec.transport.session.link import SCREEN_GONE
from screencodec.transport.session.permissions import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Permission,
)
from screencodec.transport.session.screens import SourceFactory
from screencodec.transport.session.sidechannels import (
    BEFORE_AN_ANSWER,
    EXPIRED,
    NOT_READ,
    NOT_SAVED,
    REFUSED_UNASKED,
    STOPPED_HERE,
    STOPPED_THERE_WHY,
    WITHDRAWN,
    WITHDRAWN_OTHER,
    WITHDRAWN_STOPPED,
    WITHDRAWN_UNREAD,
)
from screencodec.transport.session.stats import LinkStats

if TYPE_CHECKING:
    from screencodec.transport.connect.via_relay import RelayStatus

__all__ = ["BANNER", "NO_INPUT", "VIEW_ONLY", "register", "run_host"]

_log = logging.getLogger(__name__)

BANNER = "#" * 64
#: After the first, wrong-password warnings are repeated at most this often (s).
GUESS_REPORT_EVERY = 30.0


#: The exit statuses, as ``--help`` lists them (cli.main.Exit, docs/cli.md).
EXIT_STATUS = (
    "exit status: 0 stopped, or with --once the session ended in order; 1 an error (the X"
    " display died; with --once: this screen can no longer be captured); 2 bad arguments or"
    " could not start; 3 with --once: no one was let in (the agent was refused, or asked"
    " nothing or not to view); 5 with --once: the agent's"
    " connection was lost and not taken up again; 130 interrupted (docs/cli.md)")


def register(subparsers: Any, summary: str) -> None:
    """Add ``host`` to an argparse subparsers object."""
    h = subparsers.add_parser("host", help=summary, epilog=EXIT_STATUS)
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
    h.add_argument("--once", action="store_true",
                   help="exit when the first session ends (an agent whose connection"
                        " dropped has 60 s to come back first)")  # fmt: skip
    h.add_argument("--record", type=Path, metavar="DIR", default=None,
                   help="record every session into DIR (90-day retention; the local "
                        "user is told in the consent question)")  # fmt: skip
    h.add_argument("--record-key", type=Path, metavar="AUDITOR.pub", default=None,
                   help="seal recordings for this auditor key (screencodec recordings "
                        "keygen): this host cannot read them back")  # fmt: skip
    h.add_argument("--record-sign", type=Path, metavar="HOST.key", default=None,
                   help="sign recordings with this host key (screencodec recordings keygen "
                        "--host; refused if group or others have any access to it): an auditor "
                        "can tell they came from this host (verify --hosts)")  # fmt: skip
    h.set_defaults(func=run_host)


def _check_download_dir(args: argparse.Namespace) -> None:
    """--download-dir must take files: a directory that was not there was
    found only after the user's yes to a file, which was then lost, and the
    agent read that the host had not accepted it."""
    if args.download_dir is not None:
        why = unusable_folder(args.download_dir)
        if why is not None:
            raise _StartError(f"--download-dir {args.download_dir}: {why}")


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
    print(f"(no screen to capture here ({why}): agents will see a synthetic demo desktop,"
          " not this computer's screen; --source screen refuses to start instead)", flush=True)
    return None


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


def _source_factory(args: argparse.Namespace, kept: list[FrameSource]) -> SourceFactory:
    """The host's sources; the first of ``--monitor`` is the one ``kept``
    holds, if any (opened at the start: :func:`_check_source`)."""
    from screencodec.capture import open_source

    width, height = args.size

    def factory(index: int) -> FrameSource:
        if kept and index == args.monitor:
            return kept.pop()
        if args.source == "synthetic":
            return open_source("synthetic", width=width, height=height, scenario=args.scenario)
        if args.source == "screen":
            return open_source("screen", monitor=index)
        # auto: the screen if a display is reachable, else the synthetic desktop
        return open_source(
            "auto", monitor=index, width=width, height=height, scenario=args.scenario
        )

    return factory


#: What an agent is told when it asks this host for CONTROL and it cannot be granted.
VIEW_ONLY = "the host's user shares the screen for viewing only (remote control is off)"
NO_INPUT = "remote control is unavailable on the host's computer: input cannot be injected there"


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
        print(f"(remote control unavailable: {why})", flush=True)
        return None, (why, NO_INPUT)


def _told(ui: TerminalQuestions, why: str) -> Callable[[ConsentRequest, str], None]:
    """The one line the local user reads when an agent's request for CONTROL
    was refused unasked (a yes would be a grant that does nothing, and the
    agent would believe it controls the screen)."""

    def tell(request: ConsentRequest, _told_agent: str) -> None:
        ui.say(f"refused: {safe_text(request.who, 64)!r} ({safe_text(request.peer)}) asked to"
               f" control your mouse and keyboard, but remote control is unavailable on this"
               f" computer ({why})")  # fmt: skip

    return tell


class _TerminalInput:
    """The terminal's lines, split: command lines (``/say``, ``/view``, ...,
    :func:`~screencodec.cli.say.command`) go on :attr:`commands`; every other
    line goes on to the questions through :attr:`answers`, a pipe (a real
    text stream, so the questions keep their own rules: lines typed before a
    question are discarded, end of input is no).

    A line typed while no question is on screen answers nothing: it is
    told so in one line (with how to chat) and not passed on (it was dropped
    without a word: a user who typed "hello" to the agent saw nothing).

    State: a daemon thread reading ``stdin``, through ``typed`` on a
    terminal (:class:`~.terminal.TypedLine`: the typed text stays whole while
    lines are printed), line by line otherwise (daemon: a waiting read must
    not keep the process alive at exit); :attr:`commands` is filled, and the
    pipe written and closed, on the event loop through
    ``call_soon_threadsafe`` (in the order typed); :attr:`ui`, the
    questions, once made (until then every line goes on to them).
    """

    def __init__(self, stdin: TextIO, loop: asyncio.AbstractEventLoop,
                 typed: TypedLine | None = None) -> None:  # fmt: skip
        read_fd, write_fd = os.pipe()
        self.answers: TextIO = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
        self._to_questions = os.fdopen(write_fd, "w", encoding="utf-8")
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.ui: TerminalQuestions | None = None
        self._loop = loop
        read = stdin.readline if typed is None else typed.readline
        threading.Thread(target=self._run, args=(read,), name="host-terminal",
                         daemon=True).start()  # fmt: skip

    def _run(self, read: Callable[[], str]) -> None:
        try:
            while True:
                try:
                    line = read()
                except (OSError, ValueError):
                    line = ""
                if not line:
                    return  # end of input: closing the pipe reads as "no"
                typed = command(line)
                if typed is not None:
                    # Never an answer, even a bare "/say" or an unknown command.
                    self._loop.call_soon_threadsafe(self.commands.put_nowait, typed)
                    continue
                self._loop.call_soon_threadsafe(self._typed, line)
        except (OSError, ValueError, RuntimeError):
            return  # the pipe or the loop is closed: the host is ending
        finally:
            try:
                self._loop.call_soon_threadsafe(self._close)  # after the lines before
            except RuntimeError:  # the loop is closed
                self._close()

    def _typed(self, line: str) -> None:
        """On the loop: a line that is no command goes on to the open question."""
        if self.ui is not None and not self.ui.asking:
            if line.strip():
                self.ui.say(f"(not sent, and no question is open: to write to your agent,"
                            f" type {SAY} and your message)")  # fmt: skip
            return
        with contextlib.suppress(OSError, ValueError):  # closed: the host is ending
            self._to_questions.write(line)
            self._to_questions.flush()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            self._to_questions.close()

    def close(self) -> None:
        """Close both ends of the pipe (the host has ended): its writing end
        first, so that the questions' reader, blocked reading the other end,
        reads its end and lets go of it (closing the reading end under a
        read waits for the read). The terminal's lines then go nowhere."""
        self._close()
        with contextlib.suppress(OSError):
            self.answers.close()


#: What an agent is told when the host's user types /end.
ENDED_BY_USER = "the host's user ended the session"
#: What an agent is told when the host program is stopped by SIGTERM or SIGHUP.
HOST_STOPPED = "the host program was stopped"
#: What an agent is told when the X display the host shares died mid-session.
X_GONE = "the host's X display is gone: its screen, mouse and keyboard can no longer be used"


class _Commands:
    """Carries out the commands the local user types (cli/say.py parses them)
    and prints one line when each has taken effect.

    State: :attr:`levels`, what each agent was granted (set by :meth:`consent`
    from the answers, and by :meth:`note` from the host's events), so
    ``/view`` can say from whom control was taken back; the ``/send`` tasks in
    flight (an offer waits for the agent's answer, and must not hold up the
    next command), and the /say lines in flight (one may wait for room:
    :meth:`_say_in_turn`); :attr:`refusals`, per agent, the time of the last line
    about a file refused unasked and how many were not told since (an agent
    cannot flood the terminal with offers: those are told together when
    :data:`REFUSED_EVERY` is up). One event loop; no locking.
    """

    #: Set right after the host is made (this object's :meth:`consent` is its).
    host: Host

    def __init__(
        self, ui: TerminalQuestions, done: asyncio.Event, once: bool, takes_files: bool
    ) -> None:
        self.ui = ui
        self.done = done
        self.once = once
        self.levels: dict[str, Permission] = {}
        self.refusals: dict[str, tuple[float, int]] = {}
        #: Per agent, the last file refused unasked and not told yet.
        self.untold_refusal: dict[str, FileRefused] = {}
        self.takes_files = takes_files  #: started with --download-dir
        #: Peers whose sessions ``/end`` ended (their end is told in those words).
        self.ended: set[str] = set()
        #: The same peers, kept: a ``/send`` to one of them that the end cut
        #: short says so in those words (it may learn of it after the end is told).
        self.offers_ended: set[str] = set()
        #: Of those, the peers whose end ``/end`` tells in its own line ("you
        #: ended the session with ..."): their SessionEnded prints none (it
        #: came before /end's line, which waits for the cleanup).
        self.told_by_end: set[str] = set()
        #: ``/end`` is under way: the sharing banner waits for its line.
        self.ending = False
        #: Lines about files its end cut short, held while ``/end`` is under
        #: way: said after its own line (what the user typed is answered first).
        self.after_end: list[str] = []
        #: Sessions whose link was lost and whose agent may come back unasked,
        #: by the peer name their SessionEnded gave (the one a resume names
        #: as ``SessionResumed.was``), with the timer that tells the user if
        #: they do not (and ends a ``--once`` host): :meth:`_gone`. Not by
        #: the agent's name, its own choice: review36 found two agents named
        #: alike, one coming back, made the terminal forget the other's.
        self.away: dict[str, asyncio.TimerHandle] = {}
        #: Those of them who held CONTROL when their link was lost.
        self.away_control: set[str] = set()
        #: The peer name each agent who came back has now, by the peer name
        #: of a link of theirs that was lost (:meth:`resumed`): a line given
        #: before the resume and confirmed after it names them as they are now.
        self.now_as: dict[str, str] = {}
        self._sending: set[asyncio.Task[None]] = set()
        #: The ``/send`` offers under way (a task each, one per agent), by
        #: the name of their file: what ``/stop`` stops (:meth:`_stop`); and
        #: those it stopped, whose own line says so (:meth:`_offer`).
        self._offers: dict[asyncio.Task[None], str] = {}
        self._stopped: set[asyncio.Task[None]] = set()
        #: /say lines go one at a time, in order, each in a task of its own
        #: (:meth:`_say_in_turn`), cancelled with the /send tasks at the end.
        self._saying = asyncio.Lock()
        #: The sharing banner is up: from a share until the last agent's
        #: session ends, through a lost link its agent may come back over.
        self.sharing = False
        #: The exit status (cli.main.Exit): with ``--once``, how the session
        #: the host exits after ended (:meth:`ended_once`).
        self.status = Exit.ENDED

    def ended_once(self, event: SessionEnded) -> None:
        """A ``--once`` host's session ended (not lost: :meth:`lost`): the
        host exits, its status saying how (the agent refused, the screen
        gone, or ended in order). An agent that asked nothing, or not to view,
        was let in to nothing: refused too, as ``recordings list`` shows it."""
        if event.reason.startswith("consent denied") or event.reason in LET_IN_TO_NOTHING:
            self.status = Exit.REFUSED  # no session took place
        elif event.reason.startswith(SCREEN_GONE):  # its details follow in brackets
            self.status = Exit.ERROR
        self.done.set()

    async def consent(self, request: ConsentRequest) -> Grant:
        """The terminal's question, noting what was granted (at once: a
        ``/view`` typed right after a yes must know of it). The agent's name
        is kept whatever the answer: the end line of a join refused, or left
        unanswered, names them as every other line does."""
        try:
            grant = await self.ui.permission(request, self._same_name(request))
        finally:
            if not request.upgrade:
                self.ui.names.setdefault(request.peer, request.who)
        granted = grant.level & request.level
        if request.upgrade:
            granted = granted | self.levels.get(request.peer, VIEW)
        self.levels[request.peer] = granted
        return grant

    def note(self, event: PermissionChanged | SessionEnded) -> None:
        if isinstance(event, PermissionChanged):
            before = self.levels.get(event.peer)
            self.levels[event.peer] = event.level
            # Control that ends without /view (which says so itself, and has
            # already noted it): the agent gave it back.
            if before is not None and CONTROL in before and CONTROL not in event.level:
                self.ui.say(f"{_agents(self.ui, (event.peer,))} gave control back: only you"
                            " use your mouse and keyboard now")
        else:
            self.levels.pop(event.peer, None)

    def lost(self, event: SessionEnded, why: str, held: Permission) -> None:
        """A session ended because its link was lost: its agent may come back
        unasked for ``event.resumable`` seconds with ``held``; the user is
        told, and a ``--once`` host waits that long before it closes.

        A session put back to away (its agent came back, and the link that
        took it up was lost before it joined: session/resume.py) holds what
        it held when it was away before: its SessionEnded names it as the
        user knew it, whose levels were let go then (ends36: CONTROL was
        forgotten, and /view said there was nothing to take back)."""
        peer = event.peer
        name = self._name(peer)
        controls = CONTROL in held or peer in self.away_control
        # Not "session ... ended: viewer gone: ...": the session goes on if
        # they come back, and the code's words say nothing to the user.
        meanwhile = "" if self.host.viewers else "; no one sees your screen meanwhile"
        # Less time than the window: the session's time limit comes first
        # (Host.serve), and ends the session then.
        limit = self.host.config.max_duration
        limited = limit is not None and event.resumable < self.host.config.resume_window
        then = f" (then the session's time limit of {limit:.0f} s ends it)" if limited else ""
        can = "see and control your screen" if controls else "see your screen"
        self.ui.say(f"the connection to {_agents(self.ui, (event.peer,))} was lost{meanwhile}"
                    f"\n{name!r} may reconnect within {event.resumable:.0f} s{then} and {can}"
                    " again without being asked (type /end to prevent it)")
        loop = asyncio.get_running_loop()
        self.came_back(peer)
        self.away[peer] = loop.call_later(event.resumable, self._gone, peer, event.resumable,
                                          limit if limited else None)  # fmt: skip
        if controls:
            self.away_control.add(peer)

    def stopped(self) -> None:
        """Take the sharing banner down, once: the last agent's session ended,
        or the last whose link was lost can no longer come back."""
        if self.sharing:
            self.sharing = False
            self.ui.say(STOPPED)

    def _same_name(self, request: ConsentRequest) -> list[str]:
        """A line for each agent of the session whose name is the one the
        asking agent gives (walk36: a second 'Alice' was asked about with
        no word of the first): the user can then tell them apart."""
        if request.upgrade:
            return []
        lines = []
        for peer in (*self.host.viewers, *sorted(self.away)):
            if peer != request.peer and self.ui.names.get(peer) == request.who:
                how = ("is already watching" if peer not in self.away
                       else "is in the session, its connection lost for now")  # fmt: skip
                lines.append(f"(another agent named {_agents(self.ui, (peer,))} {how})")
        return lines

    def _name(self, peer: str) -> str:
        """The agent's name the user knows a session ``peer`` by."""
        return self.ui.names.get(peer) or peer

    def let_away_go(self) -> list[str]:
        """The sessions away are over (ended, or the host stops): their
        timers are dropped. The names of their agents, sorted."""
        away = sorted(self._name(peer) for peer in self.away)
        for peer in list(self.away):
            self.came_back(peer)
        return away

    def came_back(self, peer: str) -> None:
        """The session away as ``peer`` is not any more (its agent came
        back, it ended, or it was lost again)."""
        self.away_control.discard(peer)
        handle = self.away.pop(peer, None)
        if handle is not None:
            handle.cancel()

    def _gone(self, peer: str, window: float, limit: float | None) -> None:
        """The time to come back of the session away as ``peer`` ran out, or
        the session's time limit (``limit``, its seconds) came first and
        ended it: a ``--once`` host ends if no one else is there; any other
        says so, and takes the sharing banner down if no one sees the
        screen now."""
        self.away.pop(peer, None)
        self.away_control.discard(peer)
        name = self._name(peer)
        if self.once:
            if not self.host.viewers:
                # The limit: ended as if the agent were there (ended_once).
                self.status = Exit.LOST if limit is None else Exit.ENDED
                self.done.set()
            return
        if limit is None:
            self.ui.say(f"{name!r} did not come back within {window:.0f} s: they can no longer"
                        " come back without asking you")
        else:
            self.ui.say(f"the session with {name!r} reached its time limit of {limit:.0f} s"
                        " while they were away: it is over, and they can no longer come back"
                        " without asking you")
        if not self.host.viewers and not self.away:
            self.stopped()

    def resumed(self, event: SessionResumed) -> None:
        """An agent whose link was lost came back with its session's ticket."""
        self.came_back(event.was or event.peer)
        self.ui.names[event.peer] = event.who
        if event.was and event.was != event.peer:
            self.levels.pop(event.was, None)  # a link taken over: its levels go on here
            for old, now in list(self.now_as.items()):
                if now == event.was:  # back a second time
                    self.now_as[old] = event.peer
            self.now_as[event.was] = event.peer
        self.levels[event.peer] = event.level
        after = f" after {event.away:.0f} s" if event.away >= 1 else ""
        can = "see and control your screen" if CONTROL in event.level else "see your screen"
        self.ui.say(f"{event.who!r} ({safe_text(event.peer)}) is back{after}: their connection"
                    f" had dropped; they {can} again, as you allowed (/view takes control"
                    " back, /end or Ctrl-C stops sharing)")

    async def run(self, typed: asyncio.Queue[Command]) -> None:
        try:
            while True:
                command = await typed.get()
                try:
                    await self.do(command)
                except (ScreencodecError, OSError, ValueError) as exc:
                    # One command failing must not end the reading of the
                    # rest (a /send that raised once left /end unanswered).
                    self.ui.say(f"(/{command.name} failed: {safe_text(exc, 200)})")
        finally:
            for task in self._sending:
                task.cancel()

    async def do(self, typed: Command) -> None:
        if typed.name == "say":
            task = asyncio.ensure_future(self._say_in_turn(typed.arg))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        elif typed.name == "view":
            await self._view()
        elif typed.name == "end":
            await self._end()
        elif typed.name == "send":
            self._send(typed.arg)
        elif typed.name == "stop":
            self._stop(typed.arg)
        elif typed.name == "help":
            self.ui.say(help_lines((*HOST_COMMANDS, ("Ctrl-C", self._ctrl_c()))))
        else:
            self.ui.say(unknown(typed))

    def _ctrl_c(self) -> str:
        """What Ctrl-C does now, as ``/help`` says it (walk34: the list did
        not name it): it always quits the host (:func:`_stop_on_signals`),
        ending the sessions first while the screen is shared (an agent
        whose link was lost and may come back included)."""
        if self.sharing:
            return "stop sharing: end the session with every agent, then quit"
        return "quit: the session code and password stop working"

    async def _say_in_turn(self, text: str) -> None:
        """:meth:`_say`, after the lines typed before. Not awaited by
        :meth:`run`: a line to an agent that has not confirmed the last 64
        waits up to BACKLOG_WAIT for room, and the commands typed after it
        (/view, /end) do not wait behind it."""
        async with self._saying:
            try:
                await self._say(text)
            except (ScreencodecError, OSError, ValueError) as exc:
                self.ui.say(f"(/say failed: {safe_text(exc, 200)})")

    async def _say(self, text: str) -> None:
        """Send a chat line to every agent sharing the screen."""
        if not text:
            return
        viewers = self.host.viewers
        if not viewers and not self.away:
            self.ui.say("(not sent: no support agent sees your screen)")
            return
        try:
            # Each agent's program confirms it (_delivery); kept for those away.
            ids = await self.host.send_chat(text)
        except ChatBacklogError as exc:
            # Sent to the others all the same (Host.send_chat).
            self.ui.say(f"(not sent to {_agents(self.ui, exc.refused) or 'every agent'}:"
                        f" {MAX_UNACKED} of your lines still wait for them to confirm)")
            if not exc.sent:
                return
            ids = exc.sent
        except (ScreencodecError, OSError) as exc:
            self.ui.say(f"(not sent: {safe_text(exc, 200)})")
            return
        away = tuple(peer for peer in ids if peer not in viewers)
        if not ids:
            self.ui.say("(not sent: no support agent sees your screen)")
            return
        viewers = tuple(peer for peer in viewers if peer in ids)
        to = [_agents(self.ui, viewers)] if viewers else []
        if away:
            to.append(f"{_agents(self.ui, away)} (whose connection dropped: it goes once"
                      " they are back)")  # fmt: skip
        self.ui.say(f"you said to {', '.join(to)}: {safe_text(text, 1000)}")

    async def _view(self) -> None:
        """Take CONTROL back from every agent; they keep VIEW."""
        had = tuple(p for p in self.host.viewers if CONTROL in self.levels.get(p, VIEW))
        away = tuple(sorted(self.away_control, key=lambda peer: (self._name(peer), peer)))
        self.away_control = set()
        await self.host.revoke(CONTROL)  # also from those away (.resume)
        if had:
            for peer in had:
                self.levels[peer] = self.levels[peer] - CONTROL
            self.ui.say(f"you took back control from {_agents(self.ui, had)}: only you use"
                        " your mouse and keyboard now; your screen is still shared")
        if away:  # named as every other line names them: two may share a name
            self.ui.say(f"you took back control from {_agents(self.ui, away)}, whose connection"
                        " dropped: if they come back, they will only see your screen")
        if not had and not away:
            self.ui.say("(no agent controls your mouse and keyboard: nothing to take back)")

    async def _end(self) -> None:
        """End every session, including those still waiting for an answer
        and those whose agent could come back after a lost link."""
        viewers = self.host.viewers
        self.ended.update(viewers)
        self.offers_ended.update(viewers)
        self.told_by_end.update(viewers)
        self.ending = True
        ended = False
        try:
            # Returns once their sessions are over (SessionEnded told), or
            # gives up waiting after CLEANUP_WAIT.
            await self.host.disconnect(reason=ENDED_BY_USER)
            ended = True
        finally:
            self.ending = False
            if not ended:
                self._say_after_end()
        # Those still cleaning up (disconnect gave up waiting) get their own
        # line when their session ends: "ended: you ended it" (endleft35:
        # none was said).
        self.told_by_end.difference_update(self.host.viewers)
        away = self.let_away_go()
        # The user's own line first, then what follows from it, then the
        # banner (SessionEnded left it to this line; sharing had waited for
        # those away too).
        who = f" with {_agents(self.ui, viewers)}" if viewers else ""
        if self.once:
            self.ui.say(f"you ended the session{who}; closing")
        else:
            self.ui.say(f"you ended the session{who}; the code and password above still"
                        " work, and you will be asked again before anyone sees your screen"
                        " (Ctrl-C to stop)")
        if away:  # also beside agents there (walk36: said only when none was)
            self.ui.say(_cannot_come_back(away))
        self._say_after_end()
        if not self.host.viewers and not self.away:
            self.stopped()
        if self.once:
            self.done.set()

    def _say_after_end(self) -> None:
        held, self.after_end = self.after_end, []
        for line in held:
            self.ui.say(line)

    def _file_line(self, line: str) -> None:
        """Say a line about a file, after ``/end``'s own if it is under way
        (a file the end cut short: endleft35 found it told first)."""
        if self.ending:
            self.after_end.append(line)
        else:
            self.ui.say(line)

    def _send(self, typed: str) -> None:
        """Offer a file to every agent, each offer in its own task."""
        path = file_to_send(typed)  # the same words as the agent's /send
        if isinstance(path, str):
            self.ui.say(path)
            return
        shown = safe_text(path, 300)
        viewers = self.host.viewers
        if not viewers:
            self.ui.say("(not sent: no support agent sees your screen)")
            return
        try:
            size = path.stat().st_size
        except OSError as exc:  # gone since it was checked
            self.ui.say(f"(not sent: {shown}: {(exc.strerror or str(exc)).lower()})")
            return
        # Those whose program said up front it takes no files are not asked
        # (nofiles35: "each is asked" was not so); they are told of it.
        takers = tuple(peer for peer in viewers if self.host.takes_files(peer))
        for peer in viewers:
            if peer not in takers:
                self.ui.say(f"(not sent to {_agents(self.ui, (peer,))}: their program takes"
                            " no files)")
                self._spawn_send(self._tell_tried(path, peer))
        if not takers:
            return
        self.ui.say(f"offering {shown} ({amount(size)}) to {_agents(self.ui, takers)}; "
                    "each is asked whether to accept it")
        for peer in takers:
            task = self._spawn_send(self._offer(path, peer))
            self._offers[task] = path.name
            task.add_done_callback(self._offer_done)

    def _spawn_send(self, offering: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(offering)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return task

    def _offer_done(self, task: asyncio.Task[None]) -> None:
        self._offers.pop(task, None)
        self._stopped.discard(task)

    def _stop(self, typed: str) -> None:
        """Stop the files being sent and received (``typed``: only those of
        that name, or of the file that path names). Each offer's task is
        cancelled, and its sender withdraws the file at the agent's side,
        which removes what it has of it (files36's STOPPED); each says so in
        its own line (:meth:`_offer`). Each file being received is stopped
        here (Host.stop_receiving: its part file removed, the agent's
        program told, which stops sending it: rstop36); its FileRefused
        says so (:meth:`file_refused`). Nothing under way, or none of that
        name: said."""
        wanted = typed.strip()

        def named(name: str) -> bool:
            return not wanted or wanted in (name, Path(wanted).name)

        offers = [task for task, name in self._offers.items() if not task.done() and named(name)]
        incoming = [info for info, _ in self.host.receiving() if named(info.name)]
        if not offers and not incoming:
            going = sorted({name for task, name in self._offers.items() if not task.done()}
                           | {info.name for info, _ in self.host.receiving()})  # fmt: skip
            if not going:
                self.ui.say("(no file is being sent or received: nothing to stop)")
            else:
                names = ", ".join(repr(safe_text(name, 100)) for name in going)
                self.ui.say(f"(no file named {safe_text(wanted, 100)!r} is being sent or"
                            f" received: nothing stopped; under way: {names})")  # fmt: skip
            return
        for task in offers:
            self._stopped.add(task)
            task.cancel()
        for info in incoming:
            self._spawn_send(self._stop_receiving(info.peer, info.transfer))

    async def _stop_receiving(self, peer: str, transfer: int) -> None:
        """:meth:`_stop`'s for a file being received: its line comes with
        its FileRefused (the session's end first: that end's line says it)."""
        with contextlib.suppress(ScreencodecError, OSError):
            await self.host.stop_receiving(peer, transfer)

    async def _tell_tried(self, path: Path, peer: str) -> None:
        """Offer ``path`` to ``peer``, whose program takes no files, only so
        that it tells the agent the host's user tried (files36: the agent's
        terminal said nothing). It refuses it unasked, and none of the file
        goes (a yes from it is a protocol error: FileSender); what became of
        it was said here already."""
        with contextlib.suppress(KeyError, ScreencodecError, OSError):
            await self.host.send(path, peer)

    async def _offer(self, path: Path, peer: str) -> None:
        who = _agents(self.ui, (peer,))
        progress = Progress(f"sending {safe_text(path.name, 200)} to {who}", 0)
        loop = asyncio.get_running_loop()
        went = [-1, 0]  # bytes handed to the link, of size: -1 before the first chunk

        def sending(done: int, size: int) -> None:
            went[:] = [done, size]
            progress.size = size
            said = progress.line(done, loop.time())
            if said is not None:
                self.ui.say(said)

        try:
            sent = await self.host.send(path, peer, on_sending=sending)
        except KeyError:
            self._file_line(f"(not sent to {who}: they left)")
            return
        except asyncio.CancelledError:
            if asyncio.current_task() not in self._stopped:
                raise  # the program ends
            # /stop: the sender withdraws it there (FileCut "stopped").
            name = safe_text(path.name, 200)
            if went[0] < 0:  # not answered yet: the question closes there
                self._file_line(f"you withdrew {name} from {who} before they answered;"
                                " none of it went")  # fmt: skip
            else:
                self._file_line(f"you stopped sending {name} to {who} ({amount(went[0])} of"
                                f" {amount(went[1])} had gone); their viewer keeps nothing"
                                " of it")  # fmt: skip
            return
        except (ScreencodecError, OSError) as exc:
            why = ("you ended the session" if peer in self.offers_ended
                   else safe_text(exc, 200))  # fmt: skip
            # Which file, and how much of it went (walk35: the line named
            # neither, where the line of a file coming the other way does).
            name = repr(safe_text(path.name, 200))
            if went[0] < 0:
                self._file_line(f"(not sent to {who}: {name}: {why})")
            else:
                self._file_line(f"(not sent to {who}: {name} ({amount(went[0])} of"
                                f" {amount(went[1])} had gone, {why}); nothing of it was"
                                " kept there)")  # fmt: skip
            return
        if sent.outcome == "delivered":
            self._file_line(f"delivered {safe_text(path.name, 200)} to {who}: saved there")
        elif sent.outcome == "failed" and sent.why.startswith(NOT_READ):  # this side's
            self._file_line(f"(not sent whole to {who}: {safe_text(path.name, 200)} could not be"
                            f" read here: {safe_text(sent.why[len(NOT_READ):], 200)})")  # fmt: skip
        elif sent.outcome == "failed" and sent.why == STOPPED_THERE_WHY:  # its user stopped it
            self._file_line(f"{who} stopped receiving {safe_text(path.name, 200)}"
                            f" ({amount(max(went[0], 0))} of {amount(went[1])} had gone);"
                            " nothing of it was kept there")  # fmt: skip
        elif sent.outcome == "failed":  # accepted, then not saved (disk full...)
            self._file_line(f"{who} could not save {safe_text(path.name, 200)}: "
                            f"{safe_text(sent.why, 200)}")
        elif sent.outcome == "unconfirmed" and sent.why:  # the session ended first
            self._file_line(f"sent {safe_text(path.name, 200)} to {who}, but the session ended"
                            " before their viewer said whether it saved it")
        elif sent.outcome == "unconfirmed":  # a viewer of the previous version
            self._file_line(f"sent {safe_text(path.name, 200)} to {who}")
        elif sent.why.endswith(BEFORE_AN_ANSWER):  # the session's end came first
            self._file_line(f"(not sent to {who}: the session ended before they answered about "
                            f"{safe_text(path.name, 200)})")  # fmt: skip
        elif sent.why.startswith(REFUSED_UNASKED):  # their viewer said why (a code)
            self._file_line(f"{who} did not accept {safe_text(path.name, 200)}: "
                            f"{sent.why[len(REFUSED_UNASKED):]}")
        elif sent.why:  # no answer in time: the offer is withdrawn there
            self._file_line(f"{who} did not answer about {safe_text(path.name, 200)} in time: "
                            "the offer is withdrawn, nothing of it stays there")
        elif sent.gives_reasons:  # no code: their user's no, or no answer there
            # Their viewer's own question closes at its timeout (30 s, before
            # this offer's 60 s) with a plain no: not always a no they said.
            self._file_line(f"{who} did not accept {safe_text(path.name, 200)}: they said no"
                            " or did not answer in time")
        else:  # a viewer of the version before the codes
            self._file_line(f"{who} did not accept {safe_text(path.name, 200)} (declined, no "
                            "answer, or their viewer takes no files)")

    def file_refused(self, ev: FileRefused) -> None:
        """Tell the local user of a file refused without a question (no
        ``--download-dir``, too large, too many waiting): for each agent, at
        most one line per :data:`REFUSED_EVERY` s; the files refused meanwhile
        are told in one line when it is up (:meth:`_refusals_due`). A file
        the agent withdrew (their viewer stopped waiting for the answer,
        could not read it after the yes, stopped sending it, or withdrew it
        for a reason of a later version), one not put to the user because
        the agent stopped waiting first, and one the user said yes to that
        could not be saved are each told every time, in their own words: the
        user may have said yes (those went through the counted line, and a
        yes could go untold)."""
        who, name = _agents(self.ui, (ev.peer,)), safe_text(ev.name, 100)
        if ev.why == WITHDRAWN_STOPPED:  # their program stopped sending it (files36)
            self.ui.say(f"{who} stopped sending the file {name!r} ({amount(max(ev.received, 0))}"
                        f" of {amount(ev.size)} had come); nothing of it was kept")
            return
        if ev.why == STOPPED_HERE:  # this user's /stop (rstop36)
            self.ui.say(f"you stopped receiving {name!r} from {who} ({amount(max(ev.received, 0))}"
                        f" of {amount(ev.size)} had come); nothing of it was kept")
            return
        withdrawn = _WITHDRAWN_WORDS.get(ev.why)
        if withdrawn is not None:
            self.ui.say(f"{who} withdrew the file {name!r}{withdrawn}; nothing of it was saved")
            return
        if ev.received >= 0:  # the link ended while it came
            # Told before its SessionEnded: /end, Ctrl-C and the signals have
            # put the peer in ``ended`` by then. Else the agent left, or the
            # link was lost and the session may go on (not known yet): the
            # connection ended, which is true of both.
            end = ("you ended the session" if ev.peer in self.ended | self.offers_ended
                   else "the connection ended before all of it came")  # fmt: skip
            self._file_line(f"not received from {who}: {name!r} ({amount(ev.received)} of"
                                f" {amount(ev.size)}, {end}); nothing of it was kept")  # fmt: skip
            return
        if ev.why.startswith(NOT_SAVED):
            self.ui.say(f"the file {name!r} ({amount(ev.size)}) from {who} "
                        f"{safe_text(ev.why, 300)}")
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        last, untold = self.refusals.get(ev.peer, (-REFUSED_EVERY, 0))
        if now - last < REFUSED_EVERY:
            self.refusals[ev.peer] = (last, untold + 1)
            self.untold_refusal[ev.peer] = ev
            if not untold:  # told when the time is up, whether or not another comes
                loop.call_later(last + REFUSED_EVERY - now, self._refusals_due, ev.peer)
            return
        self.refusals[ev.peer] = (now, 0)
        self.untold_refusal.pop(ev.peer, None)
        # Those counted are told by _refusals_due; one not yet (it is late) here.
        more = f" ({untold} more since the last such line)" if untold else ""
        self.ui.say(f"refused a file from {who}: {name!r} ({amount(ev.size)}){more}: "
                    f"{safe_text(ev.why, 200)}{self._refused_hint()}")

    def _refused_hint(self) -> str:
        return " (start it with --download-dir DIR to be asked)" if not self.takes_files else ""

    def _refusals_due(self, peer: str) -> None:
        """Tell the files refused unasked since the last line about them
        (:meth:`file_refused`), once :data:`REFUSED_EVERY` has passed: how
        many, and the last one and why."""
        _, untold = self.refusals.get(peer, (0.0, 0))
        ev = self.untold_refusal.pop(peer, None)
        if not untold or ev is None:
            return
        self.refusals[peer] = (asyncio.get_running_loop().time(), 0)
        files = "file" if untold == 1 else "files"
        self.ui.say(f"refused {untold} more {files} from {_agents(self.ui, (peer,))} since the"
                    f" last such line; the last, {safe_text(ev.name, 100)!r} ({amount(ev.size)}):"
                    f" {safe_text(ev.why, 200)}{self._refused_hint()}")


#: A host started without ``--download-dir`` says a file was refused at most
#: this often per agent (s); $SCREENCODEC_TEST_REFUSED_EVERY (tests only).
REFUSED_EVERY = float(os.environ.get("SCREENCODEC_TEST_REFUSED_EVERY", "10"))
#: How a file the agent withdrew is told (after "'NAME' (PEER) withdrew the
#: file 'F'"), by the receiver's reason (transport/session/sidechannels.py).
_WITHDRAWN_WORDS = {
    WITHDRAWN: ": their viewer stopped waiting for your answer",
    WITHDRAWN_UNREAD: ": their viewer could not read it after your yes",
    EXPIRED: " before you were asked about it: their viewer stopped waiting for an answer",
    WITHDRAWN_OTHER: "",
}


class _StartError(ScreencodecError, RuntimeError):
    """The host could not start (port in use, relay unreachable): one line."""


def _delivery(ui: TerminalQuestions, ev: ChatDelivery, now_as: dict[str, str]) -> None:
    """What became of the local user's chat lines to one agent: each marked
    delivered once the agent's program has it; when the session ended
    first, not confirmed if it was sent (it may have arrived, its
    confirmation lost), NOT delivered if it never was (kept for an agent
    who did not come back); an agent's viewer of a version that confirms
    nothing is told once. The agent is named as they are now (``now_as``:
    the address they came back from, for a line given before a resume)."""
    agent = _agents(ui, (now_as.get(ev.peer, ev.peer),))
    if ev.state == DELIVERED:
        for text in ev.texts:
            ui.say(f"delivered to {agent}: {safe_text(text, 80)}")
    elif ev.state == NOT_CONFIRMED:
        for text in ev.texts:
            ui.say(f"not confirmed by {agent}, the session ended: {safe_text(text, 1000)}")
    elif ev.state == NOT_DELIVERED:
        for text in ev.texts:
            ui.say(f"NOT delivered to {agent}, the session ended: {safe_text(text, 1000)}")
    elif ev.first == 1:
        ui.say(f"(sent: the viewer of {agent} does not confirm that chat arrives)")


#: A failed grab's words (capture/screen.py's _grab_failed): which display.
_GRAB_FAILED = re.compile(r" \(grabbing .*? on display ('[^']*') failed")


def _in_users_words(reason: str) -> str:
    """A session's end reason as the host's user reads it. The screen gone
    names its display, not the grab that failed (walk36: "(grabbing
    Rect(x=0, y=0, w=1024, h=768) on display ':136' failed)"); the details
    stay in the recording's END and the log."""
    grab = _GRAB_FAILED.match(reason, len(SCREEN_GONE)) if reason.startswith(SCREEN_GONE) else None
    if grab is None:  # "(the screen did not answer within 10 s)" is said as it is
        return safe_text(reason, 200)
    _log.info("session ended: %s", safe_text(reason, 500))
    return f"{SCREEN_GONE} (display {safe_text(grab[1], 100)} stopped answering)"


def _agents(ui: TerminalQuestions, viewers: tuple[str, ...]) -> str:
    """Name each viewer as the question named it: the agent, then the address."""
    named = []
    for peer in viewers:
        who = ui.names.get(peer)
        named.append(f"{who!r} ({safe_text(peer)})" if who else safe_text(peer))
    return ", ".join(named)


async def _show(host: Host, ui: TerminalQuestions, commands: _Commands) -> None:
    """Banner while shared, a viewer's status line when it says something new
    (:func:`_shared`; dropped while a question is open), wrong-password
    warnings; ``commands.sharing`` says whether the banner is up (it comes
    down when the last session ends, not when a lost link may come back)."""
    reported = [0.0]
    status = StatusLines(ui.out)
    async for ev in host.events():
        if isinstance(ev, SharingChanged):
            # No one left: told with the SessionEnded that follows, as a stop,
            # or not, for a lost link whose agent may come back unasked. Only
            # those /end is ending left: told by its line (one agent's end
            # before another's printed "BEING SHARED WITH" the other).
            if ev.viewers and not set(ev.viewers) <= commands.told_by_end:
                commands.sharing = True
                ui.say(
                    f"\n{BANNER}\n##  YOUR SCREEN IS BEING SHARED WITH: {_agents(ui, ev.viewers)}"
                    f"\n##  Press Ctrl-C at any time to stop sharing.\n{BANNER}"
                )
        elif isinstance(ev, PasswordGuessed):
            now = asyncio.get_running_loop().time()
            if ev.failed == 1:
                ui.say(
                    f"\n{'!' * 64}\n!!  A wrong password was tried for session {ev.code}"
                    f" from {safe_text(ev.source)}.\n!!  If you did not just read it to"
                    " someone, someone may be guessing.\n!!  The password stays valid;"
                    " guesses are slowed down. Only read it to the\n!!  person you called"
                    f" for help.\n{'!' * 64}"
                )
                reported[0] = now
            elif now - reported[0] >= GUESS_REPORT_EVERY:
                ui.say(
                    f"!!  {ev.failed} wrong passwords tried for session {ev.code} so far"
                    f" (latest from {safe_text(ev.source)}); one more may be tried in"
                    f" {ev.next_in:.0f} s."
                )
                reported[0] = now
        elif isinstance(ev, ChatReceived):
            # Already passed through safe_text by the session; again here, as
            # every peer string this terminal shows is.
            ui.say(f"agent {_agents(ui, (ev.peer,))} says: {safe_text(ev.text, 1000)}")
        elif isinstance(ev, ChatDelivery):
            _delivery(ui, ev, commands.now_as)
        elif isinstance(ev, FileRefused):
            commands.file_refused(ev)
        elif isinstance(ev, FileReceived):
            sender = _agents(ui, (ev.peer,))
            ui.say(f"saved {safe_text(ev.path, 300)} ({amount(ev.size)}) from {sender}")
        elif isinstance(ev, PermissionChanged):
            commands.note(ev)
        elif isinstance(ev, StatsUpdated):
            # Not while a question is open: a line due then would be lost.
            line = None if ui.asking else _shared(ev.stats, status,
                                                  asyncio.get_running_loop().time())
            if line is not None:
                ui.say(line, status=True)
        elif isinstance(ev, SessionEnded):
            status.forget(ev.peer)
            if ev.moved:
                # The agent came back on a new connection: told as
                # SessionResumed. What it holds goes on with the session: a
                # new link lost before it joined puts it back to away under
                # this name (takeover36: forgotten here, the lost line said
                # "see your screen" of an agent who held control).
                continue
            held = commands.levels.get(ev.peer, VIEW)
            commands.note(ev)
            why = _in_users_words(ev.reason)
            if ev.peer in commands.told_by_end:
                # /end's own line tells it ("you ended the session with ..."),
                # and the banner after it: not this line before it.
                commands.told_by_end.discard(ev.peer)
                commands.ended.discard(ev.peer)
                if not commands.ending and not host.viewers and not commands.away:
                    commands.stopped()  # ended after /end gave up waiting
                continue
            if ev.peer in commands.ended:
                commands.ended.discard(ev.peer)
                why = "you ended it"
            elif ev.resumable > 0:
                commands.lost(ev, why, held)
                continue
            if not host.viewers and not commands.away and not commands.ending:
                commands.stopped()  # (/end's line says it after its own)
            if ev.reason in LET_IN_TO_NOTHING:  # never a session the user was asked about
                ui.say(f"{_agents(ui, (ev.peer,))} {LET_IN_WORDS[ev.reason]}")
            else:
                ui.say(f"session with {_agents(ui, (ev.peer,))} ended: {why}")
            if commands.once:
                commands.ended_once(ev)
        elif isinstance(ev, SessionResumed):
            commands.resumed(ev)


#: How often the files being received are looked at for their progress (s).
RECEIVING_CHECK = 0.5


async def _receiving(host: Host, ui: TerminalQuestions) -> None:
    """How far each file an agent sends has gone (cli/progress.py): a line
    now and then while it moves (none while a question is open)."""
    receiving = Receiving(lambda f: f"receiving {safe_text(f.name, 200)} from"
                                    f" {_agents(ui, (f.peer,))}")  # fmt: skip
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(RECEIVING_CHECK)
        for line in receiving.lines(host.receiving(), loop.time()):
            if not ui.asking:
                ui.say(line)


def _shared(stats: LinkStats, status: StatusLines, now: float) -> str | None:
    """A viewer's ``[shared]`` line, or None when it is not due: it is
    printed when the link gets slow or fast again or input is dropped, and
    in a log once a minute besides (a line every second drowned out the
    agent's chat). On a terminal it is short (fps, kbit/s, rtt) and cut to
    the window's width; a log gets every figure."""
    news = (rtt_band(stats.rtt_ms), stats.input_dropped)
    if not status.due(stats.peer, news, now):
        return None
    if not status.on_terminal:
        return f"[shared] {safe_text(stats.line(), 200)}"
    dropped = f", input dropped {stats.input_dropped}" if stats.input_dropped else ""
    return status.fit(f"[shared] {safe_text(stats.peer, 60)}: {stats.fps:.0f} fps"
                      f"{rtt_shown(stats.rtt_ms)} {stats.kbps:.0f} kbit/s{dropped}")


def _relay_status(ui: TerminalQuestions) -> Callable[[RelayStatus], None]:
    """The line the local user reads when the session code stops or starts
    working at the relay (the relay went down or came back): while it is
    lost, an agent who tries the code is told there is no such session."""

    def tell(status: RelayStatus) -> None:
        if status.reachable:
            ui.say(f"connected to the relay at {status.relay} again; the code {status.code}"
                   " works")
        else:
            error = in_words(status.error.removeprefix(f"cannot reach {status.relay}: "))
            why = f" ({error})" if error else ""
            ui.say(f"lost the relay at {status.relay}{why}; retrying: the code {status.code}"
                   " will work again when the relay is back (you will be told)")

    return tell


STOPPED = f"\n{BANNER}\n##  Screen sharing stopped.\n{BANNER}"
#: The host's last line as it stops (but for its X display gone, said in its own words).
CODE_GONE = "Stopped. Nothing is shared; the session code no longer works."


#: The line for an agent let in to nothing, after its address, in the user's
#: words (walk36: "session with ADDRESS ended: viewer sent no request").
LET_IN_WORDS = {
    NO_REQUEST: f"proved the password, then asked for nothing within {REQUEST_WAIT:.0f} s:"
                " nothing was shared, and it was disconnected",
    NO_VIEW_ASKED: "proved the password and asked to control your mouse and keyboard without"
                   " seeing your screen: refused without asking you; nothing was shared",
}


def _cannot_come_back(names: list[str]) -> str:
    """The line for agents away whose sessions are over."""
    return f"{', '.join(repr(n) for n in names)} can no longer come back without asking you"


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
        # Registration retries in the background; at start, the first failure
        # is the answer (a relay that is down or refuses says so at once).
        waiting = asyncio.ensure_future(reg.wait_registered())
        try:
            for _ in range(100):  # 10 s
                await asyncio.wait({waiting}, timeout=0.1)
                if waiting.done() or (reg.state == "backoff" and reg.last_error is not None):
                    break
        finally:
            waiting.cancel()
        if reg.state != "registered":
            why = reg.last_error or "no answer within 10 s"
            await reg.close()
            why = in_words(str(why).removeprefix(f"cannot reach {rhost}:{rport}: "))
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
    return listener, f"listening on {args.bind}:{listener.port}"


async def _host_main(args: argparse.Namespace, typed: TypedLine | None = None) -> int:
    config = HostConfig(
        consent_timeout=args.consent_timeout,
        monitor=args.monitor,
        max_duration=args.max_duration,
        download_dir=args.download_dir,
    )
    _check_download_dir(args)
    opened = await _check_source(args)
    kept = [] if opened is None else [opened]
    terminal = _TerminalInput(sys.stdin, asyncio.get_running_loop(), typed)
    try:
        return await _share(args, config, terminal, kept)
    finally:
        # However the host ends, a Ctrl-C while it starts included (its
        # pipe's end was left to the garbage collector: a ResourceWarning).
        terminal.close()
        for source in kept:  # no viewer came: closed off the loop, as the hub's are
            threading.Thread(target=source.close, name="capture-close", daemon=True).start()


async def _share(args: argparse.Namespace, config: HostConfig, terminal: _TerminalInput,
                 kept: list[FrameSource]) -> int:  # fmt: skip
    """Share the screen until the host is stopped; its exit status."""
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.channel.limits import Timeouts
    from screencodec.transport.channel.sealed import SecureChannel
    from screencodec.transport.connect.via_relay import RelayRegistration
    from screencodec.transport.relay.protocol import RELEASE_DISPLAY_GONE

    ui = terminal.ui = TerminalQuestions(terminal.answers, download_dir=args.download_dir)
    injector, no_control = _injector(args)
    done = asyncio.Event()
    commands = _Commands(ui, done, args.once, args.download_dir is not None)

    async def on_channel(channel: SecureChannel) -> None:
        await host.serve(channel)

    host = Host(
        _source_factory(args, kept),
        consent=commands.consent,
        injector=injector,
        config=config,
        file_consent=ui.file_offer if args.download_dir else None,
        recorder=_recorder(args),
        control_unavailable=None if no_control is None else no_control[1],
        on_unavailable=None if no_control is None else _told(ui, no_control[0]),
    )
    creds = SessionCredentials()
    host.watch_credentials(creds)
    timeouts = Timeouts(max_duration=args.max_duration)
    commands.host = host
    shower = asyncio.ensure_future(_show(host, ui, commands))
    receiver = asyncio.ensure_future(_receiving(host, ui))
    sayer = asyncio.ensure_future(commands.run(terminal.commands))
    x_gone: list[str] = []  # why the X display was lost, once it was

    def display_lost(why: str) -> None:
        """The injector's or a watcher's X connection failed: the display is
        gone (the user logged out, the X server died). Said in one line; the
        host then ends every session and stops (remote control cannot work,
        and a screen on that display cannot be captured either)."""
        if x_gone or done.is_set():
            return  # said already, or the host is stopping anyway
        x_gone.append(why)
        commands.status = Exit.ERROR
        ui.say(f"the X display {safe_text(os.environ.get('DISPLAY', ''), 40)} is gone"
               f" ({in_words(safe_text(why, 200))}): remote control has stopped; ending the"
               " sessions and stopping")  # fmt: skip
        done.set()

    watchers = _start_watchers(host, display_lost)
    opened: Any = None
    again = asyncio.Event()  # Ctrl-C again while received files are being saved
    stopped = _stop_on_signals(done, ui, again, host.saving)

    current = [creds]  # the code in use (on_lost gives a new one)

    def on_lost(_: object) -> Any:
        # Someone else registered our code at the relay (it restarted and
        # forgot us): go on under a new code and tell the user to read it out.
        new = current[0] = SessionCredentials()
        host.watch_credentials(new)
        ui.say(
            f"The relay gave your session code to someone else; use this one instead.\n"
            f"Session code: {new.display_code}\nPassword:     {new.password}\n"
            "Read both to your support agent again."
        )
        return new

    try:
        # A stop (Ctrl-C, a signal) while still listening or registering
        # ends the start too: the relay may take 10 s to answer.
        opening = asyncio.ensure_future(_open(args, creds, on_channel, timeouts, on_lost,
                                              on_status=_relay_status(ui)))  # fmt: skip
        stopping = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not opening.done():
                opening.cancel()
                await asyncio.wait({opening})
        if not opening.cancelled():
            opened, where = opening.result()
        if not done.is_set():
            ui.say(
                f"{where}\nSession code: {creds.display_code}\nPassword:     {creds.password}\n"
                "Read both to your support agent. Nothing is shared until you answer y.\n"
                f"To write to your agent, type {SAY} and your message, then Enter."
                " Type /help for the other commands."
            )
            await done.wait()
    finally:
        # Also on Ctrl-C (this task is cancelled): the local user must see
        # that sharing stopped, not just that the program ended.
        async def end() -> None:
            try:
                # The agent (and the audit log) gets the local user's Bye first:
                # closing the listener would close each channel without one.
                if not x_gone:
                    commands.ended.update(host.viewers)  # "ended: you ended it", as /end says
                reason = X_GONE if x_gone else HOST_STOPPED if stopped else ENDED_BY_USER
                try:
                    await host.disconnect(reason=reason)
                finally:
                    # The code ends with the program: a relay is told so
                    # (RELAY_RELEASE), and tells an agent reconnecting that
                    # the host ended the session, not that its program
                    # stopped (walk35: a SIGTERM read as a crash, status 5);
                    # nor that its user ended it, when its display went
                    # (ends36): an agent away heard no Bye that says so.
                    if x_gone and isinstance(opened, RelayRegistration):
                        opened.release_why = RELEASE_DISPLAY_GONE
                    current[0].end()
                    if opened is not None:
                        await opened.close()
            finally:
                # Whatever closing the listener did: the host releases what the
                # agent held and empties its spare keycodes on the user's screen.
                await host.close()

        # A received file still being written to the disk is waited for,
        # said at once, and a Ctrl-C more leaves without it (cli/saving.py).
        await finish_saving(end(), host.saving, host.give_up_saves, again=again, say=ui.say,
                            sender=lambda f: _agents(ui, (f.peer,)),
                            leave=lambda: again_words(stopped[0] if stopped else None))  # fmt: skip
        tasks = [shower, sayer, receiver, *watchers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # An agent away (its link lost) is told of as /end tells it (walk36:
        # a stop said only the banner, not that they can no longer come back).
        away = commands.let_away_go()
        if away and not x_gone:  # (which said it ends the sessions)
            tell(_cannot_come_back(away))
        if commands.sharing:  # also while an agent whose link was lost could come back
            tell(STOPPED)
        if not x_gone:  # (which said why it stops)
            # Said also when nothing was shared, or the user, who was reading
            # the code out, is left to guess whether it still works.
            tell(CODE_GONE)
        settle_stdout()  # after SIGHUP the terminal may be gone
    return commands.status


def _stop_on_signals(done: asyncio.Event, ui: TerminalQuestions, again: asyncio.Event,
                     saving: Callable[[], list[Any]]) -> list[int]:  # fmt: skip
    """SIGTERM (a logout, a service manager) and SIGHUP (the terminal window
    closed; unless ignored, as under nohup) end the host as /end does: the
    agent gets a Bye, the recording is closed complete, and what the agent
    held is let go. Killed outright, the agent's keys would stay down on the
    user's screen. Returns the list the signals received are appended to.

    Ctrl-C (SIGINT) ends it the same way, as the local user's own stop, and
    a Ctrl-C pressed again while the host stops is told it is under way and
    changes nothing. Before, asyncio's handler raised KeyboardInterrupt at the
    second one wherever the shutdown was: a traceback, the recording left
    incomplete, the sharing banner never taken down. One pressed again while
    a received file is being written to the disk (``saving()``) sets
    ``again``: the host leaves without waiting for the disk
    (cli/saving.finish_saving); so does a SIGTERM or SIGHUP received again
    then (a service manager has no Ctrl-C to press)."""
    stopped: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(sig: int) -> None:
        if done.is_set() and saving():
            again.set()
        stopped.append(sig)
        done.set()

    def on_interrupt() -> None:
        if done.is_set() and saving():
            again.set()
        elif done.is_set() and not told:
            told.append(True)
            ui.say("(stopping: ending the session and closing what it opened; one moment)")
        done.set()

    told: list[bool] = []
    for sig in ending_signals():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # else started in the background
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, on_interrupt)
    return stopped


def _start_watchers(host: Host,
                    lost: Callable[[str], None] | None = None) -> list[asyncio.Task[None]]:
    """On X11, the local user's pointer movement, keys and clicks pause
    remote input (each watcher that the display supports). ``lost(why)``
    is called on the loop when the injector's or a watcher's X connection
    fails (the display is gone); a watcher then ends, the injector drops
    what it is given (:attr:`XTestInjector.lost`). Without ``lost``, a
    watcher's task ends with the connection's error."""
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

    async def watch(watcher: PollingWatcher) -> None:
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


def run_host(args: argparse.Namespace) -> int:
    # On a terminal, what the person types is kept whole while chat and
    # status lines are printed (cli/terminal.TypedLine); its modes are put
    # back however the host ends.
    typed = TypedLine.on_terminal(sys.stdin, sys.stdout)
    real_stdout = sys.stdout
    if typed is not None:
        sys.stdout = typed.stdout
    # The loop's handlers of Ctrl-C and the ending signals go with it; the
    # ones before are put back once the terminal is (the program's, when
    # run inside one: walk34). A Ctrl-C while the program itself then exits
    # is cli.main's to ignore.
    try:
        with signals_given_back(signal.SIGINT, *ending_signals()):
            try:
                return asyncio.run(_host_main(args, typed))
            finally:
                # The host has ended: a Ctrl-C pressed while the terminal is
                # put back (the loop's handler is gone with the loop) must
                # not turn the exit into a traceback or status 130.
                with contextlib.suppress(ValueError):  # not the main thread
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                if typed is not None:
                    typed.close()
                    sys.stdout = real_stdout
    except _StartError as exc:
        print(f"screencodec host: {exc}", file=sys.stderr, flush=True)
        return Exit.USAGE
    # A Ctrl-C before the host's own handler is in place (nothing listens
    # yet) goes on up: cli.main makes it exit status 130, no traceback.
