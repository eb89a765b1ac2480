"""Checking what callers hand the encoder."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from .errors import FrameError
from .wire import MAX_DIMENSION

__all__ = ["as_frame", "check_size", "framebuffer_hash", "readonly_view"]

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
