"""Rectangle bookkeeping of the motion stage: grouping damage, turning verified
per-row runs into copy rectangles, subtracting them, applying copies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..geometry import Rect
from . import _rowhash

__all__ = [
    "Copy",
    "MissBackoff",
    "apply_copies",
    "column_spans",
    "groups",
    "runs_to_rects",
    "subtract",
]

Frame = npt.NDArray[np.uint8]
Rects = npt.NDArray[np.int32]

#: Consecutive rows join one copy while their common column span keeps this
#: share of both their runs: a few rows whose run is cut a little short (a
#: scroll bar thumb beside a scrolled page) narrow the copy instead of
#: splitting it, while a much narrower run starts a copy of its own.
_KEEP = 0.9


@dataclass(frozen=True, slots=True)
class Copy:
    """A verified copy: the ``dest``-sized rect at (src_x, src_y) goes to ``dest``."""

    src_x: int
    src_y: int
    dest: Rect

    @property
    def src(self) -> Rect:
        return Rect(self.src_x, self.src_y, self.dest.w, self.dest.h)


@dataclass(slots=True)
class _Miss:
    box: Rect
    misses: int = 0  # in a row
    skip: int = 0  # frames left to skip; negative: frames since the last try


class MissBackoff:
    """Regions where detection found nothing lately are skipped for a while.

    Damage that never moves (a video, an animation) would otherwise pay for a
    search every frame. After n misses in a row a region is skipped for
    2**(n-1) frames, at most ``max_skip``; a hit forgets it, so a region that
    starts to scroll is examined again within that many frames.
    """

    def __init__(self, max_skip: int = 8, keep: int = 16) -> None:
        self.max_skip = max_skip
        self.keep = keep
        self._entries: list[_Miss] = []

    def tick(self) -> None:
        """A new frame."""
        for e in self._entries:
            e.skip -= 1
        # Forget regions not seen again for a few skip periods.
        self._entries = [e for e in self._entries if e.skip > -2 * self.max_skip]

    def _find(self, box: Rect) -> _Miss | None:
        for e in self._entries:
            # The same region: mostly overlapping (a video's damage wobbles).
            if 2 * e.box.intersection(box).area >= max(e.box.area, box.area):
                return e
        return None

    def skip(self, box: Rect) -> bool:
        e = self._find(box)
        return e is not None and e.skip > 0

    def record(self, box: Rect, hit: bool) -> None:
        e = self._find(box)
        if hit:
            if e is not None:
                self._entries.remove(e)
            return
        if e is None:
            e = _Miss(box)
            self._entries.append(e)
            del self._entries[: -self.keep]
        e.box, e.misses = box, e.misses + 1
        e.skip = min(self.max_skip, 2 ** (e.misses - 1))


def _components(boxes: list[tuple[int, int, int, int]], gap: int) -> list[list[int]]:
    """Indices of the boxes in each connected component; boxes closer than
    ``gap`` connect (gap 0: touching; -1: sharing a pixel)."""
    b = np.array(boxes, np.int64).reshape(-1, 4)
    x0, y0, x1, y1 = b[:, 0] - gap, b[:, 1] - gap, b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    adj = (
        (x0[:, None] <= x1[None, :])
        & (x0[None, :] <= x1[:, None])
        & (y0[:, None] <= y1[None, :])
        & (y0[None, :] <= y1[:, None])
    )
    seen = [False] * len(boxes)
    out: list[list[int]] = []
    for i in range(len(boxes)):
        if seen[i]:
            continue
        seen[i] = True
        comp, todo = [i], [i]
        while todo:
            for j in np.flatnonzero(adj[todo.pop()]).tolist():
                if not seen[j]:
                    seen[j] = True
                    comp.append(j)
                    todo.append(j)
        out.append(comp)
    return out


def _bbox(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def groups(rects: Rects, gap: int = 64) -> list[tuple[Rect, Rects]]:
    """Damage rects grouped into regions with disjoint bounding boxes, largest first.

    Rects less than ``gap`` apart form a group (a scrolled page's damage has
    holes where blank rows moved onto blank rows); groups whose boxes overlap
    are merged until none do, so copies found in different groups never write
    the same pixels.
    """
    boxes: list[tuple[int, int, int, int]] = [(a, b, c, d) for a, b, c, d in rects.tolist()]
    comps = _components(boxes, gap)
    while True:
        bbs = [_bbox([boxes[i] for i in c]) for c in comps]
        merged = _components(bbs, -1)
        if len(merged) == len(comps):
            break
        comps = [[i for k in m for i in comps[k]] for m in merged]
    out = [(Rect(*bb), rects[sorted(c)]) for bb, c in zip(bbs, comps, strict=True)]
    out.sort(key=lambda g: -g[0].area)
    return out


def column_spans(rects: Rects) -> list[tuple[int, int]]:
    """The disjoint column intervals [x0, x1) that the rects cover together."""
    spans: list[tuple[int, int]] = []
    for x, w in sorted((int(r[0]), int(r[2])) for r in rects):
        if spans and x <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], x + w))
        else:
            spans.append((x, x + w))
    return spans


def runs_to_rects(
    starts: npt.NDArray[np.int32],
    ends: npt.NDArray[np.int32],
    y0: int,
    min_run: int,
    min_area: int,
) -> list[Rect]:
    """Copy rectangles from per-row verified runs (row i is y0 + i).

    Every column of a returned rect lies inside the run of each of its rows,
    so the rect is exactly equal to its source.
    """
    n = len(starts)
    if not n:
        return []
    cut = np.flatnonzero((np.diff(starts) != 0) | (np.diff(ends) != 0)) + 1
    bounds = np.concatenate(([0], cut, [n])).tolist()
    s_list, e_list = starts.tolist(), ends.tolist()
    out: list[Rect] = []
    cur: list[int] | None = None  # [first row, end row, x0, x1]

    def flush() -> None:
        if cur is not None:
            w, h = cur[3] - cur[2], cur[1] - cur[0]
            if w >= min_run and w * h >= min_area:
                out.append(Rect(cur[2], y0 + cur[0], w, h))

    for b0, b1 in itertools.pairwise(bounds):
        s, e = s_list[b0], e_list[b0]
        if e - s < min_run:
            flush()
            cur = None
            continue
        if cur is not None:
            lo, hi = max(cur[2], s), min(cur[3], e)
            # Join only similar runs: a narrow run must not cut a wide one short.
            if hi - lo >= max(min_run, _KEEP * max(cur[3] - cur[2], e - s)):
                cur = [cur[0], b1, lo, hi]
                continue
            flush()
        cur = [b0, b1, s, e]
    flush()
    return out


def subtract(rect: Rect, holes: list[Rect]) -> list[Rect]:
    """``rect`` minus every hole, as disjoint rects."""
    pieces = [rect]
    for hole in holes:
        nxt: list[Rect] = []
        for p in pieces:
            i = p.intersection(hole)
            if i.is_empty():
                nxt.append(p)
                continue
            parts = (
                Rect(p.x, p.y, p.w, i.y - p.y),  # above
                Rect(p.x, i.bottom, p.w, p.bottom - i.bottom),  # below
                Rect(p.x, i.y, i.x - p.x, i.h),  # left
                Rect(i.right, i.y, p.right - i.right, i.h),  # right
            )
            nxt += [q for q in parts if not q.is_empty()]
        pieces = nxt
    return pieces


def apply_copies(ref: Frame, copies: list[Copy]) -> None:
    """Apply copies to ``ref`` as the decoder does: every source is read as it
    was before any copy wrote.

    Copies move in place (memmove, overlap-safe) in an order where none writes
    over a source another still has to read: the pieces of one scroll, whose
    sources overlap each other's destinations, go in the direction of the
    scroll. Only copies caught in a cycle (two regions swapping places) have
    their sources saved first.
    """
    pending = list(copies)
    while pending:
        ready = next(
            (
                a
                for a in pending
                if all(c is a or c.src.intersection(a.dest).is_empty() for c in pending)
            ),
            None,
        )
        if ready is None:
            break
        d = ready.dest
        _rowhash.move_rect(ref, (ready.src_x, ready.src_y, d.w, d.h), d.x - ready.src_x,
                           d.y - ready.src_y)  # fmt: skip
        pending.remove(ready)
    saved = [(c, ref[c.src.slices()].copy()) for c in pending]
    for c, pixels in saved:
        ref[c.dest.slices()] = pixels
