"""The synthetic desktop as a live screen: paced by the wall clock, damage told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ...geometry import Rect
from ..base import CursorState, Hint, SourceWrapper
from ._source import SyntheticDesktop

__all__ = ["LiveDesktop"]

#: Frames of ground truth a hint or ``damage_pending`` scans at most: a grab
#: after a longer stall is a full compare (hint None), a longer question a
#: "may have changed". Two seconds at 30 fps; truth_at is ~µs a frame.
MAX_SCAN = 60


class LiveDesktop(SourceWrapper):
    """A :class:`SyntheticDesktop` shown as a real screen would be: what a
    ``grab()`` returns is the frame of the time since the first grab, frame
    ``int(t * fps)`` (the first grab starts the clock and shows frame 0);
    grabbing faster than ``fps`` returns the same frame again, grabbing
    slower skips frames. ``screencodec host`` with no display shares one
    (``open_source(..., live=True)``): one frame a grab, a host ticking
    at 60 Hz played the 30 fps demo at twice its speed, every tick a change
    to encode (live54).

    ``grab_hinted()`` hints the union of the ground truth (``truth_at``) of
    the frames since the one it showed last (empty when it shows the same
    frame; None at the first grab or after a stall of more than
    :data:`MAX_SCAN` frames). ``damage_pending()`` answers from the clock
    and the truth without touching the desktop, so a host's idle skip
    (``CaptureHub.quiet``) applies between the idle scenario's blinks.

    Grabs from one thread at a time; ``damage_pending`` from any thread.
    The frame is the desktop's buffer (see its notes on buffer reuse).
    """

    def __init__(
        self, desktop: SyntheticDesktop, /, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(desktop)  # its size, monitors and pointer
        self.desktop = desktop
        self.clock = clock
        self.started_at: float | None = None
        self._shown = -1  # the frame the desktop's buffer holds; read by damage_pending
        self._frame: npt.NDArray[np.uint8] | None = None
        self._lock = threading.Lock()  # grabs vs close, not damage_pending

    # -- FrameSource ---------------------------------------------------------------

    @property
    def fps(self) -> float:
        return self.desktop.fps

    def due(self) -> int:
        """The frame the clock is at now (0 before the first grab)."""
        if self.started_at is None:
            return 0
        return max(0, int((self.clock() - self.started_at) * self.desktop.fps))

    def grab(self) -> npt.NDArray[np.uint8]:
        return self.grab_hinted()[0]

    def grab_hinted(self) -> tuple[npt.NDArray[np.uint8], Hint | None]:
        with self._lock:
            if self.started_at is None:
                self.started_at = self.clock()
            index, shown = self.due(), self._shown
            if self._frame is not None and index <= shown:
                self.damage_found = False
                return self._frame, np.empty((0, 4), np.int32)
            rects = None if self._frame is None else self._damage(shown, index)
            self._frame = self.desktop.frame_at(index)
            self._shown = index
        self.damage_found = None if rects is None else bool(rects)
        if rects is None:
            return self._frame, None
        hint = np.array([(r.x, r.y, r.w, r.h) for r in rects], np.int32).reshape(-1, 4)
        return self._frame, hint

    def damage_pending(self) -> bool | None:
        """False while the clock has not reached a frame that differs from
        the one shown, by the ground truth; True once it has (or before the
        first grab, or when that takes more than :data:`MAX_SCAN` frames to
        tell). Reads the clock and the scenario's truth, never renders."""
        shown = self._shown
        if self.started_at is None or shown < 0:
            return True
        rects = self._damage(shown, self.due())
        return rects is None or bool(rects)

    def cursor(self) -> CursorState:
        return self.desktop.cursor()  # the desktop's pointer is never None

    def close(self) -> None:
        with self._lock:
            self.desktop.close()

    def __enter__(self) -> LiveDesktop:
        return self

    def __repr__(self) -> str:
        return f"LiveDesktop({self.desktop!r})"

    # -- internals -------------------------------------------------------------------

    def _damage(self, shown: int, index: int) -> list[Rect] | None:
        """The truth of frames ``shown + 1 .. index``: every pixel that differs
        between those two frames is in one of the rects; None when that is
        more than MAX_SCAN frames (a stalled grabber: compare it all)."""
        if index - shown > MAX_SCAN:
            return None
        out: list[Rect] = []
        for i in range(shown + 1, index + 1):
            out.extend(r for r in self.desktop.truth_at(i)[1] if not r.is_empty())
        return out
