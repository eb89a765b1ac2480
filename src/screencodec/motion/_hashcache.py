"""Row hashes of the encoder's reference, kept between frames.

Rows are hashed in column strips on a fixed grid (``strip`` px), so the keys
stay the same from frame to frame whatever the damage looks like, and a region
is described by the strips inside it. After an update the reference equals
the frame, so the frame's strip hashes computed during detection become the
reference's for the next frame; strips the damage touched and that were not
hashed are recomputed when next needed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from . import _rowhash

__all__ = ["STRIP", "RowHashCache"]

#: Width of the column strips rows are hashed in (a fixed grid: stable cache
#: keys). 64 px: narrow enough that a strip fits inside most moved windows and
#: scrolled panes, so the few strips hashed per span still vote.
STRIP = 64

Hashes = npt.NDArray[np.uint64]
Rects = npt.NDArray[np.int32]


class RowHashCache:
    """Reference row hashes per grid strip, with a validity flag per (strip, row)
    (strip-major: a strip's rows are contiguous)."""

    def __init__(self, strip: int = STRIP) -> None:
        self.strip = strip
        self._hashes = np.zeros((0, 0), np.uint64)
        self._valid = np.zeros((0, 0), np.bool_)
        self._width = 0
        #: Pixels hashed anew since the counter was last reset (for stats and tests).
        self.pixels_hashed = 0

    def reset(self, width: int, height: int) -> None:
        """Forget everything (a keyframe, or a new size)."""
        cols = -(-width // self.strip)
        self._hashes = np.zeros((cols, height), np.uint64)
        self._valid = np.zeros((cols, height), np.bool_)
        self._width = width

    def strips(self, x0: int, x1: int, most: int = 6) -> list[tuple[int, int]]:
        """Column strips to hash for the span [x0, x1): at most ``most`` grid
        cells inside it, evenly spread (a cell at the right screen edge may be
        narrower), or the span itself when no cell fits (then it is not cached).
        The choice depends on the span only, so a steady region keeps its
        strips, and their cache, from frame to frame."""
        s = self.strip
        k0, k1 = -(-x0 // s), x1 // s
        out = [(k * s, (k + 1) * s) for k in range(k0, k1)]
        if x1 == self._width and k1 * s < x1 and k1 * s >= x0:
            out.append((k1 * s, x1))
        if len(out) > most:
            # A few strips vote as well as all of them: hashing is the cost.
            out = [out[round(i * (len(out) - 1) / (most - 1))] for i in range(most)]
        return out or [(x0, x1)]

    def _column(self, x0: int, x1: int) -> int | None:
        k = x0 // self.strip
        if x0 % self.strip or x1 != min((k + 1) * self.strip, self._width):
            return None
        return k

    def ref_hashes(self, ref: Frame, x0: int, x1: int, y0: int, y1: int) -> Hashes:
        """Hashes of reference rows [y0, y1) over columns [x0, x1)."""
        k = self._column(x0, x1)
        if k is None:
            self.pixels_hashed += (x1 - x0) * (y1 - y0)
            return _rowhash.row_hashes(ref, (x0, y0, x1 - x0, y1 - y0))
        valid = self._valid[k, y0:y1]
        if not valid.all():
            missing = np.flatnonzero(~valid)
            # One call over the span of missing rows: fewer, larger kernel runs.
            a, b = y0 + int(missing[0]), y0 + int(missing[-1]) + 1
            self._hashes[k, a:b] = _rowhash.row_hashes(ref, (x0, a, x1 - x0, b - a))
            self._valid[k, a:b] = True
            self.pixels_hashed += (x1 - x0) * (b - a)
        out: Hashes = self._hashes[k, y0:y1].copy()
        return out

    def ref_hashes_strips(
        self, ref: Frame, strips: list[tuple[int, int]], y0: int, y1: int
    ) -> Hashes:
        """``ref_hashes`` of each strip, as a (len(strips), y1 - y0) array."""
        ks = [self._column(x0, x1) for x0, x1 in strips]
        cols = [k for k in ks if k is not None]
        if not strips or len(cols) < len(strips):
            hashes = np.empty((len(strips), y1 - y0), np.uint64)
            for i, (x0, x1) in enumerate(strips):
                hashes[i] = self.ref_hashes(ref, x0, x1, y0, y1)
            return hashes
        # Grid strips: the rows missing in each hashed in one kernel run over
        # their span (as ref_hashes), then all gathered at once.
        self.pixels_hashed += _rowhash.refresh_rows(
            ref, self._hashes, self._valid, strips, cols, y0, y1
        )
        out: Hashes | None = _rowhash.gather_rows(self._hashes, self._valid, cols, y0, y1)
        assert out is not None
        return out

    def invalidate(self, rects: Rects) -> None:
        """The reference changes inside ``rects`` (x, y, w, h)."""
        _rowhash.clear_rects(self._valid, rects, self.strip)

    def store(self, x0: int, x1: int, y0: int, hashes: Hashes) -> None:
        """The reference's rows from y0 will hash to ``hashes`` over [x0, x1)."""
        k = self._column(x0, x1)
        if k is not None:
            self._hashes[k, y0 : y0 + len(hashes)] = hashes
            self._valid[k, y0 : y0 + len(hashes)] = True

    def store_strips(self, strips: list[tuple[int, int]], y0: int, hashes: Hashes) -> None:
        """``store`` of each strip: ``hashes[i]`` are those of strips[i]."""
        ks = [self._column(x0, x1) for x0, x1 in strips]
        cols = [k for k in ks if k is not None]
        if len(cols) < len(strips):
            for (x0, x1), h in zip(strips, hashes, strict=True):
                self.store(x0, x1, y0, h)
            return
        _rowhash.scatter_rows(self._hashes, self._valid, cols, y0, hashes)
