"""Typed surface of the compiled ``_subtract`` module (what mypy sees)."""

import numpy as np
import numpy.typing as npt

def subtract_boxes(
    rects: npt.ArrayLike, holes: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Each (x0, y0, x1, y1) rect minus every hole: the pieces as an (k, 4)
    int64 array of (x0, y0, x1, y1), disjoint per rect; the index of the rect
    each piece comes from (pieces of one rect are together, rects in order);
    and for each rect whether a hole overlaps it. Empty rects and holes count
    as absent. O(k^2 log k) per rect with k overlapping holes."""

def subtract_xywh(
    rects: npt.ArrayLike, holes: npt.ArrayLike
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """``subtract_boxes`` for (x, y, w, h) rects and holes: the pieces as (k,
    4) int32 (x, y, w, h), ordered by their rect, then y, then x."""
