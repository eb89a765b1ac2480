"""The synthetic mouse pointer: a classic arrow, BGRA with straight alpha."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

__all__ = ["arrow"]

# The outline of a 12x19 arrow, hotspot at its tip (0, 0).
_ARROW = ((0, 0), (0, 16), (4, 12), (7, 18), (9, 17), (6, 11), (11, 11))


@functools.lru_cache(maxsize=8)
def arrow(scale: float, /) -> npt.NDArray[np.uint8]:
    """The arrow at ``scale`` as an (h, w, 4) BGRA array (read-only, shared)."""
    s = max(0.5, scale)
    w, h = round(13 * s) + 1, round(20 * s) + 1
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    pts = [(x * s, y * s) for x, y in _ARROW]
    ImageDraw.Draw(img).polygon(pts, fill=(255, 255, 255, 255), outline=(0, 0, 0, 255))
    rgba = np.asarray(img)
    bgra: npt.NDArray[np.uint8] = rgba[..., [2, 1, 0, 3]].copy()
    bgra.flags.writeable = False
    return bgra
