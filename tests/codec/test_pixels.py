"""The C pixel kernels against NumPy: every kernel has its oracle here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.codecs import _pixels
from screencodec.errors import DecodeError, FrameError


def frame(rng: np.random.Generator, h: int, w: int, colours: int | None = None) -> np.ndarray:
    f = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    if colours is not None:
        table = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
        f = table[rng.integers(0, colours, (h, w))]
    return f


def unpack_indices(packed: bytes, w: int, h: int, bits: int) -> np.ndarray:
    """NumPy reference of the index layout: MSB-first, rows padded to bytes."""
    row = (w * bits + 7) // 8
    b = np.frombuffer(packed, np.uint8).reshape(h, row)
    bitsarr = np.unpackbits(b, axis=1)[:, : w * bits].reshape(h, w, bits)
    weights = 1 << np.arange(bits - 1, -1, -1)
    return (bitsarr * weights).sum(axis=2)


@given(w=st.integers(1, 70), h=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_pack_unpack_bgr_matches_numpy(w: int, h: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    big = frame(rng, h + 3, w + 5)
    x, y = 2, 1
    packed = _pixels.pack_bgr(big, x, y, w, h)
    assert bytes(packed) == big[y : y + h, x : x + w, :3].tobytes()
    out = np.zeros_like(big)
    _pixels.unpack_bgr(bytes(packed), out, x, y, w, h)
    assert np.array_equal(out[y : y + h, x : x + w, :3], big[y : y + h, x : x + w, :3])
    assert (out[y : y + h, x : x + w, 3] == 255).all()
    # Nothing outside the rect was written.
    mask = np.ones(out.shape[:2], bool)
    mask[y : y + h, x : x + w] = False
    assert not out[mask].any()


@pytest.mark.parametrize("colours", [1, 2, 3, 4, 5, 16, 17, 200, 256])
def test_palette_round_trip_every_bit_depth(colours: int) -> None:
    rng = np.random.default_rng(colours)
    h, w = 23, 37
    f = frame(rng, h, w, colours)
    n_actual = len(np.unique(f[..., :3].reshape(-1, 3), axis=0))
    result = _pixels.palette_encode(f, 0, 0, w, h)
    assert result is not None
    bits, pal, packed = result
    assert len(pal) == 3 * n_actual
    assert bits == _pixels.index_bits(n_actual)
    idx = unpack_indices(bytes(packed), w, h, bits)
    table = np.frombuffer(bytes(pal), np.uint8).reshape(-1, 3)
    assert np.array_equal(table[idx], f[..., :3])
    out = np.zeros_like(f)
    _pixels.palette_apply(bytes(packed), bits, bytes(pal), out, 0, 0, w, h)
    assert np.array_equal(out[..., :3], f[..., :3])
    assert (out[..., 3] == 255).all()


def test_palette_ignores_padding_byte_and_bails_out() -> None:
    rng = np.random.default_rng(5)
    f = frame(rng, 16, 16, 3)
    f[..., 3] = rng.integers(0, 256, (16, 16))  # X junk must not add colours
    res = _pixels.palette_encode(f, 0, 0, 16, 16)
    assert res is not None and res[0] == 2
    noisy = frame(rng, 32, 32)  # ~1024 colours
    assert _pixels.palette_encode(noisy, 0, 0, 32, 32) is None
    assert _pixels.palette_encode(frame(rng, 8, 8, 3), 0, 0, 8, 8, max_colours=2) is None


@given(w=st.integers(1, 40), h=st.integers(1, 30), colours=st.integers(1, 300),
       cap=st.integers(1, 256), seed=st.integers(0, 2**32 - 1))  # fmt: skip
@settings(max_examples=80, deadline=None)
def test_colour_count_agrees_with_palette_and_solid(
    w: int, h: int, colours: int, cap: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    f = frame(rng, h + 2, w + 3, colours)
    n, rgb = _pixels.colour_count(f, 1, 2, w, h, cap)
    pal = _pixels.palette_encode(f, 1, 2, w, h, cap)
    assert n == (-1 if pal is None else len(pal[1]) // 3)
    assert rgb == _pixels.solid_colour(f, 1, 2, w, h)
    assert (rgb is not None) == (n == 1)


def test_solid_and_fill() -> None:
    f = np.zeros((10, 12, 4), np.uint8)
    f[..., :3] = (1, 2, 3)
    f[..., 3] = np.arange(120).reshape(10, 12)  # padding varies, colour does not
    assert _pixels.solid_colour(f, 0, 0, 12, 10) == 0x030201
    f[9, 11, 0] = 9
    assert _pixels.solid_colour(f, 0, 0, 12, 10) is None
    assert _pixels.solid_colour(f, 0, 0, 11, 10) == 0x030201
    out = np.zeros((4, 5, 4), np.uint8)
    _pixels.fill(out, 1, 1, 3, 2, 0x0A0B0C)
    assert out[1:3, 1:4].tolist() == [[[0x0C, 0x0B, 0x0A, 255]] * 3] * 2
    assert not out[0].any() and not out[3].any() and not out[:, 0].any()


def test_check_indices_rejects_index_past_palette() -> None:
    packed = bytes([0b00011011])  # 2-bit indices 0, 1, 2, 3
    _pixels.check_indices(packed, 4, 1, 2, 4)
    with pytest.raises(DecodeError, match="past the palette"):
        _pixels.check_indices(packed, 4, 1, 2, 3)
    with pytest.raises(DecodeError):
        _pixels.check_indices(packed, 5, 1, 2, 4)  # wrong size
    with pytest.raises(DecodeError):
        _pixels.check_indices(packed, 4, 1, 3, 4)  # 3 bits is not a layout
    # Padding bits at the end of a row do not count as indices.
    _pixels.check_indices(bytes([0b01000011]), 3, 1, 2, 2)


@pytest.mark.parametrize(
    ("x", "y", "w", "h"),
    [
        (-1, 0, 1, 1), (0, 0, 0, 1), (0, 0, 11, 1), (5, 9, 6, 2), (0, 0, 1, 0),
        # x + w and y + h past 2**31: they wrapped in C int, passed, and fill wrote
        # gigabytes past the frame (segfault).
        (1, 0, 2**31 - 1, 1), (0, 1, 1, 2**31 - 1),
    ],
)  # fmt: skip
def test_rects_outside_the_frame_are_refused(x: int, y: int, w: int, h: int) -> None:
    f = np.zeros((10, 10, 4), np.uint8)
    for call in (
        lambda: _pixels.pack_bgr(f, x, y, w, h),
        lambda: _pixels.solid_colour(f, x, y, w, h),
        lambda: _pixels.fill(f, x, y, w, h, 0),
        lambda: _pixels.palette_encode(f, x, y, w, h),
    ):
        with pytest.raises(FrameError):
            call()


def test_bad_layouts_are_refused() -> None:
    with pytest.raises(FrameError):
        _pixels.pack_bgr(np.zeros((4, 4, 3), np.uint8), 0, 0, 1, 1)
    with pytest.raises(FrameError):
        _pixels.pack_bgr(np.zeros((4, 4, 8), np.uint8)[:, :, ::2], 0, 0, 1, 1)
    with pytest.raises(DecodeError):
        _pixels.unpack_bgr(b"\0" * 5, np.zeros((4, 4, 4), np.uint8), 0, 0, 1, 2)


def filtered_reference(rect: np.ndarray, planar: bool, delta: bool) -> bytes:
    """NumPy model of ZSTD op filtering (docs/protocol.md)."""
    bgr = rect[..., :3].astype(np.int16)
    if delta:
        bgr[1:] -= rect[:-1, :, :3].astype(np.int16)
    out = (bgr & 0xFF).astype(np.uint8)
    if planar:
        out = out.transpose(2, 0, 1)
    return np.ascontiguousarray(out).tobytes()


@pytest.mark.parametrize(("planar", "delta"), [(0, 0), (0, 1), (1, 0), (1, 1)])
@given(w=st.integers(1, 40), h=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_filtered_pack_matches_numpy_and_inverts(
    planar: int, delta: int, w: int, h: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    big = frame(rng, h + 2, w + 3)
    x, y = 1, 2
    packed = _pixels.pack_filtered(big, x, y, w, h, bool(planar), bool(delta))
    assert bytes(packed) == filtered_reference(big[y : y + h, x : x + w], planar, delta)
    out = np.zeros_like(big)
    _pixels.unpack_filtered(bytes(packed), out, x, y, w, h, bool(planar), bool(delta))
    assert np.array_equal(out[y : y + h, x : x + w, :3], big[y : y + h, x : x + w, :3])
    assert (out[y : y + h, x : x + w, 3] == 255).all()
    assert not out[:y].any() and not out[:, :x].any()
