"""Frame factories for the damage tests (imported by name: pytest puts this
directory on sys.path)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def random_frame(rng: np.random.Generator, height: int, width: int) -> npt.NDArray[np.uint8]:
    """A reference-style frame: random BGR, X always 255."""
    frame = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    frame[..., 3] = 255
    return frame


def strided_view(frame: npt.NDArray[np.uint8], pad: int = 7) -> npt.NDArray[np.uint8]:
    """The same pixels as a row-strided crop of a bigger array (strides (S, 4, 1))."""
    h, w = frame.shape[:2]
    big = np.zeros((h + 3, w + pad + 2, 4), dtype=np.uint8)
    view = big[2 : 2 + h, pad : pad + w]
    view[...] = frame
    return view
