"""Damage hints: where the platform says a frame may have changed (X's
XDamage, the dirty rects of Windows' desktop duplication), turned into the
rows the encoder compares.

A full compare reads both 1080p frames whole, about a memcmp of 16 MB, which
on slow memory is most of a typing update's cost. With a hint the encoder
compares only the tile rows the hint touches, plus a rolling band of tile
rows: a change the hint missed (a platform that drew without telling) is
still found, within :data:`SCAN_UPDATES` updates, as x11vnc's scan lines and
WebRTC's X capturer's periodic full frames do.

Compares run on whole-width tile rows aligned to the encoder's tile grid,
with the ordinary ``tile_diff``: the boxes found there are exactly those a
full compare finds in the same tiles, so a hint that covers every change
gives the same update, byte for byte, as no hint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FrameError
from ..frames import Frame
from ._tiles import tile_diff

__all__ = ["SCAN_UPDATES", "HintedDiff", "hint_rects"]

#: Every tile row is compared at least once in this many hinted updates.
SCAN_UPDATES = 16
#: More rects than any platform reports for one frame (XDamage regions are
#: bounded by the capturer): a caller passing more has a bug.
_MAX_HINT_RECTS = 1 << 20


def hint_rects(hint: Any) -> npt.NDArray[np.int64]:
    """``hint`` as an (n, 4) int64 array of (x, y, w, h); FrameError unless it is
    integers of that shape with no negative size. Rects may stick out of the
    frame (they are clipped) and may be empty (ignored)."""
    try:
        a = np.asarray(hint)
    except Exception as exc:  # whatever a caller's __array__ or sequence raises
        raise FrameError(f"a hint must be (x, y, w, h) rects: {exc}") from None
    if a.size == 0 and a.shape in ((0,), (0, 4)):  # [] or no rects
        return np.empty((0, 4), np.int64)
    if a.dtype.kind not in "iu" or a.ndim != 2 or a.shape[1] != 4 or a.size == 0:
        msg = f"a hint must be an (n, 4) integer array of rects, not {a.dtype} {a.shape}"
        raise FrameError(msg)
    if a.shape[0] > _MAX_HINT_RECTS:
        raise FrameError(f"a hint of {a.shape[0]} rects is more than {_MAX_HINT_RECTS}")
    if a.dtype == np.uint64 and int(a.max()) > np.iinfo(np.int64).max:
        raise FrameError("a hint's coordinates are out of range")
    r = a.astype(np.int64)
    if (r[:, 2:] < 0).any():
        raise FrameError("a hint rect has a negative width or height")
    # x + w must not wrap: (1, 0, 2**63 - 1, h) would end left of the frame
    # and be ignored. A size is cut where its end would pass int64's largest
    # value, far from any frame (a negative x cannot wrap).
    top = np.iinfo(np.int64).max
    np.minimum(r[:, 2:], top - np.maximum(r[:, :2], 0), out=r[:, 2:])
    return r


class HintedDiff:
    """Change detection inside a hint, with a rolling scan of the rest.

    Stateful (where the scan is); one per encoder. ``bands`` gives the rows
    to compare, ``diff_bands`` the changed boxes there (as ``tile_diff``
    gives them).
    """

    def __init__(self, tile: int) -> None:
        self.tile = tile
        self._scan = 0  # the next tile row of the rolling band

    def reset(self) -> None:
        self._scan = 0

    def bands(self, hint: npt.NDArray[np.int64], width: int, height: int) -> list[tuple[int, int]]:
        """The row ranges [y0, y1) to compare: the tile rows the hint's rects
        (clipped to the frame) touch, and the next band of the rolling scan.
        Advances the scan."""
        t = self.tile
        n = -(-height // t)
        marks = np.zeros(n + 1, np.int64)
        if len(hint):
            x, y, w, h = hint.T
            x0, x1 = np.maximum(x, 0), np.minimum(x + w, width)
            y0, y1 = np.maximum(y, 0), np.minimum(y + h, height)
            inside = (x1 > x0) & (y1 > y0)
            np.add.at(marks, y0[inside] // t, 1)
            np.add.at(marks, -(-y1[inside] // t), -1)
        per = -(-n // SCAN_UPDATES)
        k = self._scan % n
        marks[k] += 1
        marks[min(k + per, n)] -= 1
        self._scan = 0 if k + per >= n else k + per
        on = np.concatenate(([0], (np.cumsum(marks[:-1]) > 0).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(on))
        return [(int(a) * t, min(int(b) * t, height)) for a, b in edges.reshape(-1, 2)]

    def diff_bands(
        self, prev: Frame, cur: Frame, bands: list[tuple[int, int]]
    ) -> npt.NDArray[np.int32]:
        """Changed boxes of ``cur`` against ``prev`` in the row ranges ``bands``
        (whole tile rows, as ``bands`` gives them)."""
        parts = []
        # A few bands (at most one per tile row): one kernel call each.
        for y0, y1 in bands:
            boxes = tile_diff(prev[y0:y1], cur[y0:y1], self.tile)
            boxes[:, 1] += y0
            parts.append(boxes)
        if not parts:
            return np.empty((0, 4), np.int32)
        return np.concatenate(parts)
