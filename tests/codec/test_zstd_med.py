"""The ZSTD op's MED filter (op flags MED | PLANAR, docs/protocol.md): the C
kernels against a NumPy reference in both directions, bit-exact round trips
through the lossless codec and ScreenDecoder for every valid flag value, and
refusal of every other value."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.codecs import _pixels
from screencodec.codecs.lossless import ZSTD_FLAG_SETS, LosslessEncoder
from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, ZstdFlags, build_update

MED_PLANAR = int(ZstdFlags.MED | ZstdFlags.PLANAR)
KINDS = ("noise", "photo", "grey", "flat")


def med_reference(px: np.ndarray) -> bytes:
    """docs/protocol.md's MED | PLANAR filter of an (h, w, >= 3) B, G, R image."""
    b, g, r = (px[..., i].astype(np.int16) for i in range(3))
    planes = []
    for p in ((b - g) & 255, g, (r - g) & 255):
        pred = np.zeros_like(p)
        pred[0, 1:] = p[0, :-1]  # first row: from the left (the first pixel from 0)
        pred[1:, 0] = p[:-1, 0]  # first column: from above
        a, up, c = p[1:, :-1], p[:-1, 1:], p[:-1, :-1]
        lo, hi = np.minimum(a, up), np.maximum(a, up)
        pred[1:, 1:] = np.where(c >= hi, lo, np.where(c <= lo, hi, a + up - c))
        planes.append((p - pred) & 255)
    return np.stack(planes).astype(np.uint8).tobytes()


def picture(kind: str, h: int, w: int, seed: int) -> np.ndarray:
    """BGRX test content: noise, a photo-like gradient with grain, near-grey
    pixels (B - G and R - G around 0, where mod 256 wraps) or one colour."""
    rng = np.random.default_rng(seed)
    f = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    if kind == "photo":
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([(xx * 3 + yy) % 256, (yy * 2 + xx // 2) % 256, 255 - xx % 256], axis=-1)
        # grain mostly in brightness, as in camera pictures: the channels
        # move together, which subtracting green exploits
        grain = rng.integers(-4, 5, (h, w, 1)) + rng.integers(-1, 2, (h, w, 3))
        f[..., :3] = (base + grain).clip(0, 255)
    elif kind == "grey":
        g = rng.integers(0, 256, (h, w))
        f[..., 1] = g
        f[..., 0] = (g + rng.integers(-2, 3, (h, w))) % 256
        f[..., 2] = (g + rng.integers(-2, 3, (h, w))) % 256
    elif kind == "flat":
        f[..., :3] = f[0, 0, :3]
    return f


def with_margins(px: np.ndarray, x: int, y: int, seed: int) -> np.ndarray:
    """``px`` inside a larger noisy frame at (x, y): the kernels must honour
    the stride and read nothing outside the rect."""
    h, w = px.shape[:2]
    big = np.random.default_rng(seed + 1).integers(0, 256, (h + y + 2, w + x + 3, 4), np.uint8)
    big[y : y + h, x : x + w] = px
    return big


sizes = st.integers(1, 40)


@given(w=sizes, h=sizes, x=st.integers(0, 3), y=st.integers(0, 3),
       kind=st.sampled_from(KINDS), seed=st.integers(0, 2**32 - 1))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_pack_med_equals_numpy_and_unpacks_exactly(
    *, w: int, h: int, x: int, y: int, kind: str, seed: int
) -> None:
    px = picture(kind, h, w, seed)
    big = with_margins(px, x, y, seed)
    packed = _pixels.pack_med(big, x, y, w, h)
    assert bytes(packed) == med_reference(px)
    out = np.zeros_like(big)
    _pixels.unpack_med(bytes(packed), out, x, y, w, h)
    assert np.array_equal(out[y : y + h, x : x + w, :3], px[..., :3])
    assert (out[y : y + h, x : x + w, 3] == 255).all()
    outside = np.ones(out.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert not out[outside].any()


@given(w=sizes, h=sizes, seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_unpack_med_inverts_the_numpy_filter(w: int, h: int, seed: int) -> None:
    """Any w*h*3 bytes are valid residuals: the C inverse of random ones,
    filtered again by the reference, gives them back (so the C inverse is
    the reference filter's inverse, which is one-to-one)."""
    residuals = np.random.default_rng(seed).integers(0, 256, w * h * 3, np.uint8).tobytes()
    out = np.zeros((h + 1, w + 2, 4), np.uint8)
    _pixels.unpack_med(residuals, out, 2, 1, w, h)
    assert med_reference(out[1:, 2:]) == residuals


def test_unpack_med_checks_its_sizes() -> None:
    fb = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(DecodeError):
        _pixels.unpack_med(bytes(3 * 4 - 1), fb, 0, 0, 2, 2)
    with pytest.raises(Exception, match="outside"):
        _pixels.pack_med(fb, 3, 3, 2, 2)


def filtered(px: np.ndarray, flags: int) -> bytes:
    """The rect's bytes as op flags ``flags`` ask, from the kernels."""
    h, w = px.shape[:2]
    if flags == MED_PLANAR:
        return bytes(_pixels.pack_med(px, 0, 0, w, h))
    planar, delta = bool(flags & ZstdFlags.PLANAR), bool(flags & ZstdFlags.DELTA_UP)
    return bytes(_pixels.pack_filtered(px, 0, 0, w, h, planar, delta))


def zstd_op(px: np.ndarray, rect: Rect, flags: int) -> EncodedOp:
    cctx = zstandard.ZstdCompressor(write_content_size=True)
    return EncodedOp(Op.ZSTD, rect, cctx.compress(filtered(px, flags)), flags)


W, H = 45, 41
RECT = Rect(3, 2, 13, 11)


def synced(seed: int = 1) -> tuple[ScreenDecoder, np.ndarray]:
    start = picture("noise", H, W, seed)
    start[..., 3] = 255
    dec = ScreenDecoder()
    raw = EncodedOp(Op.RAW, Rect(0, 0, W, H), start[..., :3].tobytes())
    dec.decode(build_update(0, W, H, [raw], keyframe=True))
    return dec, start


@given(w=st.integers(1, W), h=st.integers(1, H), data=st.data(), kind=st.sampled_from(KINDS),
       flags=st.sampled_from(sorted(ZSTD_FLAG_SETS)), seed=st.integers(0, 2**32 - 1))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_every_valid_flag_value_decodes_exactly(
    *, w: int, h: int, data: st.DataObject, kind: str, flags: int, seed: int
) -> None:
    """A ZSTD op of any valid flag value, any size, anywhere in the frame,
    through ScreenDecoder: exactly the rect's pixels change."""
    x, y = data.draw(st.integers(0, W - w)), data.draw(st.integers(0, H - h))
    dec, start = synced()
    px = picture(kind, h, w, seed)
    fb = dec.decode(build_update(1, W, H, [zstd_op(px, Rect(x, y, w, h), flags)]))
    want = start.copy()
    want[y : y + h, x : x + w, :3] = px[..., :3]
    assert np.array_equal(fb[..., :3], want[..., :3])
    assert not dec.needs_keyframe


def test_every_other_flag_value_is_refused() -> None:
    assert {0, 1, 2, 3, 6} == ZSTD_FLAG_SETS
    px = picture("photo", RECT.h, RECT.w, 0)
    payload = zstd_op(px, RECT, MED_PLANAR).payload
    for flags in set(range(256)) - ZSTD_FLAG_SETS:
        dec, start = synced()
        with pytest.raises(DecodeError, match="op flags"):
            dec.decode(build_update(1, W, H, [EncodedOp(Op.ZSTD, RECT, payload, flags)]))
        assert dec.needs_keyframe, flags
        assert dec.framebuffer is not None
        assert np.array_equal(dec.framebuffer[..., :3], start[..., :3]), flags


@given(w=sizes, h=sizes, kind=st.sampled_from(KINDS), seed=st.integers(0, 2**32 - 1),
       photo_filter=st.sampled_from(["med", "delta"]))  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_lossless_codec_round_trip(
    *, w: int, h: int, kind: str, seed: int, photo_filter: str
) -> None:
    """LosslessEncoder's choice for a whole frame, as a keyframe through
    ScreenDecoder: exact, and a ZSTD op carries the filter asked for."""
    px = picture(kind, h, w, seed)
    enc = LosslessEncoder(photo_filter="med" if photo_filter == "med" else "delta")
    op = enc.encode_rect(px, Rect(0, 0, w, h))
    if op.op is Op.ZSTD:
        assert op.flags == (MED_PLANAR if photo_filter == "med" else 3)
    fb = ScreenDecoder().decode(build_update(0, w, h, [op], keyframe=True))
    assert np.array_equal(fb[..., :3], px[..., :3])


def test_photos_go_med_and_shrink() -> None:
    px = picture("photo", 96, 160, 10)
    rect = Rect(0, 0, 160, 96)
    med = LosslessEncoder(photo_filter="med").encode_rect(px, rect)
    delta = LosslessEncoder().encode_rect(px, rect)
    assert (med.op, med.flags) == (Op.ZSTD, MED_PLANAR)
    assert (delta.op, delta.flags) == (Op.ZSTD, 3)  # the default: every viewer decodes it
    assert len(med.payload) < len(delta.payload)


def test_unknown_photo_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="photo_filter"):
        LosslessEncoder(photo_filter="webp")  # type: ignore[arg-type]
