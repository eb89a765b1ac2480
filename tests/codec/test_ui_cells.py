"""The UI test inside stills (``quality.plan._ui_like``) takes each cell's
pixels one of two ways: a gather per cell when few cells are asked, or the
neighbours' differences over the whole picture when most are (a still over a
page of text: 23,480 of 32,400 cells of a 1080p still, where the gather
took most of the keyframe's plan). Both must find the same cells."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.quality import plan
from screencodec.quality.plan import CELL, _cell_steps, _ui_like

Frame = npt.NDArray[np.uint8]


def gathered(pixels: Frame) -> npt.NDArray[np.int16]:
    """Every cell's step the way the gather takes it (its (CELL + 1)^2
    pixels, the last row and column repeated past the edge)."""
    h, w = pixels.shape[:2]
    ys, xs = np.arange(0, h, CELL), np.arange(0, w, CELL)
    k = np.arange(CELL + 1)
    rows = np.minimum(np.repeat(ys, len(xs))[:, None] + k, h - 1)
    cols = np.minimum(np.tile(xs, len(ys))[:, None] + k, w - 1)
    patch = pixels[rows[:, :, None], cols[:, None, :], :3].astype(np.int16)
    across = np.abs(np.diff(patch, axis=2)).max(axis=(1, 2, 3))
    down = np.abs(np.diff(patch, axis=1)).max(axis=(1, 2, 3))
    return np.maximum(across, down).reshape(len(ys), len(xs))


def screen(h: int, w: int, seed: int) -> Frame:
    """Text-like pixels (two colours, edges of 200), a photo-like gradient
    with grain (steps of a few levels), a flat patch, and steps over 128 in
    one channel only (|a - b| in uint8 must not wrap)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((h, w, 4), np.uint8)
    out[..., 3] = 255
    out[..., :3] = np.where(rng.random((h, w, 1)) < 0.3, 20, 220).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    grad = (60 + (xx + yy) % 50 + rng.integers(0, 4, (h, w))).astype(np.uint8)
    out[h // 3 :, : w // 2, :3] = grad[h // 3 :, : w // 2, None]
    out[: h // 4, w // 2 :, :3] = (28, 24, 24)
    out[h // 2 :, w // 2 :, 1] = np.where(xx[h // 2 :, w // 2 :] % 7 == 0, 250, 10)
    return out


@pytest.mark.parametrize("size", [(1080, 1920), (497, 772), (17, 9), (1, 40), (40, 1), (8, 8)])
def test_the_whole_picture_way_takes_what_the_gather_takes(size: tuple[int, int]) -> None:
    pixels = screen(*size, seed=size[0] + size[1])
    want = gathered(pixels)
    assert _cell_steps(pixels).tolist() == want.tolist()
    # Through _ui_like both ways: all cells (the whole-picture way) and a few
    # (the gather), on a view of a larger frame as the plan passes it.
    h, w = size
    frame = np.zeros((h + 5, w + 3, 4), np.uint8)
    frame[2 : 2 + h, 1 : 1 + w] = pixels
    view = frame[2 : 2 + h, 1 : 1 + w]
    ys, xs = np.arange(0, h, CELL), np.arange(0, w, CELL)
    y0, x0 = np.repeat(ys, len(xs)), np.tile(xs, len(ys))
    expect = ((want >= plan._UI_EDGE) | (want == 0)).ravel()
    assert _ui_like(view, y0, x0).tolist() == expect.tolist()
    few = np.arange(0, len(y0), 7)
    assert _ui_like(view, y0[few], x0[few]).tolist() == expect[few].tolist()


def test_every_small_size_takes_what_the_gather_takes() -> None:
    """Every picture of 1-25 x 1-25 pixels and a few around two cells, of
    random bytes, of two colours (edges of 255) or of steps of 0-2 (photo-like
    and flat): partial cells on either edge, a single row or column."""
    rng = np.random.default_rng(40)
    sizes = [(h, w) for h in range(1, 26) for w in range(1, 26)]
    sizes += [(h, w) for h in (15, 16, 17) for w in (1, 15, 16, 17, 63)]
    for k, (h, w) in enumerate(sizes):
        pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        if k % 3 == 1:
            pixels[..., :3] = np.where(rng.random((h, w, 1)) < 0.5, 0, 255)
        elif k % 3 == 2:
            pixels[..., :3] = rng.integers(0, 3, (h, w, 3))
        assert _cell_steps(pixels).tolist() == gathered(pixels).tolist(), (h, w)
