"""Rolling counters for one viewer link, reported once a second.

A :class:`StatsMeter` is fed by the host's send loop (single task, no lock) and
turned into an immutable :class:`LinkStats` snapshot for events and the CLI.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

__all__ = ["LinkStats", "StatsMeter"]


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

    def line(self) -> str:
        quality = "exact" if not self.lossy_pixels else f"{self.lossy_pixels} px lossy"
        if self.psnr is not None:
            quality += f" ({self.psnr:.1f} dB)"
        return (
            f"{self.peer}: {self.fps:5.1f} fps {self.kbps:8.1f} kbit/s, link"
            f" {self.link_kbps / 1000:.1f} Mbit/s rtt {self.rtt_ms:6.1f} ms"
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
