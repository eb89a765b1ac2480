"""How ``screencodec view`` connects to the host, and connects again after
a lost link: the channel, directly or through the relay (:func:`_open`);
a failure in the words a support agent needs, with the exit status it
stands for (:func:`_connect`, :func:`_explain`, :func:`exit_status`); and
the taking up of a lost link, the host's user not asked again, or why the
session ended after all (:func:`_rejoin`, :class:`_Over`).

Apart from the session loop (cli/view.py) because it is the one part that
talks to the network before a session exists, and the web viewer's
reconnect reads its errors too (``_ViewError.explains``, its errno). It
takes the end words from cli/view_ending.py and the cut-short wait from
cli/view_signals.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from screencodec.cli.main import Exit
from screencodec.cli.terminal import in_words, tell
from screencodec.cli.view_commands import said_early
from screencodec.cli.view_ending import (
    _AWAY_WORDS,
    LEFT,
    LEFT_AWAY,
    _bye_words,
    _no_answer,
    _not_taken_up,
    _plain,
)
from screencodec.cli.view_signals import _Left, _unless_left
from screencodec.errors import (
    AccessRefusedError,
    AuthenticationError,
    ConsentDeniedError,
    HostFailedError,
    RefuseCode,
    ScreencodecError,
)
from screencodec.transport.channel.display import safe_text

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = [
    "_Over",
    "_ViewError",
    "_connect",
    "_ended_meanwhile",
    "_explain",
    "_first_connect",
    "_open",
    "_rejoin",
    "_rejoin_words",
    "exit_status",
]


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
        # follow42: a reconnection tried the other relays of its cluster
        # too (connect/via_relay.py): said after, the addresses a relay told.
        _, nor, others = text.partition("; nor ")
        return f"nothing listens at {_where(args)} (connection refused){nor}{safe_text(others)}"
    return in_words(text)  # "[Errno -2] Name or service not known", say


#: "peer refused: CODE: detail", how framing.refusal_error words the refusals
#: that are not AccessRefusedError (MALFORMED, BAD_VERSION, BUSY, TIMEOUT).
_PEER_REFUSED = re.compile(r"peer refused: ([A-Z_]+): (.*)", re.DOTALL)


#: A relay's aside on a host whose connection it lost (relay/viewers.py).
_LOST_ASIDE = "(its connection to the relay was lost)"
_HEARD = re.compile(r"has not been heard from for (\d+) s")


def _refusal(exc: BaseException, args: argparse.Namespace) -> str | None:
    """A host's or relay's refusal in plain words, without its protocol code
    (None if ``exc`` is no refusal). The peer's own words, where shown, are
    its choice: they pass through safe_text."""
    if isinstance(exc, AccessRefusedError):
        if exc.code == RefuseCode.UNKNOWN_SESSION and _host_not_back(exc):  # relay43
            return (f"the {_where(args)} still waits for the customer's host to"
                    " register again (its session directory is recovering): try again in a"
                    " minute; if it goes on, check the 9-digit code")
        if exc.code == RefuseCode.UNKNOWN_SESSION and _LOST_ASIDE in str(exc):
            # grace51: the relay held the join for the host, lost just
            # before, and it did not come back: no typing mistake.
            heard = _HEARD.search(str(exc))
            since = f" (not heard from for {heard[1]} s)" if heard else ""
            return (f"the customer's host lost its connection to the {_where(args)} just"
                    f" before, and did not come back{since}: ask the customer whether their"
                    " network is working, then try again")
        if exc.code == RefuseCode.UNKNOWN_SESSION:
            # walk38: a host stopped and started again has a new code; the
            # agent rechecked the old one's digits, which were right.
            return (f"no session with that code at {_where(args)}: check the 9-digit code"
                    " (each start of screencodec host makes a new code and password: ask for"
                    " them)")
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
    if name == "BUSY" and args.relay and detail.startswith(_DIRECTORY_OUT):
        return (f"the {_where(args)} could not reach its session directory, so it could not"
                " tell whether the customer's host is registered: try again in a minute")
    return f"{_where(args)} refused the connection: {safe_text(detail)}"


async def _open(args: argparse.Namespace, password: str) -> Any:
    """A sealed channel to the host, directly or through the relay."""
    from screencodec.transport.connect import connect_direct, connect_via_relay

    if args.relay:
        return await connect_via_relay(args.relay[0], args.relay[1], args.code, password)
    return await connect_direct(args.address[0], args.address[1], args.code, password)


#: How long ``view``'s first connection waits while its relay says the
#: code's host may not have registered again yet (protocol.HOST_NOT_BACK_YET:
#: the relay's session directory recovers; a grace is the cluster's
#: claim_ttl, 15 s by default), asking again every :data:`HOST_BACK_RETRY`
#: seconds (relay43).
HOST_BACK_WAIT = 60.0
HOST_BACK_RETRY = 4.0


def _host_not_back(exc: BaseException) -> bool:
    """Whether ``exc`` is a relay's word that the code's host may not be back yet."""
    from screencodec.transport.relay.protocol import HOST_NOT_BACK_YET

    return (isinstance(exc, AccessRefusedError) and exc.code == RefuseCode.UNKNOWN_SESSION
            and HOST_NOT_BACK_YET in str(exc))  # fmt: skip


#: A relay's words, with BUSY, while it cannot reach its session directory
#: (protocol.DIRECTORY_UNAVAILABLE begins with them; a relay before relay49
#: said them alone).
_DIRECTORY_OUT = "session directory unavailable"


def _directory_out(exc: BaseException) -> bool:
    """Whether ``exc`` is a relay's word that it cannot reach its session
    directory (it cannot tell whether the code's host is registered)."""
    found = _PEER_REFUSED.fullmatch(str(exc))
    return (found is not None and found[1] == RefuseCode.BUSY.name
            and found[2].startswith(_DIRECTORY_OUT))  # fmt: skip


async def _first_connect(args: argparse.Namespace, password: str) -> Any:
    """:func:`_connect`, waiting up to :data:`HOST_BACK_WAIT` while the
    relay says the code's host may not have registered again yet (its
    session directory recovers), or that it cannot reach its session
    directory, saying each once, with the time left of that wait. Before
    relay43 the relay said "no such session code" of the first, and the
    agent gave up at once; before relay49 it gave up on the second ("the
    relay refused the connection: session directory unavailable") with a
    customer's host registered."""
    end = time.monotonic() + HOST_BACK_WAIT
    told: set[str] = set()
    while True:
        try:
            return await _connect(args, password)
        except _ViewError as exc:
            said = exc.explains or exc
            if not args.relay or time.monotonic() >= end:
                raise
            if _host_not_back(said):
                why = ("is waiting for the customer's host to register again (its session"
                       " directory is recovering); waiting for it")
            elif _directory_out(said):
                why = ("cannot reach its session directory, so it cannot tell yet whether the"
                       " customer's host is registered; asking it again")
            else:
                raise
        if why not in told:
            told.add(why)
            # What is left of the one minute both waits share, in whole
            # seconds down (never more than is left): words51 read "up to
            # 60 s" in a second line 10 s on, and in a first one after a
            # first try of 2 s (a directory that does not answer).
            left = max(0, int(end - time.monotonic()))
            print(f"the {_where(args)} {why}, up to {left} s", flush=True)
        # Each attempt is a join: 20 a minute per address at a relay.
        await asyncio.sleep(HOST_BACK_RETRY)


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


def _rejoin_words(exc: BaseException, args: argparse.Namespace) -> str:
    """Why taking a lost link up again failed, from its last attempt: what
    the relay said of the session's host, if it knew it ("the host has not
    been heard from for 58 s; its connection to the relay was lost", as the
    "still reconnecting" lines and the web page say it), else as a first
    connection's error is explained. The relay's "no such session" of a
    session it paired this agent with before is no typing mistake: "check
    the 9-digit code", which a first connection is told, was wrong here."""
    from screencodec.transport.connect.reconnect import attempt_words, silent_host

    if (isinstance(exc, AccessRefusedError) and exc.code == RefuseCode.UNKNOWN_SESSION
            and attempt_words(exc, args.reconnect_for) != _NO_SUCH_SESSION):  # fmt: skip
        return attempt_words(exc, args.reconnect_for)
    # An attempt the minute's end cut (a TimeoutError, no words of its own:
    # the line ended "could not reconnect:", walk38), or one that reached
    # something that never answered: not a first connection's "check the
    # address and port", which worked a minute ago.
    if isinstance(exc, asyncio.TimeoutError) or silent_host(exc):
        return attempt_words(exc, args.reconnect_for)
    return _explain(exc, args)


#: A relay's words for a code it knows nothing of (relay/viewers.py _unknown_refusal).
_NO_SUCH_SESSION = "no such session code"


class _Over(NamedTuple):
    """Why a session whose link was lost ended after all (``reason``), and
    whether it ends lost (``lost``: exit status LOST) or not (the agent
    left, the host ended it meanwhile: ENDED)."""

    reason: str
    lost: bool
    #: The host's user, asked again, did not let the agent back in: REFUSED.
    refused: bool = False
    #: The host's program failed as it took the session up (its code,
    #: ``HostFailedError``): ERROR, as at the first start (review40b: LOST).
    failed: bool = False


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


async def _rejoin(args: argparse.Namespace, password: str, lost: Viewer, reason: str,
                  left: _Left) -> Viewer | _Over:  # fmt: skip
    """Connect again after a lost link and resume the session with its
    ticket; the new viewer, or why the session ended after all."""
    from screencodec.transport.connect.reconnect import (
        attempt_words,
        not_let_back_in,
        reconnect,
        reconnected_line,
        reconnecting_line,
        refused,
    )
    from screencodec.transport.session.viewer import Viewer

    # Not "session ended: ...": the session goes on if the host takes it up again.
    tell(reconnecting_line(_plain(reason), args.reconnect_for))

    def tried(attempt: int, error: BaseException | None) -> None:
        if error is not None and attempt % 4 == 1:  # a line now and then, not one a second
            tell(f"still reconnecting: {attempt_words(error, args.reconnect_for)}")

    try:
        done, channel = await _unless_left(
            reconnect(lambda: _open(args, password), within=args.reconnect_for, on_attempt=tried,
                      refused_is_final=not args.relay),
            left, cancel=True)  # fmt: skip
    except (ScreencodecError, OSError, asyncio.TimeoutError) as exc:
        if not args.relay and refused(exc):  # all it knows: no answer (words39)
            return _Over(_no_answer(reason), lost=True)
        return _ended_meanwhile(exc, reason) or _Over(
            _not_taken_up(reason, _rejoin_words(exc, args)), lost=True)
    if not done or channel is None:  # left with no link to send a Bye on
        return _Over(LEFT_AWAY, lost=False)
    # The picture shown until now goes on: the host sends only what changed
    # meanwhile, not a keyframe (transport/session/kept.py).
    viewer = Viewer(channel, who=args.name, max_pixels=args.max_pixels,
                    resume=lost.resume_ticket, picture=lost.kept_picture)  # fmt: skip
    tell(reconnected_line(channel))
    viewer.on_early_chat = said_early  # the host's user writes while deciding (say38)
    try:
        joined, _ = await _unless_left(viewer.start(lost.level), left, cancel=True)
    except ConsentDeniedError as exc:  # asked again (the session had ended), and no
        return _Over(f"{_plain(reason)}, and {not_let_back_in(exc)}", lost=False, refused=True)
    except HostFailedError as exc:  # not lost: its program failed (the code said it)
        return _Over(f"{_plain(reason)}; not taken up again: {safe_text(exc, 200)}", lost=False,
                     failed=True)  # fmt: skip
    except (ScreencodecError, OSError) as exc:
        return _Over(f"{_plain(reason)}; not taken up again: {safe_text(exc, 200)}", lost=True)
    if not joined:
        with contextlib.suppress(ScreencodecError, OSError):
            await viewer.bye(_bye_words(left.signals))  # left, or stopped (words52)
        return _Over(LEFT, lost=False)
    # Not "back in the session" yet: the host's hello, which run() reads
    # next, says whether it took the session up (the conversation tells it).
    return viewer
