"""Change detection: which parts of a frame differ from the previous one.

The pipeline stage is ``tile_diff`` (changed tiles, trimmed to their changed
pixels) -> ``merge_rects`` (few rectangles by a cost model) -> the encoder, which
encodes those rects and ``copy_rects`` them into its reference frame.
``subtract_rects`` (module ``subtract``) takes holes out of damage rects.

Frames are (H, W, 4) uint8 BGRX arrays; the X byte is ignored by every
comparison. The kernels are C (csrc/tilediff.c, csrc/damage_merge.c) and run
without the GIL, so capture and encoding threads are not held up. The functions
keep no state and may be called from several threads at once.
"""

from __future__ import annotations

from ._tiles import (
    DEFAULT_RECT_COST,
    MAX_TILE,
    MIN_TILE,
    any_change,
    copy_rects,
    memcmp_equal,
    merge_rects,
    tile_diff,
)

# For the stages that cut holes in the damage (motion, video, the encoder).
from .subtract import Subtraction, subtract_rects, subtract_rects_indexed

__all__ = [
    "DEFAULT_RECT_COST",
    "MAX_TILE",
    "MIN_TILE",
    "Subtraction",
    "any_change",
    "copy_rects",
    "memcmp_equal",
    "merge_rects",
    "subtract_rects",
    "subtract_rects_indexed",
    "tile_diff",
]
