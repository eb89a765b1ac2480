"""pgfirst45: pgdn44's fill of the blocks below a page's exact rows, made
vectorised NumPy (``backgrounds``: one sort of every block's samples;
``fill``: a 2-D prefix sum over their bounding box) where it looped in Python
over the blocks (one ``np.unique`` each). Equal to that loop, kept here as the
reference, on random frames of few colours (ties) and random disjoint blocks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screencodec.geometry import Rect
from screencodec.quality.controller import backgrounds, fill

Frame = npt.NDArray[np.uint8]
BGR = np.uint32(0x00FFFFFF)


def loop(ref: Frame, frame: Frame, blank: npt.NDArray[np.int32]) -> None:
    """pgdn44's ``_blank``, as it was."""
    for r in [Rect(*v) for v in blank.tolist()]:
        px = frame[r.y : r.y + r.h : 4, r.x : r.x + r.w : 4].reshape(-1, frame.shape[2])
        colours, counts = np.unique(px.view(np.uint32).ravel() & BGR, return_counts=True)
        bgr = np.array([colours[counts.argmax()]], np.uint32).view(np.uint8)
        ref[r.slices()][..., :3] = bgr[:3]


def disjoint(rng: np.random.Generator, w: int, h: int) -> npt.NDArray[np.int32]:
    """Up to 40 disjoint rects: random sub-rects of cells of a random grid,
    touching each other or not, 1 px thin to whole cells."""
    cw, ch = int(rng.integers(8, 300)), int(rng.integers(4, 80))
    out = []
    for gy in range(h // ch):
        for gx in range(w // cw):
            if rng.random() < 0.5:
                continue
            x0, x1 = sorted(rng.integers(0, cw + 1, 2))
            y0, y1 = sorted(rng.integers(0, ch + 1, 2))
            if rng.random() < 0.5:
                x0, x1, y0, y1 = 0, cw, 0, ch  # whole cells: neighbours touch
            if x1 > x0 and y1 > y0:
                out.append((gx * cw + x0, gy * ch + y0, x1 - x0, y1 - y0))
    rng.shuffle(out)
    return np.array(out[:40], np.int32).reshape(-1, 4)


def test_vectorised_fill_equals_the_loop_on_random_blocks() -> None:
    rng = np.random.default_rng(45)
    filled = 0
    for case in range(300):
        w, h = int(rng.integers(16, 700)), int(rng.integers(16, 400))
        levels = int(rng.integers(1, 5))  # few colours: ties for the most common
        frame = (rng.integers(0, levels, (h, w, 4)) * 70).astype(np.uint8)
        frame[..., 3] = rng.integers(0, 256, (h, w))  # the 4th byte is no colour
        blank = disjoint(rng, w, h)
        before = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        want, got = before.copy(), before.copy()
        loop(want, frame, blank)
        fill(got, blank, backgrounds(frame, blank))
        assert np.array_equal(got, want), (case, blank.tolist())
        filled += len(blank)
    assert filled > 1000


def test_no_blocks_leaves_the_picture() -> None:
    frame = np.zeros((32, 32, 4), np.uint8)
    none = np.zeros((0, 4), np.int32)
    assert backgrounds(frame, none).shape == (0,)
    ref = np.full((32, 32, 4), 7, np.uint8)
    fill(ref, none, backgrounds(frame, none))
    assert (ref == 7).all()
