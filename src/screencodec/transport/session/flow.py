"""Per-viewer flow control: an in-flight window over acks, and an AIMD frame interval.

State, owned by one viewer's send loop (single task, no locking):

* ``window``: at most this many updates sent and not yet acked. When the
  window is full the host does *not* queue: it skips the tick. The skipped
  screen changes are not lost; the viewer's encoder still holds what it last
  sent, so the next encode diffs against that and the damage merges.
* ``interval``: the time between ticks. Every skip (the link could not keep
  up) multiplies it by ``backoff``; every ack with no skip since the previous
  ack takes ``step`` off it (additive), within ``[min_interval, max_interval]``.
  Classic AIMD on rate: it probes upward slowly and backs off fast.

Acks are cumulative; an ack for a sequence never sent is a ProtocolError.
"""

from __future__ import annotations

from collections import OrderedDict

from screencodec.errors import ProtocolError

__all__ = ["FlowControl"]


class FlowControl:
    def __init__(
        self,
        window: int = 3,
        *,
        min_interval: float = 1 / 60,
        max_interval: float = 0.5,
        backoff: float = 1.5,
        step: float = 0.002,
    ) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.backoff = backoff
        self.step = step
        self.interval = min_interval
        self.next_seq = 1
        self.acked = 0
        self.srtt: float | None = None
        self.skipped = 0
        self.max_seen_in_flight = 0
        self._congested = False  # a skip happened since the last ack
        self._sent: OrderedDict[int, float] = OrderedDict()  # seq -> send time

    @property
    def in_flight(self) -> int:
        return len(self._sent)

    def can_send(self) -> bool:
        return len(self._sent) < self.window

    def skip(self) -> None:
        """The window was full at a tick: count it and slow down."""
        self.skipped += 1
        self._congested = True
        self.interval = min(self.max_interval, self.interval * self.backoff)

    def sent(self, now: float) -> int:
        """Record one update sent now; returns its sequence number."""
        if not self.can_send():
            raise RuntimeError("window is full")  # a bug in the caller, not the peer
        seq = self.next_seq
        self.next_seq = (seq + 1) & 0xFFFFFFFF or 1
        self._sent[seq] = now
        self.max_seen_in_flight = max(self.max_seen_in_flight, len(self._sent))
        return seq

    def ack(self, seq: int, now: float) -> float:
        """Process a cumulative ack; returns the RTT of ``seq`` in seconds."""
        if seq not in self._sent:
            if seq == self.acked:
                return self.srtt or 0.0  # duplicate ack: harmless
            raise ProtocolError(f"ack for update {seq}, which is not in flight")
        sent_at = 0.0
        while self._sent:
            s, t = self._sent.popitem(last=False)
            if s == seq:
                sent_at = t
                break
        self.acked = seq
        rtt = max(0.0, now - sent_at)
        self.srtt = rtt if self.srtt is None else 0.875 * self.srtt + 0.125 * rtt
        if not self._congested:
            self.interval = max(self.min_interval, self.interval - self.step)
        self._congested = False
        return rtt

    def reset(self) -> None:
        """Forget what is in flight (e.g. after a monitor switch with a keyframe)."""
        self._sent.clear()
