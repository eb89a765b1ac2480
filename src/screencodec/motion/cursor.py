"""The cursor channel: pointer shape and position, separate from the pixels.

The viewer draws the pointer itself, so a moving pointer never re-encodes
tiles: a position costs a 25-byte CURSOR_POSITION message, and each distinct
shape crosses the wire once as CURSOR_SHAPE, identified by a hash of its size,
hotspot and pixels.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

import numpy as np
import numpy.typing as npt
import xxhash

from ..capture.base import CursorState
from ..wire import build_cursor_position, build_cursor_shape
from ..wire.format import CURSOR_MAX_SIZE

__all__ = ["VIEWER_SHAPE_CACHE", "CursorEncoder", "cursor_shape_id"]

#: Shapes the reference decoder keeps, oldest received evicted first. The
#: encoder mirrors that cache so it re-sends a shape the viewer has dropped.
VIEWER_SHAPE_CACHE = 64

_HEAD = struct.Struct("<4H")


def cursor_shape_id(pixels: npt.NDArray[np.uint8], hotspot: tuple[int, int]) -> int:
    """xxh3-64 of width, height, hotspot (4 x u16 LE) and the BGRA pixels; never 0,
    which the wire reserves for "unknown shape"."""
    h, w = pixels.shape[:2]
    digest = xxhash.xxh3_64()
    digest.update(_HEAD.pack(w, h, hotspot[0], hotspot[1]))
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.intdigest() or 1


class CursorEncoder:
    """Turns pointer states into 0..2 messages: a CURSOR_SHAPE the first time a
    shape is seen (or after the viewer's cache dropped it), then a
    CURSOR_POSITION whenever position, shape or visibility changed.

    Shapes larger than the wire allows (256 x 256) are cropped around the
    hotspot. ``reset()`` forgets what the viewer has (a new viewer, or one that
    needs a keyframe). Not thread-safe.

    :param cache_size: shapes the viewer keeps (the reference decoder: 64).
    """

    def __init__(self, *, cache_size: int = VIEWER_SHAPE_CACHE) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be >= 1")
        self.cache_size = cache_size
        self._sent: OrderedDict[int, None] = OrderedDict()
        self._last: tuple[int, int, int, bool] | None = None

    def reset(self) -> None:
        self._sent.clear()
        self._last = None

    def update(self, state: CursorState | None, /) -> list[bytes]:
        """Messages that bring the viewer's pointer to ``state`` (None: the source
        cannot tell; nothing is sent)."""
        if state is None:
            return []
        out: list[bytes] = []
        shape_id = 0
        if state.shape is not None:
            shape_id, pixels, hotspot = self._shape(state.shape, state.hotspot)
            if shape_id not in self._sent:
                h, w = pixels.shape[:2]
                out.append(build_cursor_shape(shape_id, w, h, hotspot, pixels.tobytes()))
                self._sent[shape_id] = None
                while len(self._sent) > self.cache_size:
                    self._sent.popitem(last=False)
        pos = (int(state.x), int(state.y), shape_id, bool(state.visible))
        if out or pos != self._last:
            out.append(build_cursor_position(pos[0], pos[1], shape_id, visible=pos[3]))
            self._last = pos
        return out

    @staticmethod
    def _shape(
        shape: npt.NDArray[np.uint8], hotspot: tuple[int, int]
    ) -> tuple[int, npt.NDArray[np.uint8], tuple[int, int]]:
        arr = np.asarray(shape)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 4 or 0 in arr.shape:
            msg = f"cursor shape must be (h, w, 4) uint8 BGRA, not {arr.dtype} {arr.shape}"
            raise ValueError(msg)
        hx = min(max(int(hotspot[0]), 0), arr.shape[1] - 1)
        hy = min(max(int(hotspot[1]), 0), arr.shape[0] - 1)
        # Crop to the wire's limit, keeping the hotspot inside.
        x0 = min(max(0, hx - CURSOR_MAX_SIZE // 2), max(0, arr.shape[1] - CURSOR_MAX_SIZE))
        y0 = min(max(0, hy - CURSOR_MAX_SIZE // 2), max(0, arr.shape[0] - CURSOR_MAX_SIZE))
        arr = arr[y0 : y0 + CURSOR_MAX_SIZE, x0 : x0 + CURSOR_MAX_SIZE]
        hot = (hx - x0, hy - y0)
        data = np.ascontiguousarray(arr)
        # Hashing a pointer image (a few KB) at input rate costs microseconds.
        return cursor_shape_id(data, hot), data, hot
