"""What the host may believe of a viewer's receipts about the customer's uplink.

The agent's viewer is authenticated, not trusted with the customer's uplink.
A receipt's stamps (when an update's last byte came, and its *span*, how long
its bytes took from the first to the last) are the viewer's word: the flow
control (:mod:`.flow`) times the link by the spans, and a viewer whose
receipts say every update came in 0.3 ms had the host target ~150 Mbit/s
over a 1 Mbit/s link and keep its 256 kB modem buffer full, 2 s of lag for
everything else on the uplink (review42). The backoff's cuts cover a rate
about 20 times too high (its floor is 0.05), not 150.

Two checks, neither of which takes the viewer's word for more than it can
show:

* :class:`SpanDoubt`, in the flow control: spans that claim far more than the
  receipts show delivered, while the stamps show a queue and the window is
  full (so the receipts clock the sends: what they deliver is the path's
  rate, not what the screen had to send), are not believed again for the
  session: the viewer is timed as one that only acks (version 0.1), by what
  its receipts deliver, on the host's own clock. An honest viewer's spans
  under a queue time the link that delivers the updates: within a few per
  cent of what is delivered, not ``_DOUBT`` times it.
* :class:`SocketBound`, in the send loop: the host's own TCP socket, which
  no receipt can forge (the peer's *kernel* acknowledges its bytes; through
  a relay, the relay's, past the customer's uplink). While bytes wait unsent
  in it (Linux ``TCP_INFO``'s ``tcpi_notsent_bytes`` and asyncio's write
  buffer), the path is slower than what we send, whatever the receipts say:
  no new update is handed to it until what waits would leave within
  ``queue_target`` at the rate the socket drains, and the encoder's rate
  is held to ``_SLACK`` times that drain rate (for ``_RECENT`` seconds
  after). The kernel's round trip over its minimum is NOT a reason to hold:
  someone else's upload on the customer's uplink raises it as much as our
  own queue does, and holding every send while it stands high (stop and
  wait, one update a round trip) starved an honest session sharing a
  bloated uplink (review43); a viewer that forges its stamps too makes the
  host fill that buffer no more than any bulk TCP upload does.

Neither bounds a viewer that also forges its *TCP* acknowledgements (an
optimistic-ack attacker controlling its kernel); through a relay it cannot.
"""

from __future__ import annotations

import socket
import sys
from collections import deque
from dataclasses import dataclass

__all__ = ["KernelState", "SocketBound", "SpanDoubt", "kernel_state"]

#: Spans claiming over this many times the rate the receipts deliver, under
#: a queue and a full window, are not believed. The backoff (floor 0.05,
#: headroom 0.9) covers an estimate up to ~20 times the link; honest spans
#: under a queue are within a few per cent of what is delivered.
_DOUBT = 8.0
#: The queue must show twice ``max_queue_delay`` (a CPU stall lifts it to
#: 31-49 ms, spike41) ...
_HARD = 2.0
#: ... from a receipt with the window full on, for this share of
#: ``rate_window`` of receipts.
_DOUBT_FOR = 0.25


#: What was delivered is timed over the receipts of up to this long (a
#: queue of seconds spaces them by seconds: a rate window may hold one) ...
_DELIVERED_OVER = 4.0
#: ... and at least this long.
_DELIVERED_MIN = 0.5


class SpanDoubt:
    """Whether a viewer's spans are to be believed (see the module docstring).

    Fed by the flow control at each receipt; ``doubted`` stays True once
    set. State is the flow's: one viewer, one event loop."""

    def __init__(self) -> None:
        self.doubted = False
        self._since: float | None = None
        self._acked: deque[tuple[float, int]] = deque()  # (time, bytes): each receipt's

    def delivered(self, now: float) -> float | None:
        """Bytes a second the receipts acknowledged (None: too few yet)."""
        while self._acked and self._acked[0][0] < now - _DELIVERED_OVER:
            self._acked.popleft()
        if len(self._acked) < 2 or now - self._acked[0][0] < _DELIVERED_MIN:
            return None
        # The first receipt's bytes came before its time: not counted.
        return (sum(n for _, n in self._acked) - self._acked[0][1]) / (now - self._acked[0][0])

    def check(self, now: float, acked: int, *, claimed: float, over: float, full: bool,
              window: float) -> bool:  # fmt: skip
        """A receipt acknowledged ``acked`` bytes; ``claimed``: the rate the
        spans give (bytes/s); ``over``: the stamps' queueing delay (with any
        level learnt as standing: a lie makes our own queue look like someone
        else's) over the threshold, a queue when ``_HARD`` or more; ``full``:
        the window or the bytes in flight held the sends (needed where the
        run starts: the receipts clock the sends). True when the spans are
        now doubted."""
        self._acked.append((now, acked))
        if self.doubted:
            return False
        delivered = self.delivered(now)
        queued = over >= _HARD
        lying = queued and delivered is not None and claimed > _DOUBT * delivered
        if not lying:
            self._since = None
            return False
        if self._since is None:
            if not full:
                return False
            self._since = now
        if now - self._since < _DOUBT_FOR * window:
            return False
        self.doubted = True
        return True


# -- the host's own socket ----------------------------------------------------

#: struct tcp_info (linux/tcp.h): the byte offsets of the fields read here.
_TCPI_UNACKED = 24  # u32, segments in flight
_TCPI_RTT = 68  # u32, microseconds
_TCPI_TOTAL_RETRANS = 100  # u32, segments retransmitted, cumulative
_TCPI_BYTES_ACKED = 120  # u64
_TCPI_NOTSENT = 144  # u32
_TCPI_MIN_RTT = 148  # u32, microseconds
_TCP_INFO_SIZE = 152

#: Bytes unsent in our socket up to this are no sign of a slow path (a few
#: segments waiting for the previous ones' acks).
_UNSENT_MIN = 4 * 1448
#: The drain rate is timed over at least this long of a socket holding bytes.
_DRAIN_TIMED = 0.2
#: While the socket held bytes this recently, the encoder's rate is held to
#: ``_SLACK`` times what it drained then (the path is slower than we send,
#: whatever the receipts say; honest ones say no more than the drain).
_RECENT = 2.0
_SLACK = 2.0
_POLL = 0.005  #: the least wait while the socket drains
#: the wait while bytes wait at a rate not timed (a peer that stopped
#: reading: not 200 wake-ups a second)
_POLL_QUEUE = 0.02


@dataclass(frozen=True, slots=True)
class KernelState:
    """One reading of the host's own TCP socket."""

    unsent: int  #: bytes not yet sent: asyncio's write buffer and the kernel's
    unacked: int  #: segments sent, not yet acknowledged
    acked: int  #: bytes the peer's TCP acknowledged, cumulative
    rtt: float  #: the kernel's smoothed round trip, seconds
    min_rtt: float  #: ... its minimum
    retrans: int = 0  #: segments it retransmitted, cumulative (:mod:`.retransmits`)


def kernel_state(transport: object) -> KernelState | None:
    """The host socket's state under an asyncio transport (Linux; None
    elsewhere, or when it cannot be read: a closed or non-TCP socket)."""
    option = getattr(socket, "TCP_INFO", None)
    get_extra_info = getattr(transport, "get_extra_info", None)
    if option is None or get_extra_info is None or sys.platform != "linux":
        return None
    sock = get_extra_info("socket")
    if sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, _TCP_INFO_SIZE)
        buffered = int(transport.get_write_buffer_size())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return None
    if len(info) < _TCP_INFO_SIZE:
        return None

    def field(offset: int, size: int = 4) -> int:
        return int.from_bytes(info[offset : offset + size], sys.byteorder)

    return KernelState(
        unsent=buffered + field(_TCPI_NOTSENT),
        unacked=field(_TCPI_UNACKED),
        acked=field(_TCPI_BYTES_ACKED, 8),
        rtt=field(_TCPI_RTT) / 1e6,
        min_rtt=field(_TCPI_MIN_RTT) / 1e6,
        retrans=field(_TCPI_TOTAL_RETRANS),
    )


class SocketBound:
    """What the host's own socket says of the path (see the module docstring).

    :meth:`observe` takes a reading (:func:`kernel_state`) at each turn of
    the send loop; :meth:`delay` says how long to hold the next update,
    :meth:`ceiling` the most the encoder's rate may be (``inf``: no bound).
    """

    def __init__(self, queue_target: float) -> None:
        self.queue_target = queue_target
        self.drain: float | None = None  #: bytes/s the socket moved while it held bytes
        self.state: KernelState | None = None
        self.held = 0  #: ticks it held back when due (counted by the send loop)
        self._backed: tuple[float, int] | None = None  # (since, acked then): holding bytes
        self._backed_at = -1e9  # when it last held bytes

    def observe(self, state: KernelState | None, now: float) -> None:
        self.state = state
        if state is None or state.unsent <= _UNSENT_MIN:
            self._backed = None
            return
        self._backed_at = now
        if self._backed is None:
            self._backed = (now, state.acked)
            return
        since, acked = self._backed
        if now - since >= _DRAIN_TIMED:
            # The socket held bytes all along: its acks came at the path's
            # pace, not ours (a lower bound where a receive window held it).
            self.drain = (state.acked - acked) / (now - since)
            self._backed = (now, state.acked)

    def ceiling(self, now: float) -> float:
        """The most the encoder's rate may be (bytes/s)."""
        if not self.drain or now - self._backed_at > _RECENT:
            return float("inf")
        return _SLACK * self.drain

    def delay(self) -> float:
        """Seconds to hold the next update (0: send now)."""
        s = self.state
        if s is None:
            return 0.0
        allowed = max(_UNSENT_MIN, (self.drain or 0.0) * self.queue_target)
        if s.unsent <= allowed:
            return 0.0
        if not self.drain:  # not timed yet, or a peer that stopped reading
            return _POLL_QUEUE
        return max(_POLL, (s.unsent - allowed) / self.drain)
