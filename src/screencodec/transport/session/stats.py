"""Rolling counters for one viewer link, reported once a second.

A :class:`StatsMeter` is fed by the host's send loop (single task, no lock) and
turned into an immutable :class:`LinkStats` snapshot for events and the CLI.
:class:`StatsGate` decides which snapshots are worth a ``Stats`` message to
the viewer: on an idle screen a message a second would be one of the largest
things on the wire (43 bytes with its framing, 0.34 kbit/s), for figures that
do not move.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

__all__ = ["BUSY_KBPS", "REFRESH_PERIODS", "LinkStats", "StatsGate", "StatsMeter"]

#: A viewer's figures are sent again after this many stats periods even when
#: nothing moved (so a figure that drifted slowly is not stale for long).
REFRESH_PERIODS = 10
#: At or above this many kbit/s of updates a Stats message every period costs
#: under 0.4 % of the traffic: then every snapshot goes.
BUSY_KBPS = 100.0
#: A figure moved meaningfully when it changed by more than this share of the
#: larger value, and by more than its own absolute step below.
_SHARE = 0.25
_FPS_STEP = 2.0
_KBPS_STEP = 16.0
_RTT_STEP_MS = 5.0


@dataclass(frozen=True, slots=True)
class LinkStats:
    """One snapshot. Rates over the last ``window`` seconds; counters since start."""

    peer: str
    fps: float
    kbps: float
    rtt_ms: float
    in_flight: int
    sent: int
    skipped: int
    input_dropped: int
    bytes_sent: int
    #: The bottleneck rate measured by congestion control, and the share of it
    #: updates are held to (kbit/s).
    link_kbps: float = 0.0
    target_kbps: float = 0.0
    #: Smoothed queueing delay at the bottleneck.
    queue_ms: float = 0.0
    #: Pixels the viewer shows that are not yet exact (lossy, being refined).
    lossy_pixels: int = 0
    #: PSNR of the newest lossy pixels sent (None: none since the last report).
    psnr: float | None = None
    #: The viewer's input ignored, by kind (input_gate.IGNORED_KINDS: keys,
    #: pointer moves, clicks, scrolls); ``input_dropped`` counts messages.
    input_ignored: tuple[int, ...] = (0, 0, 0, 0)

    def line(self) -> str:
        quality = "exact" if not self.lossy_pixels else f"{self.lossy_pixels} px lossy"
        if self.psnr is not None:
            quality += f" ({self.psnr:.1f} dB)"
        # 0.0: no round trip measured yet (a measured one is never exactly 0).
        rtt = f"rtt {self.rtt_ms:6.1f} ms" if self.rtt_ms else "rtt not measured yet"
        return (
            f"{self.peer}: {self.fps:5.1f} fps {self.kbps:8.1f} kbit/s, link"
            f" {self.link_kbps / 1000:.1f} Mbit/s {rtt}"
            f" queue {self.queue_ms:5.1f} ms {quality}"
            f" skipped {self.skipped} input dropped {self.input_dropped}"
        )


class StatsMeter:
    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._events: deque[tuple[float, int]] = deque()  # (time, bytes) of recent sends
        self.sent = 0
        self.bytes_sent = 0

    def on_send(self, nbytes: int, now: float | None = None) -> None:
        t = time.monotonic() if now is None else now
        self._events.append((t, nbytes))
        self.sent += 1
        self.bytes_sent += nbytes
        self._trim(t)

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.window:
            self._events.popleft()

    def rates(self, now: float | None = None) -> tuple[float, float]:
        """``(fps, kbit/s)`` over the window."""
        t = time.monotonic() if now is None else now
        self._trim(t)
        n = len(self._events)
        total = sum(b for _, b in self._events)
        return n / self.window, total * 8 / 1000 / self.window


def _moved(old: float, new: float, step: float) -> bool:
    return abs(new - old) > max(step, _SHARE * max(abs(old), abs(new)))


class StatsGate:
    """Which of a link's periodic snapshots go to the viewer as ``Stats``.

    Every snapshot still becomes a local ``StatsUpdated`` event; the message
    goes when a figure the viewer shows (fps, kbit/s, RTT, skipped ticks)
    moved meaningfully since the last one sent, when the link is busy
    (:data:`BUSY_KBPS`: the message is then noise on the wire), and at least
    every :data:`REFRESH_PERIODS` snapshots. "Meaningfully": fps going to or
    from zero, any skipped tick, or a change over both a quarter of the value
    and 2 fps, 16 kbit/s or 5 ms. ``sent`` (updates so far) alone is not news.

    State: the last snapshot sent and how many were held back since; owned by
    the link's stats loop (one task, no lock).
    """

    def __init__(self, refresh: int = REFRESH_PERIODS) -> None:
        self.refresh = refresh
        self.last: LinkStats | None = None  #: the last snapshot sent
        self.held = 0  #: snapshots held back since it

    def due(self, snap: LinkStats) -> bool:
        """Whether ``snap`` goes to the viewer; if so it becomes :attr:`last`."""
        last = self.last
        send = (
            last is None
            or self.held + 1 >= self.refresh
            or snap.kbps >= BUSY_KBPS
            or snap.skipped != last.skipped
            or (snap.fps == 0) != (last.fps == 0)
            or _moved(last.fps, snap.fps, _FPS_STEP)
            or _moved(last.kbps, snap.kbps, _KBPS_STEP)
            or _moved(last.rtt_ms, snap.rtt_ms, _RTT_STEP_MS)
        )
        if send:
            self.last, self.held = snap, 0
        else:
            self.held += 1
        return send
