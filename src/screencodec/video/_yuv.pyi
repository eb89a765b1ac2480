"""Typed surface of the compiled colour conversion kernels (video/_yuv.pyx)."""

import numpy as np
import numpy.typing as npt

_Frame = npt.NDArray[np.uint8]
_Plane = npt.NDArray[np.uint8]

def bgrx_to_yuv(
    fb: _Frame,
    x: int,
    y: int,
    w: int,
    h: int,
    yp: _Plane,
    up: _Plane,
    vp: _Plane,
    chroma420: bool = False,
) -> None:
    """BGRX rect -> planar YUV (BT.709 full range), 4:4:4 or 4:2:0 (even w, h)."""

def yuv_to_bgrx(
    yp: _Plane,
    up: _Plane,
    vp: _Plane,
    fb: _Frame,
    x: int,
    y: int,
    w: int,
    h: int,
    chroma420: bool = False,
) -> None:
    """Planar YUV -> BGRX rect of ``fb`` (X := 255), the inverse of :func:`bgrx_to_yuv`."""
