"""Error measures of lossy pixels (NumPy; no PyAV needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from screencodec.frames import Frame

from ..geometry import Rect

__all__ = ["outside", "psnr", "sse"]


#: Above this many pixels the error is measured on an even spread of rows.
SSE_PIXELS = 1 << 17


def sse(
    a: Frame, b: Frame, /, *, holes: Sequence[Rect] = (), max_pixels: int = SSE_PIXELS
) -> tuple[float, int]:
    """Sum of squared B, G, R differences between two equally sized images,
    outside ``holes`` (rects relative to the images), and how many pixels it
    covers: all of them, or every n-th row when there are more than
    ``max_pixels``."""
    h, w = a.shape[:2]
    step = max(1, -(-h * w // max_pixels))
    d = np.subtract(a[::step], b[::step], dtype=np.float32)
    d[..., 3] = 0
    count = d.shape[0] * d.shape[1]
    if holes:
        keep = np.ones(d.shape[:2], np.bool_)
        for r in holes:
            keep[-(-r.y // step) : -(-r.bottom // step), r.x : r.right] = False
        d[~keep] = 0
        count = int(np.count_nonzero(keep))
    flat = d.reshape(-1)
    return float(np.dot(flat, flat)), count


def outside(w: int, h: int, holes: Sequence[Rect], /) -> int:
    """Pixels of a ``w x h`` image outside every hole (holes may overlap)."""
    if not holes:
        return w * h
    keep = np.ones((h, w), np.bool_)
    for r in holes:
        keep[r.slices()] = False
    return int(np.count_nonzero(keep))


def psnr(total: float, pixels: int, /) -> float | None:
    """PSNR in dB of a ``total`` squared error over ``pixels`` B, G, R pixels
    (None without pixels; capped at 99 dB for an exact picture)."""
    if pixels <= 0:
        return None
    mse = total / (3 * pixels)
    return 99.0 if mse <= 0 else min(99.0, 10 * math.log10(255.0**2 / mse))
