"""Rectangle bookkeeping of the motion stage: grouping damage, turning verified
per-row runs into copy rectangles, applying copies (subtraction is
damage.subtract_rects).

Everything here is linear or vectorised in the number of rects: a window
found in many pieces must not turn bookkeeping into the frame's main cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..geometry import Rect
from . import _rowhash

__all__ = [
    "Copy",
    "MissBackoff",
    "apply_copies",
    "column_spans",
    "copy_array",
    "groups",
    "runs_to_rects",
]

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
    """A region detection found nothing in lately (MissBackoff)."""

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


def groups(rects: Rects, gap: int = 64) -> list[tuple[Rect, Rects]]:
    """Damage rects grouped into regions with disjoint bounding boxes, largest first.

    Rects less than ``gap`` apart form a group (a scrolled page's damage has
    holes where blank rows moved onto blank rows); groups whose boxes overlap
    are merged until none do, so copies found in different groups never write
    the same pixels.
    """
    out = [(Rect(*bb), rects[members]) for bb, members in _rowhash.group_boxes(rects, gap)]
    out.sort(key=lambda g: -g[0].area)
    return out


def column_spans(rects: Rects) -> list[tuple[int, int]]:
    """The disjoint column intervals [x0, x1) that the rects cover together."""
    spans: list[tuple[int, int]] = []
    for x, w in sorted(zip(rects[:, 0].tolist(), rects[:, 2].tolist(), strict=True)):
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
    return [Rect(*r) for r in _rowhash.runs_to_boxes(starts, ends, y0, min_run, min_area, _KEEP)]


def copy_array(copies: list[Copy]) -> Rects:
    """(n, 6) int32 (src_x, src_y, x, y, w, h) of the copies, in order."""
    return np.array(
        [(c.src_x, c.src_y, c.dest.x, c.dest.y, c.dest.w, c.dest.h) for c in copies], np.int32
    ).reshape(-1, 6)


def apply_copies(
    ref: Frame, copies: list[Copy], scratch: npt.NDArray[np.uint8] | None = None
) -> npt.NDArray[np.uint8] | None:
    """Apply copies to ``ref`` as the decoder does: every source is read as it
    was before any copy wrote, then the destinations are written in order (a
    later copy wins where two overlap).

    One copy moves in place; several have their sources saved once into
    ``scratch`` and are then written: linear in the number of copies and in
    the copied area, whatever their overlaps (chains, swaps, cycles). Returns
    the scratch buffer used, to be passed again next time (it only grows).
    """
    return _rowhash.apply_copies(ref, copy_array(copies), scratch)
