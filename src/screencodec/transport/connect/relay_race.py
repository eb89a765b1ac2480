"""Which relay of several to dial: connection attempts started a short
delay apart, the first to connect taken (RFC 8305's staggered attempts,
"happy eyeballs", across a cluster's relays rather than one name's
addresses), and relays that failed put last for a while (relay43).

Before, a host that lost its relay tried the relays it knew one per backoff
step: with 9 dead relays listed before the live one it registered again
40 s after its relay died. Used by the host's registration
(connect/registration.py) and the agent's reconnection (connect/via_relay.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from screencodec.errors import TransportError
from screencodec.transport.connect.accept import open_stream
from screencodec.transport.connect.relay_cluster import relay_address

__all__ = [
    "FIRST_ANSWER",
    "SHUN_FOR",
    "STAGGER",
    "Raced",
    "Shunned",
    "first_connected",
    "staggered_first",
]

T = TypeVar("T")

#: Seconds between the starts of two connection attempts while none has
#: connected (RFC 8305's Connection Attempt Delay, 250 ms recommended): a
#: relay that refuses at once (nothing listens) hands on to the next at
#: once; one that does not answer (a machine gone) costs this much.
STAGGER = 0.25
#: Seconds a relay that accepted the connection is given to answer its
#: RELAY_OPEN while other relays are left to try (a registration's claim
#: and member read take milliseconds; a directory call is given 2 s): a
#: relay that accepts and answers nothing (stopped, hung) is passed over.
FIRST_ANSWER = 3.0
#: Seconds a relay that refused, did not answer or was no relay is tried
#: after the others (never left out: if every other fails, it is tried too).
SHUN_FOR = 30.0


class Shunned:
    """Relays that failed lately (:data:`SHUN_FOR`), to be tried last. Holds
    one entry per address that failed within that time, no other; one
    instance may be shared by callers ordering different lists (the
    agent's, process-wide: connect/via_relay.py), and ordering one list
    forgets nothing of another's (before relay46 it kept only the list's)."""

    def __init__(self, most: float = SHUN_FOR) -> None:
        self._until: dict[tuple[str, int], float] = {}
        self._most = most

    def failed(self, address: tuple[str, int]) -> None:
        now = time.monotonic()
        self._until = {a: t for a, t in self._until.items() if t > now}
        self._until[relay_address(*address)] = now + self._most

    def answered(self, address: tuple[str, int]) -> None:
        self._until.pop(relay_address(*address), None)

    def order(self, addresses: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """``addresses`` in their order, those that failed lately last."""
        now = time.monotonic()
        self._until = {a: t for a, t in self._until.items() if t > now}
        fresh = [a for a in addresses if relay_address(*a) not in self._until]
        return fresh + [a for a in addresses if relay_address(*a) in self._until]


@dataclass
class Raced(Generic[T]):
    """What :func:`staggered_first` came to: the winner's index and result
    (None, None: every attempt failed) and the errors of those that failed
    before it, by index."""

    index: int | None
    result: T | None
    failed: dict[int, BaseException] = field(default_factory=dict)


async def staggered_first(
    count: int,
    attempt: Callable[[int], Awaitable[T]],
    stagger: float,
    *,
    fatal: Callable[[BaseException], bool] = lambda exc: False,
    unused: Callable[[T], Awaitable[None]] | None = None,
    again: Callable[[int, BaseException], float | None] | None = None,
    until: float | None = None,
) -> Raced[T]:
    """Attempts ``attempt(0)`` .. ``attempt(count - 1)``, each started when
    all before it failed or ``stagger`` seconds passed with none finished
    (RFC 8305); the attempts already made go on. The first to succeed wins;
    an error ``fatal`` calls so is raised at once; the others are stopped,
    and a result one had reached meanwhile is given to ``unused``. The
    host's registration and the agent's reconnection race their relays
    through this one loop.

    ``again`` and ``until`` (the loop's time): once every index was tried,
    one whose attempt failed with an error for which ``again(index, error)``
    gives a delay is attempted once more, that many seconds after its last
    start at the soonest, until ``until`` (relay46: a relay whose answer was
    a redirect to a relay that answers nothing is asked again, and its
    directory's answer may have changed since: the host moved); None: not
    again. ``failed`` keeps each index's last error."""
    loop = asyncio.get_running_loop()
    tasks: dict[asyncio.Future[T], int] = {}
    failed: dict[int, BaseException] = {}
    last_start: dict[int, float] = {}
    redial: dict[int, float] = {}  # index -> its delay: failed, to be made again

    def start(index: int) -> None:
        tasks[asyncio.ensure_future(attempt(index))] = index
        last_start[index] = loop.time()

    def next_redial() -> tuple[int, float] | None:
        """The index to attempt again soonest, and when; None: none may be."""
        if until is None or not redial:
            return None
        at, index = min((last_start[i] + delay, i) for i, delay in redial.items())
        return None if at >= until else (index, at)

    started = 0
    try:
        while True:
            wait: float | None = None
            if started < count:
                start(started)
                started += 1
                wait = stagger if started < count else None
            if started >= count and (soonest := next_redial()) is not None:
                index, at = soonest
                if at <= loop.time():
                    del redial[index]
                    start(index)
                    soonest = next_redial()
                wait = None if soonest is None else max(0.0, soonest[1] - loop.time())
            if not tasks:
                if wait is None:
                    return Raced(None, None, failed)
                await asyncio.sleep(wait)
                continue
            done, _ = await asyncio.wait(tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=tasks.__getitem__):
                index = tasks.pop(task)
                exc = task.exception()
                if exc is None:
                    return Raced(index, task.result(), failed)
                if fatal(exc):
                    raise exc
                failed[index] = exc
                if again is not None and (delay := again(index, exc)) is not None:
                    redial[index] = delay
    finally:
        for task in tasks:
            task.cancel()
        for got in await asyncio.gather(*tasks, return_exceptions=True):
            if unused is not None and not isinstance(got, BaseException):
                await unused(got)


async def first_connected(
    addresses: Sequence[tuple[str, int]], timeout: float | None, stagger: float = STAGGER
) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter, dict[int, TransportError]]:
    """The first of ``addresses`` to accept a TCP connection: its index, its
    stream, and the errors of those that failed meanwhile (by index). The
    next attempt starts when one fails or ``stagger`` seconds pass without
    any connecting; the others are stopped (a connection made meanwhile is
    closed: nothing was sent on it). None connects: the first address's
    error (TransportError, its ``errno`` the system's)."""

    async def closed(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        with contextlib.suppress(Exception):
            stream[1].close()

    raced = await staggered_first(
        len(addresses), lambda i: open_stream(*addresses[i], timeout), stagger, unused=closed
    )
    failed = {
        i: exc if isinstance(exc, TransportError) else TransportError(str(exc))
        for i, exc in raced.failed.items()
    }
    if raced.index is None or raced.result is None:
        raise failed[min(failed)]
    reader, writer = raced.result
    return raced.index, reader, writer, failed
