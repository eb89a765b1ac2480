"""When the host's own TCP retransmitted: updates whose spans a lost segment stretched.

A lost segment holds every byte behind it in the viewer's kernel until its
retransmit comes, a round trip or more later. The update it was in arrives
stretched (its bytes up to the hole on time, the rest with the retransmit)
and the updates sent meanwhile arrive whole at that instant, their first
bytes late by as long as they waited. Neither is the bottleneck's rate or
its queue. Traced over ``wire:4M,40ms,loss=2%,tcp=reno`` (flow44): spans of
100-175 ms where the link takes 5-25 ms timed it at 0.1-0.3 Mbit/s; the
flow's estimate, a few trains' bytes over their spans and capped by the last
ones under the "queue" the stall showed, fell to 0.1-0.5 Mbit/s, the encoder
made 0.5-2 kB updates too small to time the link again, and the session
carried a fifth to a half of what one bulk TCP flow carries there.

The host's kernel counts its retransmits (``TCP_INFO``'s
``tcpi_total_retrans``, read by :func:`.receipt_bound.kernel_state`): no
receipt can forge it. :class:`Retransmits` keeps when the count was seen to
rise; an update answered after a rise and sent before it, or within a round
trip after it, may have waited behind the hole it filled or gone out while a
loss-based TCP's window was halved (:meth:`Retransmits.since`): the flow
control (:mod:`.flow`) does not time the link by its span, nor count its
delay as a queue unless that is over what a hole can hold (under a queue
of seconds every update sees a retransmit on its way). A queue still shows
on the updates no retransmit touched, and without loss nothing changes.
The count is of the host's own segments
only (a lost receipt is the viewer's kernel's to resend); a tail-loss probe
or a spurious timeout counts too: an update is then left out that need not
have been, which costs one sample.

State is one viewer's send loop's (one event loop, no locking).
"""

from __future__ import annotations

from collections import deque

__all__ = ["Retransmits"]

#: Rises kept: a few seconds of a lossy link's (2 % of 300 packets a second).
_KEPT = 64


class Retransmits:
    """When the host socket's retransmit count was seen to rise."""

    def __init__(self) -> None:
        self.count: int | None = None  #: the last count read
        self.rises = 0  #: readings that found it risen
        self._at: deque[float] = deque(maxlen=_KEPT)

    def observe(self, count: int | None, now: float) -> None:
        """A reading of the socket's retransmits (cumulative; None: unknown)."""
        if count is None:
            return
        if self.count is not None and count > self.count:
            self._at.append(now)
            self.rises += 1
        self.count = count

    def since(self, start: float) -> bool:
        """Was a retransmit seen at ``start`` or after?"""
        return bool(self._at) and self._at[-1] >= start
