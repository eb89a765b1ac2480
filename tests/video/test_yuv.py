"""The colour kernels against their NumPy reference, byte for byte."""

from __future__ import annotations

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.errors import FrameError
from screencodec.video import _yuv
from screencodec.video.reference import bgrx_to_yuv_ref, yuv_to_bgrx_ref


def planes(w: int, h: int, c420: bool, pad: int = 13) -> tuple[np.ndarray, ...]:
    cw, ch = (w // 2, h // 2) if c420 else (w, h)
    # Padded rows, as PyAV's planes have.
    y = np.zeros((h, w + pad), np.uint8)
    return y, np.zeros((ch, cw + pad), np.uint8), np.zeros((ch, cw + pad), np.uint8)


@settings(max_examples=60, deadline=None)
@given(
    w=st.integers(1, 40), h=st.integers(1, 30), x=st.integers(0, 9), y=st.integers(0, 9),
    c420=st.booleans(), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_kernels_match_reference(  # noqa: PLR0917 (hypothesis passes them by name)
    w: int, h: int, x: int, y: int, c420: bool, seed: int
) -> None:
    if c420:
        w, h = w + w % 2, h + h % 2
    rng = np.random.default_rng(seed)
    fb = rng.integers(0, 256, (h + 10, w + 10, 4), dtype=np.uint8)
    yp, up, vp = planes(w, h, c420)
    _yuv.bgrx_to_yuv(fb, x, y, w, h, yp, up, vp, c420)
    ry, ru, rv = bgrx_to_yuv_ref(fb[y : y + h, x : x + w], c420)
    cw = ru.shape[1]
    assert np.array_equal(yp[:, :w], ry)
    assert np.array_equal(up[:, :cw], ru)
    assert np.array_equal(vp[:, :cw], rv)

    out = rng.integers(0, 256, (h + 10, w + 10, 4), dtype=np.uint8)
    before = out.copy()
    _yuv.yuv_to_bgrx(yp, up, vp, out, x, y, w, h, c420)
    assert np.array_equal(out[y : y + h, x : x + w], yuv_to_bgrx_ref(ry, ru, rv, c420))
    mask = np.ones(out.shape[:2], bool)
    mask[y : y + h, x : x + w] = False
    assert np.array_equal(out[mask], before[mask])  # nothing outside the rect


def test_extremes_of_every_channel() -> None:
    """Every corner of the RGB cube and all greys, through both directions."""
    vals = np.array([0, 1, 127, 128, 254, 255], np.uint8)
    b, g, r = np.meshgrid(vals, vals, vals, indexing="ij")
    px = np.stack([b.ravel(), g.ravel(), r.ravel(), np.zeros(b.size, np.uint8)], 1)
    fb = np.ascontiguousarray(px.reshape(6, 36, 4))
    yp, up, vp = planes(36, 6, False)
    _yuv.bgrx_to_yuv(fb, 0, 0, 36, 6, yp, up, vp)
    ref = bgrx_to_yuv_ref(fb)
    assert all(np.array_equal(p[:, :36], q) for p, q in zip((yp, up, vp), ref, strict=True))


def test_greys_round_trip_exactly_and_colours_within_one() -> None:
    grey = np.repeat(np.arange(256, dtype=np.uint8), 4).reshape(16, 16, 4).copy()
    yp, up, vp = planes(16, 16, False)
    _yuv.bgrx_to_yuv(grey, 0, 0, 16, 16, yp, up, vp)
    assert (up[:, :16] == 128).all() and (vp[:, :16] == 128).all()
    back = np.zeros_like(grey)
    _yuv.yuv_to_bgrx(yp, up, vp, back, 0, 0, 16, 16)
    assert np.array_equal(back[..., :3], grey[..., :3])
    assert (back[..., 3] == 255).all()

    rng = np.random.default_rng(3)
    fb = rng.integers(0, 256, (256, 256, 4), dtype=np.uint8)
    yp, up, vp = planes(256, 256, False)
    _yuv.bgrx_to_yuv(fb, 0, 0, 256, 256, yp, up, vp)
    _yuv.yuv_to_bgrx(yp, up, vp, back := np.zeros_like(fb), 0, 0, 256, 256)
    err = np.abs(back[..., :3].astype(int) - fb[..., :3].astype(int))
    assert err.max() <= 2  # full-range 8-bit YCbCr: only rounding is lost
    assert err.mean() < 0.5


def test_close_to_swscale_bt709_full_range() -> None:
    """Same colour model as libswscale's BT.709 full-range conversion (within rounding)."""
    rng = np.random.default_rng(4)
    fb = rng.integers(0, 256, (32, 64, 4), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(fb, format="bgra")
    sws = frame.reformat(format="yuvj444p", src_colorspace="ITU709", dst_colorspace="ITU709")
    theirs = sws.to_ndarray()  # (3, h, w): Y, U, V planes
    for ours, plane in zip(bgrx_to_yuv_ref(fb), theirs, strict=True):
        assert np.abs(plane.astype(int) - ours.astype(int)).max() <= 2


@pytest.mark.parametrize(
    ("shape", "rect", "c420"),
    [
        ((8, 8, 3), (0, 0, 4, 4), False),  # not BGRX
        ((8, 8, 4), (6, 0, 4, 4), False),  # rect outside
        ((8, 8, 4), (0, 0, 3, 4), True),  # odd 4:2:0
    ],
)
def test_bad_input_is_refused(shape: tuple[int, ...], rect: tuple[int, ...], c420: bool) -> None:
    fb = np.zeros(shape, np.uint8)
    yp, up, vp = planes(8, 8, False)
    with pytest.raises(FrameError):
        _yuv.bgrx_to_yuv(fb, *rect, yp, up, vp, c420)


def test_small_plane_and_misaligned_frame_are_refused() -> None:
    fb = np.zeros((8, 8, 4), np.uint8)
    yp, up, vp = planes(4, 4, False, pad=0)
    with pytest.raises(FrameError):
        _yuv.bgrx_to_yuv(fb, 0, 0, 8, 8, yp, up, vp)
    raw = np.zeros(8 * 8 * 4 + 1, np.uint8)[1:].reshape(8, 8, 4)  # 1-byte offset
    yp, up, vp = planes(8, 8, False)
    with pytest.raises(FrameError):
        _yuv.bgrx_to_yuv(raw, 0, 0, 8, 8, yp, up, vp)


def test_rect_past_int32_is_refused_not_wrapped() -> None:
    fb = np.zeros((16, 16, 4), np.uint8)
    plane = np.zeros((16, 16), np.uint8)
    with pytest.raises(FrameError, match="outside"):
        _yuv.bgrx_to_yuv(fb, 1, 0, 2**31 - 1, 2, plane, plane, plane)
