"""VIDEO decode work is bounded before decoding: a picture larger than its
rect is refused when its SPS is parsed, and an update's VIDEO ops are capped
in number and area."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.video.codec import (
    CODEC_H264,
    FLAG_IDR,
    MAX_VIDEO_OPS,
    VIDEO_HEADER,
    VideoDecoder,
    VideoStream,
)
from screencodec.video.h264 import H264Decoder, H264Encoder, H264Options, max_pixels
from screencodec.wire import EncodedOp, Op, OpView, build_update

from .helpers import film

W, H = 320, 240
SMALL = Rect(16, 16, 128, 96)


@pytest.fixture(scope="module")
def uhd_idr() -> bytes:
    """An IDR access unit whose SPS declares a 3840x2160 picture."""
    fb = np.zeros((2160, 3840, 4), np.uint8)
    fb[..., 3] = 255
    return H264Encoder(3840, 2160, H264Options()).encode(fb, Rect(0, 0, 3840, 2160), idr=True)


def video_op(rect: Rect, au: bytes, sid: int = 1, number: int = 0) -> EncodedOp:
    return EncodedOp(Op.VIDEO, rect, VIDEO_HEADER.pack(CODEC_H264, FLAG_IDR, sid, number) + au)


def viewer_after_keyframe() -> tuple[ScreenDecoder, np.ndarray]:
    dec = ScreenDecoder()
    fill = EncodedOp(Op.FILL, Rect(0, 0, W, H), b"\x10\x20\x30")
    fb = dec.decode(build_update(0, W, H, [fill], keyframe=True)).copy()
    assert not dec.needs_keyframe
    return dec, fb


def test_a_4k_picture_in_a_small_rect_is_refused_before_it_is_decoded(uhd_idr: bytes) -> None:
    dec, before = viewer_after_keyframe()
    data = build_update(1, W, H, [video_op(SMALL, uhd_idr)])
    with pytest.raises(DecodeError) as e:
        dec.decode(data)
    # libavcodec refused the SPS (max_pixels): our own size check, which
    # runs only after a whole picture was decoded, never saw a picture.
    assert "Invalid data" in str(e.value)
    assert "picture in a" not in str(e.value)
    assert dec.needs_keyframe
    assert dec.framebuffer is not None
    assert np.array_equal(dec.framebuffer, before)


def test_the_refusal_costs_no_4k_decode(uhd_idr: bytes) -> None:
    """The same stream, decoded without the bound, does produce the 4K picture
    (so the refusal above is the bound's doing, not a broken stream)."""
    bounded = H264Decoder(SMALL.w, SMALL.h, chroma420=False)
    with pytest.raises(DecodeError, match="Invalid data"):
        bounded.decode(uhd_idr)
    big = H264Decoder(3840, 2160, chroma420=False)
    assert (big.decode(uhd_idr).width, big.decode(uhd_idr).height) == (3840, 2160)


def test_max_pixels_allows_exactly_the_streams_own_pictures() -> None:
    assert max_pixels(128, 96) == 128 * 96
    assert max_pixels(1112, 582) == 1152 * 592
    assert max_pixels(2, 2) == 64 * 16
    # Odd-sized regions of real streams decode (the bound has room for them).
    for w, h in [(130, 98), (1112, 582), (2, 2)]:
        fb = np.zeros((h, w, 4), np.uint8)
        fb[..., :3] = film(w, h, 0)[..., :3] if w > 8 else 128
        au = H264Encoder(w, h).encode(fb, Rect(0, 0, w, h), idr=True)
        assert H264Decoder(w, h, chroma420=False).decode(au).width == w


def streams(n: int, rect: Rect) -> list[EncodedOp]:
    fb = np.zeros((H, W, 4), np.uint8)
    fb[rect.slices()] = film(rect.w, rect.h, 0)
    ref = fb.copy()
    return [VideoStream(sid, rect.w, rect.h, H264Options()).encode(fb, ref, rect)
            for sid in range(1, n + 1)]  # fmt: skip


def test_more_than_max_video_ops_in_one_update_are_refused() -> None:
    ops = streams(MAX_VIDEO_OPS + 1, Rect(0, 0, 32, 32))
    dec, before = viewer_after_keyframe()
    dec.decode(build_update(1, W, H, ops[:MAX_VIDEO_OPS]))  # at the cap: fine
    dec, before = viewer_after_keyframe()
    with pytest.raises(DecodeError, match=f"more than {MAX_VIDEO_OPS} VIDEO ops"):
        dec.decode(build_update(1, W, H, ops))
    assert dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, before)  # type: ignore[arg-type]


def test_video_ops_covering_more_than_the_frame_are_refused() -> None:
    full = Rect(0, 0, W, H)
    ops = streams(2, full)
    dec, before = viewer_after_keyframe()
    dec.decode(build_update(1, W, H, ops[:1]))
    dec, before = viewer_after_keyframe()
    with pytest.raises(DecodeError, match="cover more than 1x the 320x240 frame"):
        dec.decode(build_update(1, W, H, ops))  # 2x: within the wire's 4x, not VIDEO's
    assert dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, before)  # type: ignore[arg-type]


def test_the_caps_count_per_update() -> None:
    """Each update gets the full allowance from begin_update, also after a refused one."""
    (op,) = streams(1, Rect(0, 0, W, H))
    vd = VideoDecoder()
    fb = np.zeros((H, W, 4), np.uint8)
    msg = memoryview(bytes(op.payload))
    for _ in range(3):
        vd.begin_update()
        vd.apply(vd.prepare(OpView(Op.VIDEO, 0, op.rect, msg), (W, H)), fb)
    vd.begin_update()
    second = OpView(Op.VIDEO, 0, op.rect, msg)
    vd.prepare(second, (W, H))
    with pytest.raises(DecodeError, match="cover more than"):
        vd.prepare(second, (W, H))  # two full-frame ops in one update
    vd.begin_update()  # the next update starts a new count
    vd.apply(vd.prepare(OpView(Op.VIDEO, 0, op.rect, msg), (W, H)), fb)
