"""Connecting again after a lost link, for as long as the session can resume.

A viewer whose link broke (``Viewer.link_lost``) calls :func:`reconnect` with
the same way of connecting it used at first; the new channel goes to a
``Viewer(channel, resume=old.resume_ticket)``. Attempts are spaced by a
backoff (0.25 s doubling to 4 s, with jitter, so a relay restarting under a
thousand agents is not hit by all of them at once) until ``within`` seconds
have passed. What a retry cannot mend ends it at once: a wrong password, a
session the host ended, a host or relay of another version. With
``refused_is_final`` (a host reached directly), refused connections end it
once they have gone on for :data:`REFUSED_FOR` seconds: the host's machine
answers that nothing listens, so the host program is gone and its sessions
with it. Not at the first refusal: what refuses may be a port forward, an
SSH tunnel or a proxy between agent and host that is restarting, behind
which the host still waits for the agent. Through a relay, refusals are
retried for the whole ``within`` (the relay itself may be restarting).
"""

from __future__ import annotations

import asyncio
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
)
from screencodec.transport.channel.base import Channel
from screencodec.transport.channel.display import in_words
from screencodec.transport.channel.framing import RefuseCode

__all__ = ["REFUSED_FOR", "RETRYABLE", "attempt_words", "reconnect", "refused"]

#: Refusals a later attempt may not meet: the host has not registered again
#: at a restarted relay yet, a relay is draining, too many joins at once.
RETRYABLE = frozenset({RefuseCode.UNKNOWN_SESSION, RefuseCode.BUSY, RefuseCode.TIMEOUT,
                       RefuseCode.RATE_LIMITED})  # fmt: skip

#: With ``refused_is_final``: how long refusals may go on before the host is
#: taken for stopped. A forwarder restarting comes back within it; a host
#: that stopped is given up on after it, well within the host's resume
#: window (60 s by default) that an agent waiting on would otherwise spend.
#: The test suite shortens it for the viewers it starts with
#: $SCREENCODEC_TEST_REFUSED_FOR (tests only).
REFUSED_FOR = float(os.environ.get("SCREENCODEC_TEST_REFUSED_FOR", "10"))

_FIRST_WAIT = 0.25
_LONGEST_WAIT = 4.0


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
        try:
            return await asyncio.wait_for(connect(), max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError as exc:
            error: BaseException = exc
        except (ScreencodecError, OSError) as exc:
            if not _retryable(exc):
                raise
            error = exc
        now = time.monotonic()
        if refused_is_final and refused(error):
            if refused_until is None:
                refused_until = now + REFUSED_FOR
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
        await asyncio.sleep(min(left, wait * random.uniform(0.8, 1.2)))
        wait = min(wait * 2, _LONGEST_WAIT)


def refused(exc: BaseException) -> bool:
    """Whether the peer's machine refused the connection (nothing listens
    at that address): for a host reached directly, its program is gone."""
    return getattr(exc, "errno", None) == errno.ECONNREFUSED


def _retryable(exc: BaseException) -> bool:
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
    if isinstance(exc, AccessRefusedError):
        text = str(exc).removeprefix(f"{exc.code.name}: ")
    else:
        text = _PEER_REFUSED.sub("", in_words(str(exc)), count=1)
    # One sentence: inside "still reconnecting (...)" the relay's own
    # parenthesis nested (walk35).
    text = _ASIDE.sub(r"; \1", text)
    return text or f"no answer within {within:g} s"


#: A relay's aside on the host's link, "... (its connection to the relay was lost)".
_ASIDE = re.compile(r" \((its connection to the relay was lost)\)$")
