"""Is the bottleneck's queue growing? The slope of the one-way delay.

A queue that grows makes each update's first byte later than the last one's
by what was added meanwhile: the delay rises steadily for as long as the
sender sends more than the link leaves it. A viewer whose process is starved
reads its updates late, which adds an offset to every arrival stamp: a step
when it starts, then no slope, however large. WebRTC's GCC tells the two apart
by the slope of the smoothed delay over a window of packet groups (its
trendline filter), compared with an adaptive threshold. A least-squares line
through a window that holds a step still rises for as long as the window
holds it (the step looks like a ramp for about a window), so here the slope
is the time-weighted median of the slopes between consecutive updates: a
step is one slope, a growing queue is all of them, and scheduling noise,
as likely up as down, mostly cancels out. The threshold is the caller's
(``FlowConfig.growth``), fixed, not adaptive.

Fed by one viewer's receive loop (no locking). Times are seconds.
"""

from __future__ import annotations

from collections import deque

__all__ = ["DelayTrend"]

#: Updates sent closer together than this are one group: their delay
#: difference is noise over almost no time (GCC groups a 5 ms burst).
_GROUP = 0.005


class DelayTrend:
    """The slope of the one-way delay over the last ``slopes`` update gaps
    within ``horizon`` seconds (``growth``). Fewer than ``least`` gaps are a
    slope only when they span ``span`` seconds together: a screen that sends
    an update a second still shows a queue its big updates build, and two
    updates sent 10 ms apart do not make noise a slope."""

    def __init__(self, slopes: int = 12, least: int = 4, horizon: float = 1.0,
                 span: float = 0.1) -> None:  # fmt: skip
        self.slopes = slopes
        self.least = least
        self.horizon = horizon
        self.span = span
        self._last: tuple[float, float] | None = None  # (sent at, delay)
        self._gaps: deque[tuple[float, float, float]] = deque()  # (sent at, seconds, slope)

    def add(self, sent_at: float, delay: float) -> None:
        """One update's one-way delay (any constant offset), sent at ``sent_at``
        on the sender's clock; updates come in the order they were sent."""
        last = self._last
        if last is not None and sent_at - last[0] < _GROUP:
            return  # same group as the last point kept
        if last is not None:
            gap = sent_at - last[0]
            self._gaps.append((sent_at, gap, (delay - last[1]) / gap))
            if len(self._gaps) > self.slopes:
                self._gaps.popleft()
        self._last = (sent_at, delay)
        while self._gaps and self._gaps[0][0] < sent_at - self.horizon:
            self._gaps.popleft()

    def growth(self) -> float | None:
        """Seconds of delay added per second sent (0: no queue building;
        negative: one draining), or None while too few gaps are known."""
        total = sum(gap for _, gap, _ in self._gaps)
        if not self._gaps or (len(self._gaps) < self.least and total < self.span):
            return None
        ordered = sorted((slope, gap) for _, gap, slope in self._gaps)
        half, seen = total / 2, 0.0
        for slope, gap in ordered:
            seen += gap
            if seen >= half:
                return slope
        return ordered[-1][0]  # pragma: no cover - the loop always returns
