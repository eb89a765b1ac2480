"""What the first cut of a queueing episode did: the updates sent after it.

Someone else's bulk upload keeps a shared buffer full whatever we do, so a
cut of ours leaves their queue where it was; a queue of our own starts to
drain once the updates sent after the cut reach the bottleneck. Until one of
those is answered a second cut is blind: behind a 0.52 s queue the round
trip was 0.7 s, the smoothed one it was spaced by still near the empty
path's, and the second cut came before the first could show (traced, drag
4M,40ms --cross 5s-11s, cross45). The controller
(:meth:`.flow.CongestionControl._others_floor`) waits for it, and an update
sent after the cut that still waited the floor with few bytes of ours ahead
of it is the evidence two cuts and a watch were before.

The floor at the cut is the least level of the controller's window, which
under a queue still building holds the level from before it: a queue of our
own that drained back to that level looked unmoved. So the updates after the
cut are held to those answered just before them too (the least level of
the last half second, each less what our own bytes ahead of it could make).
Traced in the model of the lead's live trace (cross46, test_shaped_session's
scenario at load 8): the link dropped from 20 to 0.5 Mbit/s, 3.4 s of ours
queued, the first update sent after the cut came back at the 0.08 s a late
reader adds, and that was learnt as someone else's queue, its share started
at half the fast link: 10 Mbit/s.

Fed by one viewer's receive loop (no locking). Times are seconds.
"""

from __future__ import annotations

from collections import deque

__all__ = ["CutEffect"]

#: The updates answered before the first sent after the cut that it is held
#: to: those answered this long before it (the controller's ``learn``
#: window), by when they came back, not when they went (sent over a queue
#: still building, the window by send times held the level from before it);
#: their least, so a stall's one late update does not make a queue of
#: theirs look drained.
_BEFORE = 0.5


class CutEffect:
    """The floor when the last cut was made and, of the updates sent after
    it whose receipt came, what :meth:`unmoved` needs: the first, the last
    and the least level (an update's first byte's delay over the empty
    path) and the most our bytes in flight when it was sent could make of
    one at the estimated rate. Kept as those four, not as the updates: a
    session whose one cut was early adds an update per receipt for hours
    (lead45: the list of them grew without bound)."""

    def __init__(self) -> None:
        self.cut_at = -1e9
        self.floor = 0.0  # the least level of the controller's window at the cut
        self._count = 0
        self._first = self._last = self._least = self._own = 0.0
        #: the updates answered before the first sent after the cut: (when
        #: answered, level less what our own bytes ahead of it could make)
        self._ahead: deque[tuple[float, float]] = deque()
        self._before = 0.0  # their least, once an update sent after the cut came

    def cut(self, now: float, floor: float) -> None:
        self.cut_at, self.floor = now, floor
        self._count = 0

    def add(self, sent_at: float, level: float, own: float, now: float) -> None:
        """One update's receipt (``now``); counts only if it was sent after the cut."""
        while self._ahead and self._ahead[0][0] < now - _BEFORE:
            self._ahead.popleft()
        if sent_at < self.cut_at:
            self._ahead.append((now, max(0.0, level - own)))
            return
        if self._count == 0:
            self._before = min((lv for _, lv in self._ahead), default=0.0)
            self._ahead.clear()
            self._first = self._least = level
            self._own = own
        else:
            self._least = min(self._least, level)
            self._own = max(self._own, own)
        self._last = level
        self._count += 1

    @property
    def shown(self) -> bool:
        """An update sent after the cut was answered: its effect can show."""
        return self._count > 0

    def unmoved(self, threshold: float) -> tuple[float, float] | None:
        """The updates sent after the cut saw the queue where it was (none
        under the floor at the cut, nor under the levels answered just
        before them less our own part, by more than ``threshold``; the last
        within it of the first: neither draining nor growing): their least
        level and the most of it our own bytes could make. None: it moved
        (or nothing shows yet)."""
        if not self._count or self.drained(threshold):
            return None
        if abs(self._last - self._first) > threshold:
            return None
        return self._least, self._own

    def drained(self, threshold: float) -> bool:
        """An update sent after the cut came back under the floor at the
        cut, or under the levels answered just before it less our own part,
        by more than ``threshold``: the cut drained a queue (ours, or more of
        it than our bytes in flight could make)."""
        return bool(self._count) and self._least < max(self.floor, self._before) - threshold
