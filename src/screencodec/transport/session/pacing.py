"""How much of a file may be on its way: a window that keeps the path's
queue short, so the screen and the keys are not stuck behind a file.

A file sent as fast as the socket takes it fills every buffer on the way (the
kernel's send buffer, the home router's): measured over 4 Mbit/s and 40 ms,
a 4 MB file from the host put the screen 3.6 s behind (p50; 5.7 s p95) for
as long as it flowed, and one from the agent 1.4 s (its receipts and keys
waited behind the file). So the receiver says how far it got
(:data:`~.sidechannels.FILE_RESULTS_CHANNEL`, payload 0x04) after each
chunk, and the sender keeps the bytes not yet confirmed under a window that
follows the queueing delay those confirmations show, in the way of LEDBAT
(RFC 6817), a "scavenger" transport that yields to everything else:

* **Delay.** A chunk's round trip (sent, to the confirmation that covers it)
  minus the least round trip of the last ``base_window`` seconds is the
  queue it met; the least of the last few such samples filters out a late
  reader.
* **Window.** Below ``target`` of queueing the window grows (1.5 times per
  round trip until a quarter of the target shows, then one chunk per round
  trip scaled by how far below the target it is); above, it shrinks once a
  round trip in proportion (by half at twice the target), from what is in
  flight. It stays within twice what is in flight (a window not filled says
  nothing of the path) and never goes below two chunks, so a file always
  moves.
* **Chunks** take about 2 ms of the rate the peer confirms, 8 kB to 256 kB:
  one holds a screen update back by at most its
  own time on the link (16 ms at 4 Mbit/s), and on a LAN large chunks keep
  the sender from being bound by its work per chunk.

``target`` (20 ms) is under the screen's own congestion threshold
(:attr:`~.flow.FlowConfig.max_queue_delay`, 30 ms), so when both compete
the file gives way first. A peer that stops confirming stalls a transfer by
at most ``stall`` per chunk, never forever.

One sender's transfers share one window (they share the link). Owned by one
event loop; no locking.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

__all__ = ["LEAST_CHUNK", "BulkWindow"]

#: The smallest chunk a paced sender sends (bytes): 16 ms at 4 Mbit/s.
LEAST_CHUNK = 8 * 1024
_MOST_CHUNK = 256 * 1024
_FILTER = 4  #: queueing-delay samples whose least is the current delay
_CHUNK_TIME = 0.002  #: a chunk's time at the rate confirmed
_RATE_SAMPLES = 16  #: confirmations the rate is measured over
_RATE_SPAN = 0.020  #: the least time the rate is measured over


class BulkWindow:
    """See the module docstring. Times in seconds, sizes in bytes."""

    def __init__(
        self,
        *,
        target: float = 0.020,
        initial: int = 4 * LEAST_CHUNK,
        most: int = 16 << 20,
        base_window: float = 10.0,
        stall: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if target <= 0 or initial < 2 * LEAST_CHUNK or most < initial or stall <= 0:
            raise ValueError("target, stall > 0; 2 chunks <= initial <= most")
        self.target, self.most, self.stall = target, most, stall
        self.base_window = base_window
        self.window = float(initial)
        self.in_flight = 0
        self.delay = 0.0  #: the current queueing delay (filtered)
        self.rate = 0.0  #: bytes a second the peer confirmed lately
        self.slow_start = True
        self.stalls = 0  #: chunks sent without room after ``stall`` seconds
        self.closed = False  #: the session ended: nothing waits for room
        self._clock = clock
        self._out: dict[int, deque[tuple[int, int, float]]] = {}  # transfer: (end, size, sent)
        self._rtts: deque[tuple[float, float]] = deque()  # (when, round trip) for the base
        self._delays: deque[float] = deque(maxlen=_FILTER)
        self._acks: deque[tuple[float, int]] = deque(maxlen=_RATE_SAMPLES)  # (when, bytes)
        self._cut_at = -1e9
        self._room = asyncio.Event()

    def chunk(self) -> int:
        """The size of the next chunk: about ``_CHUNK_TIME`` of the rate the
        peer confirms: 8 kB on a home uplink, up to 256 kB on a LAN, where
        small chunks would leave the sender bound by its work per chunk (one
        chunk may always go when nothing is in flight)."""
        return int(min(_MOST_CHUNK, max(LEAST_CHUNK, self.rate * _CHUNK_TIME)))

    async def wait_room(self, size: int) -> None:
        """Until ``size`` more bytes fit in the window (at once when nothing
        is in flight; after ``stall`` seconds without a confirmation anyway)."""
        while self.in_flight and self.in_flight + size > self.window and not self.closed:
            self._room.clear()
            # asyncio.wait, not wait_for: on Python 3.11 wait_for returns when
            # its caller is cancelled as room comes in the same turn (gh-86296),
            # and a send stopped then went on to the file's end (rstop36 saw
            # the host's /stop lost under load: tests/.../test_rstop36_room_cancel).
            room = asyncio.ensure_future(self._room.wait())
            try:
                done, _ = await asyncio.wait({room}, timeout=self.stall)
            finally:
                room.cancel()
            if not done:
                self.stalls += 1
                return

    def close(self) -> None:
        """The session ended: whoever waits for room stops waiting (their
        send then fails as the session's do)."""
        self.closed = True
        self._room.set()

    def sent(self, transfer: int, end: int, size: int) -> None:
        """``size`` bytes of ``transfer`` up to offset ``end`` went."""
        self._out.setdefault(transfer, deque()).append((end, size, self._clock()))
        self.in_flight += size

    def confirmed(self, transfer: int, received: int) -> None:
        """The receiver has ``received`` bytes of ``transfer``. Confirmations
        of transfers not in flight, or of nothing new, change nothing."""
        out = self._out.get(transfer)
        if not out or out[0][0] > received:
            return
        now = self._clock()
        flight = self.in_flight
        acked, sent_at = 0, now
        while out and out[0][0] <= received:
            _, size, sent_at = out.popleft()
            acked += size
        self.in_flight -= acked
        self._acks.append((now, acked))
        # Over 20 ms at least: confirmations read in a burst would make the
        # rate, and so the chunks, seem many times what the path carries.
        span = max(now - self._acks[0][0], _RATE_SPAN)
        self.rate = sum(n for _, n in list(self._acks)[1:]) / span
        self._sample(now - sent_at, now)
        self._adapt(acked, flight, now)
        self._room.set()

    def forget(self, transfer: int) -> None:
        """``transfer`` ended (sent whole, failed or withdrawn): what of it is
        still unconfirmed no longer holds the window."""
        out = self._out.pop(transfer, None)
        if out:
            self.in_flight -= sum(size for _, size, _ in out)
            self._room.set()

    def _sample(self, rtt: float, now: float) -> None:
        # The least round trip per second of the last ``base_window``: a few
        # entries, however many confirmations a fast link brings.
        if self._rtts and now - self._rtts[-1][0] < 1.0:
            self._rtts[-1] = (self._rtts[-1][0], min(self._rtts[-1][1], rtt))
        else:
            self._rtts.append((now, rtt))
        while self._rtts[0][0] < now - self.base_window and len(self._rtts) > 1:
            self._rtts.popleft()
        base = min(r for _, r in self._rtts)
        self._delays.append(rtt - base)
        self.delay = min(self._delays)

    def _adapt(self, acked: int, flight: int, now: float) -> None:
        least = 2.0 * LEAST_CHUNK
        if self.delay > self.target:
            self.slow_start = False
            # Down once a round trip, in proportion: by a quarter at 1.5
            # times the target, by half at twice it.
            if now - self._cut_at > self._base_rtt() + self.delay:
                over = (self.delay - self.target) / self.target
                # From what is in flight: a window the sender did not fill
                # says nothing of the path, and cut alone would not bite.
                base = min(self.window, max(least, float(flight)))
                self.window = max(least, base * max(0.5, 1 - over / 2))
                self._cut_at = now
        elif self.slow_start and self.delay < self.target / 4:
            # Half of what was confirmed: 1.5 times per round trip, as the
            # delay that ends it shows a round trip late.
            self.window = min(self.most, self.window + acked / 2)
        else:
            self.slow_start = False
            off = (self.target - self.delay) / self.target  # 1 (no queue) .. 0 (the target)
            self.window = min(
                float(self.most), self.window + off * acked * LEAST_CHUNK / self.window
            )
        # Never far above what is used, which would let a burst through
        # later: twice what was in flight.
        self.window = min(self.window, max(2 * least, 2.0 * flight))

    def _base_rtt(self) -> float:
        return min((r for _, r in self._rtts), default=0.0)
