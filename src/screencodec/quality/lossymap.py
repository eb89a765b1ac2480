"""Where the viewer's picture is not exact yet: lossy tiles, and the source
each of them showed when it was sent.

The encoder's reference holds what the viewer shows, so a lossy pixel differs
from the source in every later ``tile_diff``: without this map it would look
like fresh damage in every update (and, changing in every frame, like video).
The map keeps, per tile of the damage grid, whether the tile is *lossy*
(written lossy and not made exact since) and when it became so, and a
*shadow* frame holding the source of every lossy tile as of the last update.
Then, for each update:

- a lossy tile the tile diff does not report is exact (reference == source
  over the whole tile): its flag is dropped;
- a lossy tile it reports is compared with its shadow: if the source changed,
  the tile is real damage (and all its differing pixels are re-sent, so the
  flag goes); if not, its box is taken out of the damage and it waits for
  refinement.

Invariant: after every update, each lossy tile's shadow equals the frame of
that update. ``mark`` copies the frame into the shadow of the tiles it flags;
any later change of a flagged tile's source makes it damage and drops the
flag. A flag wrongly dropped only costs a re-send (the tile diff then sees the
difference as damage); a flag is never kept with a stale shadow.

Refinement picks lossy tiles oldest first, in raster order within one age, as
horizontal runs (``pick``). Not thread-safe.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..damage import copy_rects, tile_diff
from ..geometry import Rect

__all__ = ["LossyMap"]

Frame = npt.NDArray[np.uint8]
Rects = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]
_EXACT = -1


class LossyMap:
    """Lossy tiles of a ``width x height`` frame on a ``tile``-pixel grid.

    ``age[ty, tx]`` is the stamp (the caller's update counter) at which the
    tile last went lossy, or -1 where it is exact.
    """

    def __init__(self, tile: int, width: int = 0, height: int = 0) -> None:
        self.tile = tile
        self.width = self.height = 0
        self.age = np.zeros((0, 0), np.int64)
        self._area = np.zeros((0, 0), np.int64)
        self._shadow: Frame | None = None
        self.reset(width, height)

    def reset(self, width: int, height: int, /) -> None:
        """All exact (a keyframe); a new size reallocates."""
        t = self.tile
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            gw, gh = -(-width // t), -(-height // t)
            xs = np.minimum(t, width - t * np.arange(gw))
            ys = np.minimum(t, height - t * np.arange(gh))
            self._area = (ys[:, None] * xs[None, :]).astype(np.int64)
            self.age = np.full((gh, gw), _EXACT, np.int64)
            self._shadow = None
        else:
            self.age.fill(_EXACT)

    @property
    def tiles(self) -> int:
        return int(np.count_nonzero(self.age >= 0))

    @property
    def area(self) -> int:
        """Pixels in lossy tiles (an upper bound of the inexact pixels)."""
        return int(self._area[self.age >= 0].sum())

    def __bool__(self) -> bool:
        return bool((self.age >= 0).any())

    def filter(self, boxes: Rects, frame: Frame, /) -> Rects:
        """The tile-diff ``boxes`` (reference vs ``frame``, on this map's grid)
        minus the lossy tiles whose source did not change; updates the flags
        as the module docstring says."""
        t = self.tile
        lossy = self.age >= 0
        if not lossy.any():
            return boxes
        ty, tx = boxes[:, 1] // t, boxes[:, 0] // t
        reported = np.zeros_like(lossy)
        reported[ty, tx] = True
        self.age[lossy & ~reported] = _EXACT  # reference == source there
        on_lossy = lossy[ty, tx]
        if not on_lossy.any():
            return boxes
        assert self._shadow is not None
        r0, r1 = int(ty[on_lossy].min()), int(ty[on_lossy].max()) + 1
        y0, y1 = r0 * t, min(self.height, r1 * t)
        changed = np.zeros_like(lossy)
        cb = tile_diff(self._shadow[y0:y1], frame[y0:y1], t)
        changed[cb[:, 1] // t + r0, cb[:, 0] // t] = True
        # Changed: real damage, re-sent whole (every differing pixel is in its box).
        self.age[lossy & changed] = _EXACT
        keep = ~on_lossy | changed[ty, tx]
        out: Rects = boxes[keep]
        return out

    def mark(self, rects: Sequence[Rect], frame: Frame, stamp: int, /) -> None:
        """Flag every tile ``rects`` touch as lossy since ``stamp``, and keep
        the frame's pixels of those tiles as their shadow."""
        t = self.tile
        mask = np.zeros(self.age.shape, np.bool_)
        for r in rects:
            if r.w > 0 and r.h > 0:
                mask[r.y // t : -(-r.bottom // t), r.x // t : -(-r.right // t)] = True
        if not mask.any():
            return
        if self._shadow is None:
            self._shadow = np.zeros((self.height, self.width, 4), np.uint8)
        self.age[mask] = stamp
        copy_rects(self._shadow, frame, self._tile_rects(mask))

    def clear_covered(self, rects: Rects, /) -> None:
        """Drop the flags of tiles that ``rects`` (disjoint, sent exactly after
        every lossy op of the update) cover completely."""
        lossy = self.age >= 0
        if not len(rects) or not lossy.any():
            return
        t = self.tile
        gh, gw = self.age.shape
        r = rects.astype(np.int64)
        x0 = t * np.arange(gw, dtype=np.int64)
        y0 = t * np.arange(gh, dtype=np.int64)
        ox = np.minimum(r[:, 0:1] + r[:, 2:3], x0 + t) - np.maximum(r[:, 0:1], x0)
        oy = np.minimum(r[:, 1:2] + r[:, 3:4], y0 + t) - np.maximum(r[:, 1:2], y0)
        cover = np.maximum(oy, 0).T @ np.maximum(ox, 0)  # (gh, gw) covered pixels
        self.age[lossy & (cover >= self._area)] = _EXACT

    def clear_inside(self, holes: Sequence[Rect], /) -> None:
        """Drop the flags of tiles lying wholly inside one of ``holes`` (areas
        another stage owns, such as active video regions)."""
        t = self.tile
        for h in holes:
            c0, c1 = -(-h.x // t), h.right // t + (h.right == self.width)
            r0, r1 = -(-h.y // t), h.bottom // t + (h.bottom == self.height)
            if c0 < c1 and r0 < r1:
                self.age[r0:r1, c0:c1] = _EXACT

    def clear(self) -> None:
        self.age.fill(_EXACT)

    def pick(self, pixels: float, stamp: int, /) -> tuple[Rects, Mask]:
        """Lossy tiles flagged before ``stamp``, oldest first, as many as fit
        in ``pixels``: as rects (horizontal runs of tiles) and as a mask."""
        cand = np.flatnonzero((self.age >= 0) & (self.age < stamp))
        mask = np.zeros(self.age.shape, np.bool_)
        if not len(cand) or pixels <= 0:
            return np.zeros((0, 4), np.int32), mask
        ages = self.age.ravel()[cand]
        order = cand[np.lexsort((cand, ages))]
        cum = np.cumsum(self._area.ravel()[order])
        n = int(np.searchsorted(cum, pixels, side="right"))
        if not n:
            return np.zeros((0, 4), np.int32), mask
        mask.ravel()[order[:n]] = True
        return self._tile_rects(mask), mask

    def drop(self, mask: Mask, /) -> None:
        self.age[mask] = _EXACT

    def _tile_rects(self, mask: Mask) -> Rects:
        """The tiles of ``mask`` as horizontal runs, (N, 4) x, y, w, h."""
        t = self.tile
        gw = mask.shape[1]
        idx = np.flatnonzero(mask)
        if not len(idx):
            return np.zeros((0, 4), np.int32)
        row, col = idx // gw, idx % gw
        brk = np.flatnonzero((np.diff(idx) != 1) | (np.diff(row) != 0)) + 1
        first = np.concatenate(([0], brk))
        last = np.concatenate((brk - 1, [len(idx) - 1]))
        x = col[first] * t
        y = row[first] * t
        w = np.minimum(self.width, (col[last] + 1) * t) - x
        h = np.minimum(self.height, (row[first] + 1) * t) - y
        return np.stack([x, y, w, h], axis=1).astype(np.int32)
