"""A host's doubt of its relay (relay44): a session through it gone silent.

A relay that stops (SIGSTOP, a VM paused, a hung process) keeps its
connections open and says nothing. The host noticed only after three
unanswered pings on its control connection (30 s by default), and the agent,
reconnecting, was sent back to the silent relay (its claim still named it)
until then: a person's view stood still for 36 s (measured: ``host --relay
A``, ``view --relay A``, A stopped). A session's own link says it sooner: a
viewer that keeps its link warm is heard from at least every ``warm`` (3 s)
seconds, so once one has been silent for :data:`DOUBT_AFTER` the host asks
its relay at once (a ping on the control connection, which a relay answers
as it reads it) and takes the relay for silent if nothing at all comes from
it within :data:`DOUBT_ANSWER`. A relay that is merely slow (at load, behind
a slow uplink) answers, and nothing moves: the session's link then ends, if
it does, by its own ``cold`` timeout, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect.relay_race import FIRST_ANSWER

__all__ = ["DOUBT_AFTER", "DOUBT_ANSWER", "relay_went_silent"]

#: A warm viewer's silence (seconds) after which its host asks its relay:
#: twice ``Timeouts.warm`` (3 s), as the host's "no word from" line; the
#: longest wait for a warm viewer's byte measured at a host is 3.2 s
#: (docs/transport.md, "A warm link gone cold").
DOUBT_AFTER = 6.0
#: How long a relay asked has to say anything: a first answer's bound.
DOUBT_ANSWER = FIRST_ANSWER
#: How often the host's channels are looked at.
_LOOK_EVERY = 0.5
#: The step of the wait for the relay's answer.
_STEP = 0.25


async def relay_went_silent(
    channels: Callable[[], Iterable[SecureChannel]],
    ping: Callable[[], None],
    heard: Callable[[], float],
) -> None:
    """Return once the relay said nothing within :data:`DOUBT_ANSWER` of a
    ``ping`` sent because a warm viewer's channel had been silent for
    :data:`DOUBT_AFTER`; ``heard`` is the loop time the relay last sent a
    frame. Each silence of a channel is asked about once."""
    loop = asyncio.get_running_loop()
    asked: dict[SecureChannel, float] = {}  # channel -> the silence asked about
    while True:
        await asyncio.sleep(_LOOK_EVERY)
        now = loop.time()
        asked = {c: w for c, w in asked.items() if not c.closed}
        doubted = False
        for channel in channels():
            since = channel.waiting_since  # None: the host is not reading it
            if not channel.keeps_warm or since is None or now - since < DOUBT_AFTER:
                continue
            if asked.get(channel) != since:
                asked[channel] = since
                doubted = True
        if not doubted:
            continue
        sent = loop.time()
        ping()
        waited = 0.0
        while waited < DOUBT_ANSWER and heard() < sent:
            before = loop.time()
            await asyncio.sleep(_STEP)
            # A stall of this host's own loop (starved of CPU) is not the
            # relay's silence: its answer may be waiting unread.
            waited += min(loop.time() - before, 2 * _STEP)
        if heard() < sent:
            return
