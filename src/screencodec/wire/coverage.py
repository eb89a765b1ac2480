"""Whether a set of rectangles covers a whole frame (the KEYFRAME rule).

A keyframe's ops must together paint every pixel, or its result would depend
on the framebuffer it was applied to. Overlaps are legal (lossless ops paint
text over a lossy still), so a sum of areas proves nothing. The union is
measured on the grid of the rectangles' own edges (coordinate compression)
with a 2-D difference array, so the work is vectorised and its memory is at
most one int32 per pixel, whatever the rectangles are (in practice a few
kilobytes: a keyframe's blocks share their edges).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["covers_frame"]


def covers_frame(rects: npt.NDArray[np.int64], width: int, height: int) -> bool:
    """True when the (n, 4) ``x, y, w, h`` rectangles, all inside the
    ``width x height`` frame, cover every pixel of it."""
    if not len(rects):
        return False
    x0, y0 = rects[:, 0], rects[:, 1]
    x1, y1 = x0 + rects[:, 2], y0 + rects[:, 3]
    xs = np.unique(np.concatenate(([0, width], x0, x1)))
    ys = np.unique(np.concatenate(([0, height], y0, y1)))
    ix0, ix1 = np.searchsorted(xs, x0), np.searchsorted(xs, x1)
    iy0, iy1 = np.searchsorted(ys, y0), np.searchsorted(ys, y1)
    # +1 at each rectangle's top-left grid corner, -1 past its right and
    # bottom edges, +1 past both: the 2-D prefix sum is then how many
    # rectangles cover each grid cell.
    diff = np.zeros((len(ys), len(xs)), np.int32)
    np.add.at(diff, (iy0, ix0), 1)
    np.add.at(diff, (iy0, ix1), -1)
    np.add.at(diff, (iy1, ix0), -1)
    np.add.at(diff, (iy1, ix1), 1)
    np.cumsum(diff, axis=0, out=diff)
    np.cumsum(diff, axis=1, out=diff)
    # The last grid row and column lie past the frame's edge.
    return bool((diff[:-1, :-1] > 0).all())
