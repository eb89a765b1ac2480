"""The VIDEO op: the viewer's decode equals the encoder's own reference decode."""

from __future__ import annotations

import contextlib

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.video.codec import FLAG_IDR, VIDEO_HEADER, VideoDecoder, VideoStream
from screencodec.video.h264 import H264Options
from screencodec.wire import EncodedOp, Op, OpView, build_update

from .helpers import film, psnr

W, H = 192, 128
RECT = Rect(10, 6, 160, 112)


def frames(n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        f = np.zeros((H, W, 4), np.uint8)
        f[RECT.slices()] = film(RECT.w, RECT.h, i)
        out.append(f)
    return out


def view(e: EncodedOp) -> OpView:
    return OpView(e.op, 0, e.rect, memoryview(bytes(e.payload)))


@pytest.mark.parametrize("chroma", ["444", "420"])
def test_viewer_decode_is_bit_exact_to_encoder_reference(chroma: str) -> None:
    stream = VideoStream(7, RECT.w, RECT.h, H264Options(chroma=chroma))  # type: ignore[arg-type]
    dec = VideoDecoder()
    ref = np.zeros((H, W, 4), np.uint8)
    fb = np.zeros((H, W, 4), np.uint8)
    for i, f in enumerate(frames(8)):
        if i == 5:
            stream.request_idr()
        op = stream.encode(f, ref, RECT)
        codec, flags, sid, number = VIDEO_HEADER.unpack_from(op.payload)
        assert (codec, sid, number) == (1, 7, i)
        assert bool(flags & FLAG_IDR) == (i in (0, 5))
        dec.begin_update()
        dec.apply(dec.prepare(view(op), (W, H)), fb)
        assert np.array_equal(fb, ref)
        assert (ref[RECT.slices()][..., 3] == 255).all()
        assert psnr(ref[RECT.slices()], f[RECT.slices()]) > 35


def test_bitstream_is_a_plain_h264_stream_with_the_declared_profile_and_colours() -> None:
    stream = VideoStream(1, RECT.w, RECT.h, H264Options())
    ref = np.zeros((H, W, 4), np.uint8)
    ctx = av.CodecContext.create("h264", "r")
    for f in frames(3):
        au = bytes(stream.encode(f, ref, RECT).payload)[VIDEO_HEADER.size :]
        (pic,) = ctx.decode(av.Packet(au))
        assert pic.format.name in ("yuv444p", "yuvj444p")
        assert pic.color_range == 2  # full range, as the kernels convert
        assert pic.colorspace == 1  # BT.709
    assert "4:4:4" in ctx.profile


def decoder_and_ops(n: int) -> tuple[VideoDecoder, list[EncodedOp]]:
    stream = VideoStream(3, RECT.w, RECT.h, H264Options())
    ref = np.zeros((H, W, 4), np.uint8)
    return VideoDecoder(), [stream.encode(f, ref, RECT) for f in frames(n)]


def test_a_stream_without_its_idr_is_refused() -> None:
    dec, ops = decoder_and_ops(3)
    dec.begin_update()
    with pytest.raises(DecodeError, match="without an IDR"):
        dec.prepare(view(ops[1]), (W, H))


def test_a_missing_picture_is_noticed() -> None:
    dec, ops = decoder_and_ops(3)
    dec.begin_update()
    dec.prepare(view(ops[0]), (W, H))
    dec.begin_update()
    with pytest.raises(DecodeError, match="expected 1"):
        dec.prepare(view(ops[2]), (W, H))
    dec.begin_update()
    with pytest.raises(DecodeError):  # the stream is gone until the next IDR
        dec.prepare(view(ops[1]), (W, H))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p[: VIDEO_HEADER.size],  # no access unit
        lambda p: bytes([2]) + p[1:],  # unknown codec
        lambda p: p[:1] + bytes([p[1] | 0x80]) + p[2:],  # unknown flag
        lambda p: p[: VIDEO_HEADER.size] + b"\x00\x00\x00\x01" + bytes(range(200)),  # garbage
        lambda p: p[: len(p) // 3],  # truncated access unit
    ],
)
def test_malformed_payloads_are_refused(mutate: object) -> None:
    dec, ops = decoder_and_ops(1)
    payload = mutate(bytes(ops[0].payload))  # type: ignore[operator]
    dec.begin_update()
    with pytest.raises(DecodeError):
        dec.prepare(OpView(Op.VIDEO, 0, RECT, memoryview(payload)), (W, H))


def test_odd_rect_or_other_size_is_refused() -> None:
    dec, ops = decoder_and_ops(2)
    dec.begin_update()
    with pytest.raises(DecodeError, match="cannot hold"):
        dec.prepare(OpView(Op.VIDEO, 0, Rect(0, 0, 161, 112), memoryview(ops[0].payload)), (W, H))
    dec.begin_update()
    dec.prepare(view(ops[0]), (W, H))
    other = OpView(Op.VIDEO, 0, Rect(0, 0, 158, 112), memoryview(bytes(ops[1].payload)))
    dec.begin_update()
    with pytest.raises(DecodeError, match="changed its format"):
        dec.prepare(other, (W, H))


def test_screen_decoder_needs_a_keyframe_after_a_broken_stream() -> None:
    _, ops = decoder_and_ops(3)
    sdec = ScreenDecoder()
    sdec.decode(build_update(0, W, H, [EncodedOp(Op.FILL, Rect(0, 0, W, H), b"\0\0\0")],
                             keyframe=True))  # fmt: skip
    sdec.decode(build_update(1, W, H, [ops[0]]))
    with pytest.raises(DecodeError):
        sdec.decode(build_update(2, W, H, [ops[2]]))  # picture 1 was lost
    assert sdec.needs_keyframe


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mutated_streams_only_raise_decode_error(data: st.DataObject) -> None:
    """Flipped, cut or inserted bytes anywhere in a stream: a picture or a DecodeError."""
    _, ops = decoder_and_ops(3)
    dec = VideoDecoder()
    fb = np.zeros((H, W, 4), np.uint8)
    for op in ops:
        p = bytearray(op.payload)
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "none"]))
        at = data.draw(st.integers(0, len(p) - 1))
        if kind == "flip":
            p[at] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del p[at:]
        elif kind == "insert":
            p[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        with contextlib.suppress(DecodeError):
            dec.begin_update()
            dec.apply(dec.prepare(OpView(Op.VIDEO, 0, RECT, memoryview(bytes(p))), (W, H)), fb)


def test_target_bitrate_sets_the_quality() -> None:
    """With ``bitrate``, x264 rate control holds the stream near the target."""
    target = 400_000  # bits per second at 30 fps: ~1.7 kB per picture
    stream = VideoStream(1, RECT.w, RECT.h, H264Options(bitrate=target))
    ref = np.zeros((H, W, 4), np.uint8)
    sizes = [len(stream.encode(f, ref, RECT).payload) for f in frames(30)]
    rate = sum(sizes[1:]) * 8 * 30 / len(sizes[1:])
    assert 0.5 * target < rate < 1.6 * target, rate
    crf = VideoStream(2, RECT.w, RECT.h, H264Options())
    assert len(crf.encode(frames(1)[0], ref, RECT).payload) > 2 * sizes[0]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="chroma"):
        H264Options(chroma="422")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="crf"):
        H264Options(crf=60)
    with pytest.raises(ValueError, match="bitrate"):
        H264Options(bitrate=0)
