"""NumPy reference of the colour conversion kernels (csrc/yuv.c).

The same integer arithmetic, written for clarity: it is the test oracle (the C
kernels must match it byte for byte) and the baseline the benchmarks compare
the kernels to. BT.709 matrix, full range, 16-bit fixed point, round half up,
floor shifts; 4:2:0 chroma from the rounded mean of each 2x2 block, repeated
over the block on the way back.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

__all__ = ["bgrx_to_yuv_ref", "yuv_to_bgrx_ref"]

_I32 = npt.NDArray[np.int32]

# Coefficients x 65536 (see csrc/yuv.c).
_Y = (13933, 46871, 4732)  # R, G, B
_U = (-7509, -25259, 32768)
_V = (32768, -29763, -3005)
_RV, _GU, _GV, _BU = 103206, -12276, -30679, 121609
_HALF = 32768


def _mat(r: _I32, g: _I32, b: _I32, c: tuple[int, int, int]) -> _I32:
    out: _I32 = (c[0] * r + c[1] * g + c[2] * b + _HALF) >> 16
    return out


def _chroma(r: _I32, g: _I32, b: _I32) -> tuple[Frame, Frame]:
    u = np.clip(_mat(r, g, b, _U) + 128, 0, 255).astype(np.uint8)
    v = np.clip(_mat(r, g, b, _V) + 128, 0, 255).astype(np.uint8)
    return u, v


def bgrx_to_yuv_ref(rect: Frame, chroma420: bool = False) -> tuple[Frame, Frame, Frame]:
    """(h, w, 4) BGRX pixels -> Y (h, w) and U, V ((h, w) or (h/2, w/2))."""
    px = rect.astype(np.int32)
    b, g, r = px[..., 0], px[..., 1], px[..., 2]
    y = _mat(r, g, b, _Y).astype(np.uint8)
    if chroma420:
        h, w = b.shape

        def mean(c: _I32) -> _I32:
            s: _I32 = c.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3))
            return (s + 2) >> 2

        b, g, r = mean(b), mean(g), mean(r)
    u, v = _chroma(r, g, b)
    return y, u, v


def yuv_to_bgrx_ref(y: Frame, u: Frame, v: Frame, chroma420: bool = False) -> Frame:
    """Y, U, V planes -> (h, w, 4) BGRX with X = 255."""
    if chroma420:
        u = u.repeat(2, axis=0).repeat(2, axis=1)
        v = v.repeat(2, axis=0).repeat(2, axis=1)
    y16 = y.astype(np.int32) * 65536 + _HALF
    cu = u.astype(np.int32) - 128
    cv = v.astype(np.int32) - 128
    out = np.empty((*y.shape, 4), np.uint8)
    out[..., 2] = np.clip((y16 + _RV * cv) >> 16, 0, 255)
    out[..., 1] = np.clip((y16 + _GU * cu + _GV * cv) >> 16, 0, 255)
    out[..., 0] = np.clip((y16 + _BU * cu) >> 16, 0, 255)
    out[..., 3] = 255
    return out
