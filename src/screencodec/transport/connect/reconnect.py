"""Connecting again after a lost link, for as long as the session can resume.

A viewer whose link broke (``Viewer.link_lost``) calls :func:`reconnect` with
the same way of connecting it used at first; the new channel goes to a
``Viewer(channel, resume=old.resume_ticket)``. Attempts are spaced by a
backoff (0.25 s doubling to 4 s, with jitter, so a relay restarting under a
thousand agents is not hit by all of them at once; counted from each
attempt's start, so one that waited for its answer as long, held by a
relay for its host, is followed at once) until ``within`` seconds
have passed. What a retry cannot mend ends it at once: a wrong password, a
session the host ended, a host or relay of another version. With
``refused_is_final`` (a host reached directly), refused connections end it
once they have gone on for :data:`REFUSED_FOR` seconds: the host's machine
answers that nothing listens, so the host program is gone and its sessions
with it. Not at the first refusal: what refuses may be a port forward, an
SSH tunnel or a proxy between agent and host that is restarting, behind
which the host still waits for the agent. Through a relay, refusals are
retried for the whole ``within`` (the relay itself may be restarting).
An error that explains another in the user's words names it in its
``explains`` attribute: it is judged by that one.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import os
import random
import re
import time
from collections.abc import Awaitable, Callable

from screencodec.errors import (
    AccessRefusedError,
    AuthenticationError,
    ProtocolError,
    ScreencodecError,
    TransportError,
)
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel
from screencodec.transport.channel.display import in_words, safe_text
from screencodec.transport.channel.framing import RefuseCode

__all__ = ["ATTEMPT_AT_LEAST", "LOST_WORDS", "NOT_ANSWERED", "REFUSED_FOR", "RETRYABLE",
           "EndedAway", "attempt_words", "ended_while_away", "lost_words", "not_let_back_in",
           "reconnect", "reconnected_line", "reconnecting_line", "refused", "silent_host"]

#: How a lost link is said (``view``'s terminal, ``view --web``'s).
LOST_WORDS = "the connection was lost"

#: Refusals a later attempt may not meet: the host has not registered again
#: at a restarted relay yet, a relay is draining, too many joins at once.
RETRYABLE = frozenset({RefuseCode.UNKNOWN_SESSION, RefuseCode.BUSY, RefuseCode.TIMEOUT,
                       RefuseCode.RATE_LIMITED})  # fmt: skip

#: With ``refused_is_final``: how long refusals may go on before the host is
#: taken for stopped. A forwarder restarting comes back within it; a host
#: that stopped is given up on after it, well within the host's resume
#: window (60 s by default) that an agent waiting on would otherwise spend.
#: The test suite shortens it for the viewers it starts with
#: $SCREENCODEC_TEST_REFUSED_FOR (tests only), read when a run of refusals
#: begins, not at import: the tests' warm starter (tests/warm_start.py)
#: forks its processes from one that imported this without the variable, and
#: a variable read at import made each start that set it a fresh exec.
REFUSED_FOR = 10.0

_FIRST_WAIT = 0.25
_LONGEST_WAIT = 4.0

#: The least time an attempt is given to be answered. The last one starts
#: as ``within`` runs out: given what was left (0.1 s), a relay's answer
#: that takes longer (a slow link, a loaded machine: deflake39 saw 0.13 s
#: run out) was lost, and the agent was told "no answer" for a relay that
#: had answered every attempt, "the host has not been heard from".
ATTEMPT_AT_LEAST = 5.0


async def reconnect(
    connect: Callable[[], Awaitable[Channel]],
    *,
    within: float = 60.0,
    on_attempt: Callable[[int, BaseException | None], None] | None = None,
    refused_is_final: bool = False,
) -> Channel:
    """A new channel from ``connect()``, retried until ``within`` seconds
    have passed. ``on_attempt(n, error)`` hears of each failed attempt
    (``error``) and of the next one starting (``None``).

    Each attempt is given at least :data:`ATTEMPT_AT_LEAST` seconds, the
    last one too: it may end that much after ``within``.

    Raises the last error when the time is up, or at once one that retrying
    cannot mend (wrong password, session ended, another version); with
    ``refused_is_final``, a refusal once refusals have gone on, attempt
    after attempt, for :data:`REFUSED_FOR` seconds."""
    deadline = time.monotonic() + within
    wait = _FIRST_WAIT
    attempt = 0
    refused_until: float | None = None  # refusals since the first of a run end it then
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt(attempt, None)
        began = time.monotonic()
        try:
            return await wait_for(connect(), max(ATTEMPT_AT_LEAST, deadline - time.monotonic()),
                                  dropped=_close_dropped)
        except asyncio.TimeoutError as exc:
            error: BaseException = exc
        except (ScreencodecError, OSError) as exc:
            if not _retryable(exc):
                raise
            error = exc
        now = time.monotonic()
        if refused_is_final and refused(error):
            if refused_until is None:
                refused_until = now + float(os.environ.get("SCREENCODEC_TEST_REFUSED_FOR",
                                                           REFUSED_FOR))
            elif now >= refused_until:
                raise error
        else:
            refused_until = None  # an attempt that got further: the run is over
        if on_attempt is not None:
            on_attempt(attempt, error)
        left = deadline - now
        if left <= 0:
            raise error
        if refused_until is not None:  # one more attempt as the refusals' time is up
            left = min(left, max(0.0, refused_until - now))
        # Spaced from the attempt's start: one a relay held for its lost
        # host (RESUME_ANSWER, 4 s) waited already (resume52b: its next
        # attempt came 4 s later still, and its picture up to 4.8 s after
        # the host was back; now it is held again at once).
        await asyncio.sleep(min(left, max(0.0, wait * random.uniform(0.8, 1.2) - (now - began))))
        wait = min(wait * 2, _LONGEST_WAIT)


#: Channels made as their reconnect was cancelled, while they close.
_dropped: set[asyncio.Future[None]] = set()


def _close_dropped(channel: Channel) -> None:
    """A channel made as its reconnect was cancelled (the person ended
    the session): nobody uses it, and its host is told at once."""
    closing = asyncio.ensure_future(channel.close())
    _dropped.add(closing)
    closing.add_done_callback(_dropped.discard)


def refused(exc: BaseException) -> bool:
    """Whether the peer's machine refused the connection (nothing listens
    at that address): for a host reached directly, its program is gone."""
    return getattr(exc, "errno", None) == errno.ECONNREFUSED


class EndedAway(enum.Enum):
    """How the session of a lost link ended while its agent was away, as a
    reconnection's refusal (SESSION_ENDED) tells it (:func:`ended_while_away`).
    The terminal and the web page say each in their words (cli/view_ending.py,
    web/run.py); the exit status follows the session's end as a connected
    agent would have heard it: STOPPED is lost (5), the others ended (0)."""

    #: The host's program stopped without ending it (a crash, a kill).
    STOPPED = "stopped"
    #: The host's user ended it (also a host reached directly that refused).
    ENDED = "ended"
    #: The host's X display went, and the host stopped.
    DISPLAY_GONE = "display gone"


def ended_while_away(exc: BaseException) -> EndedAway | None:
    """How a reconnection refused because the session has ended says it
    ended, by the relay's words (relay/protocol.py); None for any other
    error. A refusal without the relay's words (a host's own) is its
    user's end."""
    from screencodec.transport.relay.protocol import ENDED_DISPLAY_GONE, ENDED_STOPPED

    exc = _underlying(exc)
    if not (isinstance(exc, AccessRefusedError) and exc.code == RefuseCode.SESSION_ENDED):
        return None
    words = str(exc).removeprefix(f"{exc.code.name}: ")
    if words == ENDED_STOPPED:
        return EndedAway.STOPPED
    if words == ENDED_DISPLAY_GONE:
        return EndedAway.DISPLAY_GONE
    return EndedAway.ENDED


#: An idle close's words (channel/sealed.SILENCE, "nothing received for N s
#: (peer gone)"): whose they are says which way nothing came.
_IDLE_CLOSE = re.compile(r"nothing received for (\S+) s \(peer gone\)")


#: A broken line's words (channel/framing.py, channel/sealed.py), said as
#: :data:`LOST_WORDS` alone.
_BROKE_WORDS = frozenset({
    "the peer closed the connection", "the connection is gone",
    "stream truncated inside a frame", "stream truncated inside a frame header",
})


def lost_words(reason: str) -> str | None:
    """How a lost link is said (``Viewer.run``'s reason for it): :data:`LOST_WORDS`,
    with why when the channel says more than that it broke: which side's
    silence closed it, and for how long (walk38: ``view --web`` said only
    "the connection was lost" where ``view`` said "(nothing came from the
    host for 10 s)"). The one wording of ``view`` (cli/view_ending._plain)
    and ``view --web`` (web/run.py); None when ``reason`` is not a lost
    link's words (the host's Bye or close, this side's own close)."""
    silent = _IDLE_CLOSE.fullmatch(reason.removeprefix("channel closed: "))
    if silent is not None:  # this side's: the host said nothing for so long
        return f"{LOST_WORDS} (nothing came from the host for {safe_text(silent[1], 20)} s)"
    silent = _IDLE_CLOSE.fullmatch(reason.removeprefix("channel closed: closed by peer: "))
    if silent is not None:  # the host's: it heard nothing from this side
        return (f"{LOST_WORDS} (the host heard nothing from this computer for"
                f" {safe_text(silent[1], 20)} s)")  # fmt: skip
    if reason.startswith(("host said bye: ", "channel closed: closed by peer: ")):
        return None
    if reason.startswith("channel closed: "):
        why = reason.removeprefix("channel closed: ")
        # A stream cut mid-record (a host killed while it sent, channel/framing's
        # TruncatedError) is the line breaking too: its words tell the agent
        # nothing (flake48c read "(stream truncated inside a frame)").
        if why in _BROKE_WORDS or why.startswith("the connection broke"):
            return LOST_WORDS
        return f"{LOST_WORDS} ({safe_text(why, 200)})"
    return None


def reconnecting_line(why: str, within: float) -> str:
    """The terminal's line as a lost link is taken up again, ``why`` the
    words of its loss (:data:`LOST_WORDS`, or more): one sentence for
    ``view`` and ``view --web`` (walk36 read "the link to the host was
    lost; reconnecting for up to 60 s" from the latter)."""
    return f"{why}; reconnecting for up to {within:g} s (Ctrl-C to stop)"


def reconnected_line(channel: object) -> str:
    """The terminal's line once a lost link is connected again, before the
    host takes the session up: where it got in when the relay it was given
    could not be reached and another of its cluster let it in (follow42,
    connect/via_relay.RelayChannel.instead_of: addresses a relay told,
    shown through safe_text). One sentence for ``view`` and ``view --web``."""
    moved = getattr(channel, "instead_of", None)
    where = ""
    if isinstance(moved, tuple) and len(moved) == 2:
        where = (f" through the relay at {safe_text(str(moved[1]), 80)}, of the same cluster"
                 f" as the one at {safe_text(str(moved[0]), 80)} (not reachable)")
    return (f"reconnected{where}; waiting for the host (its user is asked again if the"
            " session could not be resumed)")


def not_let_back_in(exc: BaseException | str, user: str = "the host's user") -> str:
    """Why an agent reconnected after a lost link was not let back in, the
    host's user asked again (the session had ended meanwhile) and saying no
    (``exc``: the Viewer's ConsentDeniedError, or its words), after "the connection was
    lost, and ": a refusal (exit status 3), not a lost link (walk36 read
    "...; not taken up again: the host's user declined", status 5).
    ``user``: how the host's user is named (the page: "the user")."""
    why = str(exc)
    if why == "the host's user declined":  # session/viewer.py's words for a no
        return f"{user} declined to let you back in"
    return f"you were not let back in: {why}"


def _underlying(exc: BaseException) -> BaseException:
    """The error that ``exc`` explains in the user's words, if it names one
    in its ``explains`` (cli/view_connect.py's, which the web viewer's connect
    raises); else ``exc``. ends36: judged by the explained one alone, which
    says nothing of what it is, a session ended and a wrong password were
    retried for the web viewer's whole minute, as any failed attempt."""
    explained = getattr(exc, "explains", None)
    return explained if isinstance(explained, BaseException) else exc


def _retryable(exc: BaseException) -> bool:
    exc = _underlying(exc)
    if isinstance(exc, AccessRefusedError):
        return exc.code in RETRYABLE
    # A wrong password or a peer of another kind or version: the same again.
    return not isinstance(exc, AuthenticationError | ProtocolError)


#: "peer refused: CODE: detail", how framing.refusal_error words the
#: refusals that are not AccessRefusedError (a relay's TIMEOUT, BUSY).
_PEER_REFUSED = re.compile(r"peer refused: [A-Z_]+: ")


def attempt_words(exc: BaseException, within: float) -> str:
    """Why an attempt to reconnect failed, as ``view``'s "still reconnecting"
    lines and the web page's status say it (the system's words for an
    errno), without the
    protocol's refusal code: a relay's refusal says what it knows ("the host
    has not been heard from for 12 s; its connection to the relay was
    lost"); an attempt that got no answer before the ``within`` seconds
    ran out (asyncio.TimeoutError, no words of its own) says so."""
    if silent_host(exc):
        return NOT_ANSWERED
    if isinstance(exc, AccessRefusedError):
        text = str(exc).removeprefix(f"{exc.code.name}: ")
    else:
        text = _PEER_REFUSED.sub("", in_words(str(exc)), count=1)
    # One sentence: inside "still reconnecting (...)" the relay's own
    # parenthesis nested (walk35).
    text = _ASIDE.sub(r"; \1", text)
    return text or f"no answer within {within:g} s"


#: An attempt that connected and then heard nothing in the handshake's time
#: (connect/direct.py's "handshake timed out"): the host's program, or the
#: way back from it, silent (walk38: said as "handshake timed out").
NOT_ANSWERED = "connected, but no answer came back"


def silent_host(exc: BaseException) -> bool:
    """Whether ``exc`` is an attempt that connected and then heard nothing
    (the handshake timed out), itself or as the error a ``view``'s
    explained one explains (its ``explains``: the web page's reconnect)."""
    inner = getattr(exc, "explains", None) or exc
    return isinstance(inner, TransportError) and str(inner) == "handshake timed out"


#: A relay's aside on the host's link, "... (its connection to the relay was lost)".
_ASIDE = re.compile(r" \((its connection to the relay was lost)\)$")
