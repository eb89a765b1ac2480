"""Shared helpers of the video tests: scenes, PSNR, exactness outside a rect."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from screencodec.geometry import Rect

Frame = npt.NDArray[np.uint8]
FPS = 30


def psnr(a: Frame, b: Frame) -> float:
    """PSNR in dB over the B, G, R bytes of two equally sized images."""
    d = a[..., :3].astype(np.float64) - b[..., :3].astype(np.float64)
    mse = float((d * d).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def outside(shape: tuple[int, ...], *rects: Rect) -> npt.NDArray[np.bool_]:
    """Mask of the pixels outside every rect."""
    mask = np.ones(shape[:2], np.bool_)
    for r in rects:
        mask[r.slices()] = False
    return mask


def exact_where(fb: Frame, src: Frame, mask: npt.NDArray[np.bool_]) -> bool:
    """Whether ``fb`` and ``src`` agree in B, G and R wherever ``mask`` is set.

    Compared a channel at a time and masked whole, not by indexing
    ``fb[..., :3][mask]`` (a copy of a strided view: 25 ms for 960x540,
    1 ms this way, and several video tests check every frame)."""
    if fb.shape[:2] != src.shape[:2] or mask.shape != src.shape[:2]:
        return False
    differ = fb[..., 0] != src[..., 0]
    differ |= fb[..., 1] != src[..., 1]
    differ |= fb[..., 2] != src[..., 2]
    differ &= mask
    return not differ.any()


def text_desktop(w: int, h: int, seed: int = 0) -> Frame:
    """A still desktop of dark-on-light 'glyph' strokes (few colours, sharp edges)."""
    return _text_desktop(w, h, seed).copy()


def film(w: int, h: int, index: int, seed: int = 1) -> Frame:
    """Camera-like footage: a smooth panning gradient, drifting blob, fresh grain."""
    return _film(w, h, index, seed).copy()


# Made once and copied: the same scenes are drawn again in test after test
# (a 640x360 film picture costs 30 ms, a 960x540 text desktop 0.1 s; a copy
# 0.2 ms). Bounded: 64 pictures of 640x360 are 59 MB.
@functools.lru_cache(maxsize=8)
def _text_desktop(w: int, h: int, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    f = np.full((h, w, 4), 235, np.uint8)
    f[..., 3] = 0
    for y in range(8, h - 12, 14):
        x = 6
        while x < w - 10:
            gw = int(rng.integers(3, 8))
            glyph = rng.random((9, gw)) < 0.45
            f[y : y + 9, x : x + gw, :3][glyph] = (30, 20, 10)
            x += gw + 2 + int(rng.integers(0, 2)) * 5
    f.flags.writeable = False  # the cached one: callers get copies
    return f


@functools.lru_cache(maxsize=64)
def _film(w: int, h: int, index: int, seed: int) -> Frame:
    rng = np.random.default_rng(seed + index)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((h, w, 4), np.uint8)
    t = index * 0.15
    out[..., 0] = np.clip(128 + 90 * np.sin(xx / 37 + t), 0, 255)
    out[..., 1] = np.clip(128 + 90 * np.sin(yy / 23 - t), 0, 255)
    out[..., 2] = np.clip(128 + 90 * np.sin((xx + yy) / 51 + 2 * t), 0, 255)
    cx, cy = (w / 2) * (1 + np.sin(t)), (h / 2) * (1 + np.cos(t))
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (h / 6) ** 2))
    out[..., :3] = np.clip(out[..., :3] * (1 - blob[..., None]) + 230 * blob[..., None], 0, 255)
    grain = rng.integers(-6, 7, (h, w, 1))
    out[..., :3] = np.clip(out[..., :3].astype(np.int16) + grain, 0, 255).astype(np.uint8)
    out[..., 3] = 0
    out.flags.writeable = False  # the cached one: callers get copies
    return out
