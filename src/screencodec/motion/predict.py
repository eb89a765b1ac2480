"""Scroll prediction: where the last update found a scroll, this update's
change detection looks for it going on, in the same pass over the rows.

A scrolling terminal or page changes most of its rows every update, and the
plain pipeline reads that area three times: change detection (frame against
reference), the scroll's verification (frame against the shifted reference)
and the re-diff of what the copies leave. Once a scroll is known, only its
distance is new in each update: ``MotionStage.predict`` hashes two column
strips of the last scroll's box and votes for ``dy`` (as the plain search
does), then :func:`diff_scrolled` runs change detection with the scroll in
it (``scroll_diff``, csrc/motion.c): each row of the box is compared with the
reference dy rows up over the scroll's columns, and with the reference in
place over the rest of the row, while it is in cache. Rows that match are
copied; what is left is exact damage, with no re-diff.

Exactness does not depend on the guess: a copied row was compared pixel by
pixel, every other pixel of the compared rows is diffed, and a wrong guess
gives no copies and the damage a plain compare finds. Rows are treated the
same way whatever the damage hint (the kernel's rows are whole tile rows
and a row is copied only if it changed), so a hint covering every change
still gives the same update as no hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..damage import tile_diff
from ..frames import Frame
from ..geometry import Rect
from . import _rowhash
from ._regions import Copy

__all__ = ["PREDICT_MARGIN", "Prediction", "ScrollGuess", "diff_scrolled"]

Rects = npt.NDArray[np.int32]
#: Frame rows hashed during a guess, for the stage's cache: (strips, y0, hashes).
Fresh = tuple[list[tuple[int, int]], int, npt.NDArray[np.uint64]]
#: Rows above and below the last scroll's box where rows may be copied too,
#: beyond the scroll's own distance (a window dragged up or down moves out of
#: its box by that much): the rows a scroll changes vary with the content
#: from update to update.
PREDICT_MARGIN = 32


@dataclass(frozen=True, slots=True)
class ScrollGuess:
    """A scroll expected in this update: by ``dy`` in columns [x0, x1) of
    ``box`` (the damage where the last update scrolled), and the frame's
    strip hashes taken for the vote."""

    box: Rect
    x0: int
    x1: int
    dy: int
    fresh: list[Fresh]


@dataclass(frozen=True, slots=True)
class Prediction:
    """The copies change detection verified for a guess."""

    guess: ScrollGuess
    copies: list[Copy]

    @property
    def dests(self) -> Rects:
        """The copies' destinations as an (n, 4) int32 array."""
        d = [(c.dest.x, c.dest.y, c.dest.w, c.dest.h) for c in self.copies]
        return np.array(d, np.int32).reshape(-1, 4)


def diff_scrolled(
    prev: Frame, cur: Frame, guess: ScrollGuess, bands: Sequence[tuple[int, int]], tile: int,
    *, min_run: int, min_area: int, most: int,
) -> tuple[list[Copy], Rects]:  # fmt: skip
    """Change detection of the row ranges ``bands`` (whole tile rows, as
    ``HintedDiff.bands`` gives them) with the guessed scroll in it: the
    copies (rows whose runs moved, at least ``min_run`` wide, grouped while
    their runs are the same, at least ``min_area`` pixels, the ``most``
    largest) and the changed boxes outside them, in the frame's tile grid."""
    height = cur.shape[0]
    box = guess.box
    reach = PREDICT_MARGIN + abs(guess.dy)
    r0 = max(0, box.y - reach) // tile * tile
    r1 = min(height, -(-(box.bottom + reach) // tile) * tile)
    moved = np.zeros(height, np.uint8)
    spans = np.zeros((height, 2), np.int32)
    found: list[Rects] = []
    for y0, y1 in bands:
        for a, b in ((y0, min(y1, r0)), (max(y0, r0), min(y1, r1)), (max(y0, r1), y1)):
            if a >= b:
                continue
            if a >= r0 and b <= r1:
                moved[a:b], spans[a:b, 0], spans[a:b, 1], boxes = _rowhash.scroll_diff(
                    prev, cur, (a, b), (guess.x0, guess.x1), guess.dy, min_run=min_run, tile=tile
                )
            else:
                boxes = tile_diff(prev[a:b], cur[a:b], tile)
                boxes[:, 1] += a
            found.append(boxes)
    copies: list[Copy] = []
    runs = _rowhash.copy_runs(moved, spans[:, 0], spans[:, 1], tile)
    for ya, yb, x0, x1 in sorted(runs, key=lambda r: (r[0] - r[1]) * (r[3] - r[2])):
        if (yb - ya) * (x1 - x0) >= min_area and len(copies) < most:  # the largest first
            copies.append(Copy(x0, ya - guess.dy, Rect(x0, ya, x1 - x0, yb - ya)))
            continue
        # Too small to copy: its columns were not compared in place yet.
        boxes = tile_diff(prev[ya:yb, x0:x1], cur[ya:yb, x0:x1], tile)
        boxes[:, 0] += x0
        boxes[:, 1] += ya
        found.append(boxes)
    copies.sort(key=lambda c: c.dest.y)
    if not found:
        return copies, np.empty((0, 4), np.int32)
    return copies, np.concatenate(found)
