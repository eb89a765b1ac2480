"""Whether the live link holding a session has gone silent: probed, it shows no life.

A connection that presents the ticket a live link took its session up with
(its viewer not yet shown to hold the next one) waits for that link: until
its viewer answers an update (then the ticket is spent and the user is
asked) or the link is lost (then the session resumes), ``_SETTLE_WAIT``
(5 s) at most (.resume: one ticket never lets two connections in). A link
that dropped without a reset (the agent's Wi-Fi gone, a NAT mapping
expired) is neither: the agent's retry waited the 5 s and the host's user
was asked again (takeover36).

So the host probes that link, a keepalive asking for an answer at once
(channel/sealed.py :data:`~..channel.sealed.PROBE`), and watches it for
life: a record from its viewer (the answer, a receipt, anything), or its
TCP acknowledging anything of ours after the probe went (the probe's bytes,
or bytes before them on a slow link). A live peer's kernel does that
within a round trip and its delayed-ack time (40-200 ms on Linux),
however busy the viewer's program. Nothing of it within
:data:`SILENT_AFTER` (4 round trips if longer): the link is silent, and
the session is taken over from it (.resume), unasked. A peer whose
receive window is closed (its buffer full: its program reads slowly, or
not at that moment) acknowledges only the kernel's window probes, seconds
apart as they back off: it is never judged silent.

A replayed ticket whose agent is there gains nothing by it: that link
acknowledges, so the replayer waits and is asked about, as before. But
one who holds a copy of that ticket (and the password) and can DROP the
agent's packets for a second (on its path: not cut them, nothing forged)
makes the live link silent, and is granted the session, view and control,
unasked, in 1.08-1.31 s (attack36, tests/transport/test_attack36_blip.py).
Before this probe that needed the host's channel ``idle`` (45 s) of
silence to find the link lost: a dropped-not-cut link was waited for 5 s
and the copy asked about. The power to take the session was NOT already
there: this probe widened it from 45 s of dropping to 1 s. So the host
probes only for a retry that proves it holds the live link's key
(session/proof.py, pop36): a copy of the ticket alone is not probed for,
and waits and is asked about as before.

Where nothing tells (another system than Linux, a channel that is not a
sealed one's) the link is never judged silent: the wait is as before. So too
through a relay: the host's TCP peer is the relay, which acknowledges.
"""

from __future__ import annotations

import asyncio

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.base import Channel, ChannelTap
from screencodec.transport.channel.sealed import SecureChannel

__all__ = ["SILENT_AFTER", "silent"]

#: How long a probed link may show no life before it is taken for silent
#: (at least: 4 of its round trips when that is longer).
SILENT_AFTER = 1.0
#: How often the link is looked at meanwhile.
_LOOK_EVERY = 0.02
#: An acknowledgement the kernel dates this close before the probe (its
#: clock counts in ticks of 1-10 ms) may be the probe's: not counted as one.
_TICKS = 0.02


async def silent(channel: Channel, most: float) -> bool:
    """Probe ``channel``'s peer; True once it showed no life for
    :data:`SILENT_AFTER` (or 4 round trips) after the probe, if that is
    within ``most`` seconds; False at its first sign of life, at once when
    this system cannot tell, and when the bound is past ``most``."""
    wire = channel
    while isinstance(wire, ChannelTap):
        wire = wire.inner
    if not isinstance(wire, SecureChannel):
        return False
    first = wire.acknowledged()
    if first is None or not first[1].window:
        return False
    taken, tcp = first
    bound = max(SILENT_AFTER, 4 * tcp.rtt)
    if bound > most:
        return False
    loop = asyncio.get_running_loop()
    sent = loop.time()
    try:
        wire.probe()
    except (SessionClosedError, OSError, RuntimeError):
        return False  # gone: its end is seen as a lost link's
    while True:
        await asyncio.sleep(_LOOK_EVERY)
        now = wire.acknowledged()
        if now is None or wire.last_heard >= sent:
            return False  # closed meanwhile, or heard from
        took, tcp = now
        if took > taken or loop.time() - tcp.age > sent + _TICKS:
            return False  # its TCP acknowledged something since the probe
        if not tcp.window:
            return False  # its buffer is full: its program reads slowly, or not now
        if loop.time() >= sent + bound:
            return True
