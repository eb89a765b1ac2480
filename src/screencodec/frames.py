"""Checking what callers hand the encoder."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from .errors import FrameError
from .wire import MAX_DIMENSION

__all__ = [
    "MAX_KERNEL_DIM",
    "Frame",
    "as_frame",
    "check_size",
    "frame_layout",
    "frame_pair",
    "framebuffer_hash",
    "readonly_view",
]

#: Largest width or height the native kernels accept: far below 2**31, so
#: sums of coordinates in their int32 arithmetic never overflow.
MAX_KERNEL_DIM = 1 << 20

#: A frame or framebuffer: (H, W, 4) uint8, BGRX. The one definition of the alias.
Frame = npt.NDArray[np.uint8]


def check_size(width: int, height: int) -> None:
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise FrameError(
            f"frame size {width}x{height} outside 1x1..{MAX_DIMENSION}x{MAX_DIMENSION}"
        )


def as_frame(frame: Any) -> npt.NDArray[np.uint8]:
    """A (H, W, 4) uint8 BGRX array the native kernels can read without copying.

    C-contiguous arrays and row-strided views (pixels contiguous, rows apart)
    pass through as they are. Other layouts (Fortran order, negative strides,
    an mss ScreenShot) are converted once.
    """
    arr = frame if isinstance(frame, np.ndarray) else np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 4:
        raise FrameError(f"expected an (H, W, 4) uint8 frame, got {arr.dtype} {arr.shape}")
    check_size(arr.shape[1], arr.shape[0])
    s0, s1, s2 = arr.strides
    if s2 != 1 or s1 != 4 or s0 < 4 * arr.shape[1]:
        arr = np.ascontiguousarray(arr)
    return arr


def readonly_view(arr: Frame) -> Frame:
    """A view of ``arr`` that the caller cannot write through."""
    view: Frame = arr.view()
    view.flags.writeable = False
    return view


def framebuffer_hash(fb: Frame) -> int:
    """xxh3-64 of a C-contiguous framebuffer, as the wire's update hash."""
    return xxhash.xxh3_64_intdigest(fb.data)


def frame_layout(
    arr: Any, name: str, *, contiguous: bool = False, allow_empty: bool = False
) -> tuple[int, int, int]:
    """``(height, width, row stride in bytes)`` of a BGRX frame a C kernel may
    read through one pointer and a row stride: an (H, W, 4) uint8 ndarray with
    packed pixels (strides (S, 4, 1), S >= 4 * W). FrameError otherwise.

    The native modules call this before they take a pointer: it is the one
    place that decides what memory a kernel may touch.
    """
    if not isinstance(arr, np.ndarray):
        raise FrameError(f"{name} must be a numpy array, not {type(arr).__name__}")
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 4:
        raise FrameError(
            f"{name} must be an (H, W, 4) array of dtype uint8, not {arr.dtype} {arr.shape}"
        )
    h, w = int(arr.shape[0]), int(arr.shape[1])
    if h > MAX_KERNEL_DIM or w > MAX_KERNEL_DIM:
        raise FrameError(f"{name} is too large: {w}x{h}")
    if h == 0 or w == 0:
        if allow_empty:
            return h, w, 0  # nothing will be read; numpy's strides are arbitrary here
        raise FrameError(f"{name} is empty: {w}x{h}")
    s_row, s_px, s_chan = arr.strides
    # Strides of axes of length 1 are never used, so numpy may set them freely.
    if s_chan != 1 or (w > 1 and s_px != 4):
        raise FrameError(
            f"{name} must hold packed BGRX pixels (strides (S, 4, 1)), not {arr.strides}"
        )
    row = int(s_row) if h > 1 else 4 * w
    if row < 4 * w:
        raise FrameError(f"{name} rows overlap or run backwards (row stride {s_row})")
    if contiguous and row != 4 * w:
        raise FrameError(f"{name} must be C-contiguous, row stride is {s_row}")
    return h, w, row


def frame_pair(
    prev: Any, cur: Any, *, contiguous_prev: bool = False, allow_empty: bool = False
) -> tuple[int, int, int, int]:
    """``(height, width, prev row stride, cur row stride)`` of two frames of one size."""
    h, w, prev_row = frame_layout(prev, "prev", contiguous=contiguous_prev, allow_empty=allow_empty)
    h2, w2, cur_row = frame_layout(cur, "cur", allow_empty=allow_empty)
    if (h, w) != (h2, w2):
        raise FrameError(f"frame sizes differ: prev {w}x{h}, cur {w2}x{h2}")
    return h, w, prev_row, cur_row
