"""Where the viewer's picture is not exact yet: lossy cells, oldest first.

Under a rate the encoder keeps two pictures: its reference (what the viewer
shows, lossy pixels included) and a *shadow* (the last frame, exactly: what
the viewer would show if everything had been sent losslessly). Damage is the
difference between the shadow and the new frame, so only real changes count
as damage; a lossy pixel is not damage again and again (nor, changing in no
frame, video). This map holds the other half: per *cell* (16 px, inside the
encoder's damage tiles), whether the reference there may differ from the
shadow, and since when.

Cells go lossy when a lossy picture touches them (``mark``) or a COPY moves
lossy pixels onto them (``move``); they go exact when exact pixels cover them
whole (``clear_covered``, ``move``), when refinement re-sends them (``pick``
then ``drop``), or when the viewer's picture is found to equal the frame
there (``clear_exact``). Flags err on the lossy side: a cell flagged lossy
that is in fact exact only costs a re-send, so before refining the pixels
are checked: a window dragged a few pixels a frame uncovers each cell along
its trail over several updates, exactly, but no single update's damage
covers the cell whole, and on the ``drag`` scenario two thirds of the cells
flagged when the drag stopped were such cells.

Cells smaller than tiles matter: a window dragged over a lossy wallpaper
changes the tiles along its edges in every frame; cells keep most of each
tile's lossy pixels waiting for refinement instead of lossy again and again.

Refinement picks whole tiles, oldest first (by their oldest lossy cell), in
raster order within one age, and cells of a tile when a whole one does not
fit the budget (``pick``). Not thread-safe.

Each lossy cell also has a *weight*, for what its exact pixels will cost to
send: the share of its pixels that differ from their left neighbour, plus a
floor (``detail``). A white page weighs 0.02, text 0.1-0.4, a photo 0.5-1.
Per weighted pixel, content sent for the first time costs 0.7-1.6 bytes on
the corpus, whatever it is; content the history stream has seen before (a
page scrolled back) costs a fiftieth of that.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..frames import Frame
from ..geometry import Rect
from ..motion._rowhash import rect_tile_diff

__all__ = ["LossyMap", "cell_size", "detail"]

Rects = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]
_EXACT = -1
_NEVER = np.iinfo(np.int64).max


def cell_size(tile: int, /) -> int:
    """The cell of a ``tile``-pixel grid: the smallest divisor of ``tile`` of at
    least 16 pixels (16 for the default 64)."""
    return next(tile // k for k in range(tile // 16, 0, -1) if tile % k == 0)


class LossyMap:
    """Lossy cells of a ``width x height`` frame whose damage comes in tiles of
    ``tile`` pixels.

    ``age[cy, cx]`` is the stamp (the caller's update counter) at which the
    cell last went lossy, or -1 where it is exact; ``weight[cy, cx]`` its
    weight (meaningless where it is exact).
    """

    def __init__(self, tile: int, width: int = 0, height: int = 0) -> None:
        self.tile = tile
        self.cell = cell_size(tile)
        self.width = self.height = 0
        self.age = np.zeros((0, 0), np.int64)
        self.weight = np.zeros((0, 0), np.float32)
        self._area = np.zeros((0, 0), np.int64)
        self.reset(width, height)

    def reset(self, width: int, height: int, /) -> None:
        """All exact (a keyframe); a new size reallocates."""
        c = self.cell
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            gw, gh = -(-width // c), -(-height // c)
            xs = np.minimum(c, width - c * np.arange(gw))
            ys = np.minimum(c, height - c * np.arange(gh))
            self._area = (ys[:, None] * xs[None, :]).astype(np.int64)
            self.age = np.full((gh, gw), _EXACT, np.int64)
            self.weight = np.ones((gh, gw), np.float32)
        else:
            self.age.fill(_EXACT)

    @property
    def cells(self) -> int:
        return int(np.count_nonzero(self.age >= 0))

    @property
    def area(self) -> int:
        """Pixels in lossy cells (an upper bound of the inexact pixels)."""
        return int(self._area[self.age >= 0].sum())

    def __bool__(self) -> bool:
        return bool((self.age >= 0).any())

    def mark(self, rects: Sequence[Rect], stamp: int, /, frame: Frame | None = None) -> None:
        """Flag every cell ``rects`` touch as lossy since ``stamp``, weighed by
        the exact pixels of ``frame`` there (without one: as a photo)."""
        c = self.cell
        for r in rects:
            if r.w > 0 and r.h > 0:
                cells = _cells(r, c)
                self.age[cells] = stamp
                self.weight[cells] = 1.0 if frame is None else detail(frame, r, c)

    def move(self, copies: Sequence[tuple[Rect, Rect]], stamp: int, /) -> None:
        """Follow COPY ops (source, destination), all reading the picture as it
        was before them: a destination cell onto which lossy pixels land is
        lossy since ``stamp``; one covered whole by exact pixels is exact."""
        before = self.age >= 0
        if not before.any():
            return
        weights = self.weight.copy()  # as the ages: read before any copy
        c = self.cell
        for src, dst in copies:
            cy0, cx0 = src.y // c, src.x // c
            cells = before[cy0 : -(-src.bottom // c), cx0 : -(-src.right // c)]
            if not cells.any() and not (self.age[_cells(dst, c)] >= 0).any():
                continue
            # Lossy source pixels, then where they land, per destination cell.
            px = np.repeat(np.repeat(cells, c, axis=0), c, axis=1)
            px = px[src.y - cy0 * c : src.bottom - cy0 * c, src.x - cx0 * c : src.right - cx0 * c]
            dy0, dx0 = dst.y // c, dst.x // c
            dh, dw = -(-dst.bottom // c) - dy0, -(-dst.right // c) - dx0
            land = np.zeros((dh * c, dw * c), np.bool_)
            landed = land[dst.y - dy0 * c :, dst.x - dx0 * c :]
            landed[: dst.h, : dst.w] = px
            hit: Mask = np.any(land.reshape(dh, c, dw, c), axis=(1, 3))
            view = self.age[dy0 : dy0 + dh, dx0 : dx0 + dw]
            hit = hit[: view.shape[0], : view.shape[1]]
            inside = _whole(dst, c, self.width, self.height)
            view[inside & ~hit] = _EXACT
            view[hit] = stamp
            # The pixels landing weigh as the heaviest lossy source cell (erring
            # dear: a refinement under its estimate only waits a little); a
            # cell they cover only in part keeps its own lossy pixels' weight
            # too.
            heaviest = weights[_cells(src, c)][cells].max(initial=0.0)
            own = weights[dy0 : dy0 + dh, dx0 : dx0 + dw]
            kept = before[dy0 : dy0 + dh, dx0 : dx0 + dw] & ~inside
            self.weight[dy0 : dy0 + dh, dx0 : dx0 + dw][hit] = np.where(
                kept[hit], np.maximum(own[hit], heaviest), heaviest
            )

    def clear_covered(self, rects: Rects, /) -> None:
        """Drop the flags of cells that ``rects`` (sent exactly after every
        lossy op of the update; they may overlap) cover completely."""
        lossy = self.age >= 0
        if not len(rects) or not lossy.any():
            return
        c = self.cell
        r = rects.astype(np.int64)
        # Rasterise the rects over the whole cells their bounding box touches.
        cy0, cx0 = int(r[:, 1].min()) // c, int(r[:, 0].min()) // c
        cy1 = -(-int((r[:, 1] + r[:, 3]).max()) // c)
        cx1 = -(-int((r[:, 0] + r[:, 2]).max()) // c)
        covered = np.zeros(((cy1 - cy0) * c, (cx1 - cx0) * c), np.bool_)
        for x, y, w, h in r.tolist():
            covered[y - cy0 * c : y + h - cy0 * c, x - cx0 * c : x + w - cx0 * c] = True
        # Beyond the frame's edge counts as covered (those pixels do not exist).
        covered[self.height - cy0 * c :, :] = True
        covered[:, self.width - cx0 * c :] = True
        whole = covered.reshape(cy1 - cy0, c, cx1 - cx0, c).all(axis=(1, 3))
        view = self.age[cy0:cy1, cx0:cx1]
        view[whole & (view >= 0)] = _EXACT

    def clear_inside(self, holes: Sequence[Rect], /) -> None:
        """Drop the flags of cells lying wholly inside one of ``holes`` (areas
        another stage owns, such as active video regions)."""
        c = self.cell
        for h in holes:
            c0, c1 = -(-h.x // c), h.right // c + (h.right == self.width)
            r0, r1 = -(-h.y // c), h.bottom // c + (h.bottom == self.height)
            if c0 < c1 and r0 < r1:
                self.age[r0:r1, c0:c1] = _EXACT

    def clear_exact(self, ref: Frame, frame: Frame, /) -> None:
        """Drop the flags of cells where ``ref`` (the viewer's picture) equals
        ``frame`` (B, G, R): they are exact whatever made them so. One native
        scan of the cells' bounding box (a tile diff on the cell grid)."""
        lossy = self.age >= 0
        rows, cols = np.flatnonzero(lossy.any(axis=1)), np.flatnonzero(lossy.any(axis=0))
        if not len(rows):
            return
        c = self.cell
        x0, y0 = int(cols[0]) * c, int(rows[0]) * c
        x1 = min(self.width, (int(cols[-1]) + 1) * c)
        y1 = min(self.height, (int(rows[-1]) + 1) * c)
        # One box per differing cell, inside it (tiles aligned to the corner,
        # a cell's): in frame coordinates.
        boxes = rect_tile_diff(ref, frame, (x0, y0, x1 - x0, y1 - y0), c)
        differ = np.zeros_like(lossy)
        differ[boxes[:, 1] // c, boxes[:, 0] // c] = True
        self.age[lossy & ~differ] = _EXACT

    def clear(self) -> None:
        self.age.fill(_EXACT)

    def only_in(self, rects: Sequence[Rect], /) -> bool:
        """Whether every lossy cell is one that ``rects`` touch."""
        inside = np.zeros(self.age.shape, np.bool_)
        for r in rects:
            if r.w > 0 and r.h > 0:
                inside[_cells(r, self.cell)] = True
        return not bool(((self.age >= 0) & ~inside).any())

    def waiting(self, stamp: int, /) -> bool:
        """Whether any cell flagged before ``stamp`` is still lossy (cells of
        the update itself wait until the next)."""
        return bool(((self.age >= 0) & (self.age < stamp)).any())

    def pick(self, budget: float, stamp: int, /, *, weighed: bool = False) -> tuple[Rects, Mask]:
        """Lossy cells flagged before ``stamp``, as many as fit in ``budget``
        pixels (``weighed``: weighted pixels, see :meth:`weighted`): whole
        tiles, oldest first (by their oldest cell), in raster order within an
        age, and of the first tile that does not fit whole, its cells in
        raster order; the first cell alone if it is at most twice ``budget``.
        As rects (``rects``) and as a mask."""
        k = self.tile // self.cell
        gh, gw = self.age.shape
        old = (self.age >= 0) & (self.age < stamp)
        mask = np.zeros(self.age.shape, np.bool_)
        cells = np.flatnonzero(old)
        if budget <= 0 or not len(cells):
            return np.zeros((0, 4), np.int32), mask
        th, tw = -(-gh // k), -(-gw // k)
        pad = np.full((th * k, tw * k), _NEVER, np.int64)
        pad[:gh, :gw] = np.where(old, self.age, _NEVER)
        oldest = pad.reshape(th, k, tw, k).min(axis=(1, 3)).ravel()
        cy, cx = cells // gw, cells % gw
        tile = (cy // k) * tw + cx // k
        order = cells[np.lexsort((cells, tile, oldest[tile]))]
        size = self._area.ravel()[order].astype(np.float64)
        if weighed:
            size *= self.weight.ravel()[order]
        n = int(np.searchsorted(np.cumsum(size), budget, side="right"))
        if not n and size[0] <= 2 * budget:
            n = 1  # a budget smaller than a cell still refines, at most twice over
        if not n:
            return np.zeros((0, 4), np.int32), mask
        mask.ravel()[order[:n]] = True
        return self.rects(mask), mask

    def weighted(self, mask: Mask, /) -> float:
        """The pixels of the cells of ``mask``, each times its cell's weight."""
        return float((self._area[mask] * self.weight[mask]).sum())

    def drop(self, mask: Mask, /) -> None:
        self.age[mask] = _EXACT

    def rects(self, mask: Mask, /) -> Rects:
        """The cells of ``mask`` as rects: horizontal runs, and runs of equal
        columns in consecutive rows joined, (N, 4) x, y, w, h."""
        c = self.cell
        gw = mask.shape[1]
        idx = np.flatnonzero(mask)
        if not len(idx):
            return np.zeros((0, 4), np.int32)
        row, col = idx // gw, idx % gw
        brk = np.flatnonzero((np.diff(idx) != 1) | (np.diff(row) != 0)) + 1
        first = np.concatenate(([0], brk))
        last = np.concatenate((brk - 1, [len(idx) - 1]))
        c0, c1, r = col[first], col[last] + 1, row[first]
        # Join runs with the same columns in consecutive rows.
        order = np.lexsort((r, c1, c0))
        c0, c1, r = c0[order], c1[order], r[order]
        same = (c0[1:] == c0[:-1]) & (c1[1:] == c1[:-1]) & (r[1:] == r[:-1] + 1)
        start = np.flatnonzero(np.concatenate(([True], ~same)))
        stop = np.concatenate((start[1:], [len(r)])) - 1
        x = c0[start] * c
        y = r[start] * c
        w = np.minimum(self.width, c1[start] * c) - x
        h = np.minimum(self.height, (r[stop] + 1) * c) - y
        return np.stack([x, y, w, h], axis=1).astype(np.int32)


#: B, G and R of a pixel read as a native 32-bit word (the 4th byte is padding).
_BGR = np.uint32(0x00FFFFFF if sys.byteorder == "little" else 0xFFFFFF00)
#: The weight of a flat cell: a white page costs about 0.01 byte a pixel,
#: against about 1 for a grainy photo (detail near 1).
_FLAT = 0.02


def detail(frame: Frame, r: Rect, c: int, /) -> npt.NDArray[np.float32]:
    """The weights of the ``c``-pixel cells that ``r`` touches: the share of
    each one's pixels (B, G, R) that differ from the pixel to their left,
    plus a floor. Two passes over the cells' pixels as 32-bit words (about
    3.5 ms for a 1080p frame)."""
    height, width = frame.shape[:2]
    ys, xs = _cells(r, c)
    y0, y1 = ys.start * c, min(height, ys.stop * c)
    x0, x1 = xs.start * c, min(width, xs.stop * c)
    px = frame[y0:y1, max(0, x0 - 1) : x1]
    if px.strides[1:] != (4, 1):
        px = np.ascontiguousarray(px)
    words = px.view(np.uint32)[..., 0]
    diff = ((words[:, 1:] ^ words[:, :-1]) & _BGR) != 0
    gh, gw = ys.stop - ys.start, xs.stop - xs.start
    padded = np.zeros((gh * c, gw * c), np.bool_)
    # The frame's first column has no left neighbour: it counts as equal.
    padded[: y1 - y0, int(x0 == 0) : x1 - x0] = diff
    cells = np.count_nonzero(padded.reshape(gh, c, gw, c), axis=(1, 3))
    area = (
        np.minimum(c, height - c * np.arange(ys.start, ys.stop))[:, None]
        * np.minimum(c, width - c * np.arange(xs.start, xs.stop))[None, :]
    )
    out: npt.NDArray[np.float32] = (cells / area + _FLAT).astype(np.float32)
    return out


def _cells(r: Rect, c: int) -> tuple[slice, slice]:
    """The cells ``r`` touches."""
    return slice(r.y // c, -(-r.bottom // c)), slice(r.x // c, -(-r.right // c))


def _whole(r: Rect, c: int, width: int, height: int) -> Mask:
    """Of the cells ``r`` touches, those it covers whole (a cell cut by the
    frame's edge is whole when ``r`` reaches the edge)."""
    ys, xs = _cells(r, c)
    cy = np.arange(ys.start, ys.stop)
    cx = np.arange(xs.start, xs.stop)
    rows = (cy * c >= r.y) & (np.minimum((cy + 1) * c, height) <= r.bottom)
    cols = (cx * c >= r.x) & (np.minimum((cx + 1) * c, width) <= r.right)
    out: Mask = rows[:, None] & cols[None, :]
    return out
