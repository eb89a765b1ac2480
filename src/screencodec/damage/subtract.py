"""Rectangles minus rectangles: what is left of the damage once copies,
video regions or other holes are taken out of it.

Each rect is cut on its own: the horizontal edges of the holes that overlap it
split it into slabs, each slab keeps the column intervals no hole covers, and
pieces of consecutive slabs with the same columns join again. The pieces of a
rect are disjoint and cover exactly the rect minus the holes. The loops are
compiled (``_subtract.pyx``): O(k^2 log k) per rect with k overlapping holes,
which is what the number of pieces can reach (a grid of holes), and a few
microseconds for a frame's damage against its copies.

Stateless; safe to call from several threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ..geometry import Rect
from ._subtract import subtract_xywh

__all__ = ["Subtraction", "subtract_rects", "subtract_rects_indexed"]

Rects = npt.NDArray[np.int32]


class Subtraction(NamedTuple):
    """The pieces of ``rects`` minus ``holes``, and where each comes from."""

    #: (k, 4) int32 (x, y, w, h): the pieces, ordered by their rect, then y, x.
    pieces: Rects
    #: (k,) the index of the input rect each piece belongs to.
    owner: npt.NDArray[np.intp]
    #: (n,) True for each input rect that some hole overlaps (its pieces are
    #: smaller than it, or it has none left); False: it is its own one piece.
    cut: npt.NDArray[np.bool_]


def _xywh(rects: npt.ArrayLike | Sequence[Rect]) -> npt.ArrayLike:
    """(x, y, w, h) rows from rows or Rects."""
    if isinstance(rects, Sequence) and rects and isinstance(rects[0], Rect):
        return [(r.x, r.y, r.w, r.h) for r in rects]  # type: ignore[union-attr]
    return rects  # type: ignore[return-value]


def subtract_rects(
    rects: npt.ArrayLike | Sequence[Rect], holes: npt.ArrayLike | Sequence[Rect]
) -> Rects:
    """``rects`` (x, y, w, h) minus every hole, as (k, 4) int32 disjoint pieces
    per rect (rects that overlap each other give pieces that do too). Empty
    rects and holes count as absent."""
    return subtract_rects_indexed(rects, holes).pieces


def subtract_rects_indexed(
    rects: npt.ArrayLike | Sequence[Rect], holes: npt.ArrayLike | Sequence[Rect]
) -> Subtraction:
    """``subtract_rects``, with the rect each piece comes from and which rects
    a hole cut."""
    # One compiled call: pieces sorted and as (x, y, w, h) there (a frame's
    # damage against its copies is a few rects; NumPy calls cost more).
    return Subtraction(*subtract_xywh(_xywh(rects), _xywh(holes)))
