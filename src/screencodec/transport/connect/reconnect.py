"""Connecting again after a lost link, for as long as the session can resume.

A viewer whose link broke (``Viewer.link_lost``) calls :func:`reconnect` with
the same way of connecting it used at first; the new channel goes to a
``Viewer(channel, resume=old.resume_ticket)``. Attempts are spaced by a
backoff (0.25 s doubling to 4 s, with jitter, so a relay restarting under a
thousand agents is not hit by all of them at once) until ``within`` seconds
have passed. What a retry cannot mend ends it at once: a wrong password, a
session the host ended, a host or relay of another version, and with
``refused_is_final`` (a host reached directly) a refused connection: the
host's machine answered that nothing listens, so the host program is gone
and its sessions with it (through a relay, the relay itself may be
restarting).
"""

from __future__ import annotations

import asyncio
import errno
import random
import time
from collections.abc import Awaitable, Callable

from screencodec.errors import (
    AccessRefusedError,
    AuthenticationError,
    ProtocolError,
    ScreencodecError,
)
from screencodec.transport.channel.base import Channel
from screencodec.transport.channel.framing import RefuseCode

__all__ = ["RETRYABLE", "reconnect", "refused"]

#: Refusals a later attempt may not meet: the host has not registered again
#: at a restarted relay yet, a relay is draining, too many joins at once.
RETRYABLE = frozenset({RefuseCode.UNKNOWN_SESSION, RefuseCode.BUSY, RefuseCode.TIMEOUT,
                       RefuseCode.RATE_LIMITED})  # fmt: skip

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
    cannot mend (wrong password, session ended, another version)."""
    deadline = time.monotonic() + within
    wait = _FIRST_WAIT
    attempt = 0
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt(attempt, None)
        try:
            return await asyncio.wait_for(connect(), max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError as exc:
            error: BaseException = exc
        except (ScreencodecError, OSError) as exc:
            if not _retryable(exc) or (refused_is_final and refused(exc)):
                raise
            error = exc
        if on_attempt is not None:
            on_attempt(attempt, error)
        left = deadline - time.monotonic()
        if left <= 0:
            raise error
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
