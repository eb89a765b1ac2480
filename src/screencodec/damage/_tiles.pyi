"""Typed surface of the compiled ``_tiles`` module (what mypy sees)."""

from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

from screencodec.frames import Frame

_Rects = npt.NDArray[np.int32]

MIN_TILE: Final[int]
MAX_TILE: Final[int]
DEFAULT_RECT_COST: Final[int]
"""Fixed cost of one rectangle in pixel-equivalents (1024: a wire header, a
codec call and a viewer blit cost about as much as encoding a 32x32 area)."""
MAX_DIM: Final[int]

def tile_diff(prev: Frame, cur: Frame, tile: int = 64) -> _Rects:
    """Changed tiles between two frames, as an (N, 4) int32 array of (x, y, w, h).

    Tiles of ``tile`` x ``tile`` pixels (16 to 256; the last row and column may
    be partial) are reported in raster order, each trimmed to the bounding box of
    its pixels whose B, G or R differ; the X byte is ignored. Both frames are
    (H, W, 4) uint8, C-contiguous or row-strided (strides (S, 4, 1): a
    column range of a frame); two contiguous frames are compared as one span
    per tile row. Raises FrameError on any other layout, on size mismatch or
    a bad tile size. The scan runs without the GIL.
    """

def any_change(prev: Frame, cur: Frame) -> bool:
    """True when any pixel's B, G or R differ; stops at the first difference.
    ``prev`` must be C-contiguous, ``cur`` may be row-strided."""

def merge_rects(boxes: npt.ArrayLike, width: int, height: int, *, rect_cost: int = ...) -> _Rects:
    """Merge boxes (N, 4) of (x, y, w, h) into few rectangles, (M, 4) int32.

    Each rectangle costs ``rect_cost`` plus its area; two are merged when their
    bounding box costs no more than the two apart, so the total cost never rises
    above that of the input. Boxes are banded by rows, merged left to right in a
    band, then downwards with the band above (O(n log n)). When one full-frame
    rectangle is cheaper than the result, that is returned instead. Outputs lie
    inside the frame, cover every input box and come in raster order. They do not
    overlap when the boxes come from :func:`tile_diff` (disjoint tiles); with
    arbitrary, overlapping boxes they may. Boxes must be non-empty and inside the
    frame (FrameError otherwise).
    """

def copy_rects(dst: Frame, src: Frame, rects: npt.ArrayLike) -> None:
    """Copy ``rects`` of ``src`` (row-strided allowed) into ``dst`` (C-contiguous,
    writable) at the same positions, setting the X byte to 255. Every rect is
    checked to lie inside both frames before anything is written (FrameError).
    Runs without the GIL."""

def memcmp_equal(a: Buffer | npt.NDArray[Any], b: Buffer | npt.NDArray[Any]) -> bool:
    """libc ``memcmp`` of two C-contiguous buffers of equal size (FrameError
    otherwise), without the GIL: the physical floor that benchmarks compare to."""

def _set_impl(name: Literal["avx2", "generic"]) -> Literal["avx2", "generic"]: ...
def _impl() -> Literal["avx2", "generic"]: ...
