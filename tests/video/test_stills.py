"""Lossy stills (one H.264 IDR per rect, as VIDEO ops), their SPS cropping,
a viewer that decodes only 4:2:0, and retargeting video streams' bitrate."""

from __future__ import annotations

import av
import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.quality.sps import crop_access_unit
from screencodec.quality.stills import StillEncoder
from screencodec.video.codec import (
    FLAG_420,
    FLAG_IDR,
    STILL_STREAM_ID,
    VIDEO_HEADER,
    VideoDecoder,
    VideoStream,
)
from screencodec.video.h264 import H264Decoder, H264Encoder, H264Options
from screencodec.wire import Op, OpView, parse_update, split_message

from .helpers import film, psnr

STEP = 1 / 32


@pytest.mark.parametrize("chroma420", [False, True])
def test_stills_of_many_sizes_decode_exactly_as_the_host_wrote_them(chroma420: bool) -> None:
    """Odd positions, sizes that are not macroblock multiples, one encoder per
    aligned size: a viewer's decoder (fresh per IDR, with its size bound)
    shows exactly what the host wrote into its reference."""
    src = film(320, 240, 0)
    ref = np.zeros_like(src)
    still = StillEncoder(chroma420)
    viewer = VideoDecoder()
    sizes = [(2, 2), (18, 250 - 22), (250, 14), (64, 64), (62, 60), (60, 62), (300, 200)]
    for i, (w, h) in enumerate(sizes):
        rect = Rect(3 + i, 5 + 2 * i, w, h)
        op = still.encode(src, ref, rect, 30)
        assert op.op is Op.VIDEO and op.rect == rect
        _, flags, sid, _ = VIDEO_HEADER.unpack_from(op.payload)
        assert flags == FLAG_IDR | (FLAG_420 if chroma420 else 0) and sid == STILL_STREAM_ID
        viewer.begin_update()
        fb = np.zeros_like(src)
        viewer.apply(
            viewer.prepare(OpView(Op.VIDEO, 0, rect, memoryview(op.payload)), (320, 240)), fb
        )
        assert np.array_equal(fb[rect.slices()], ref[rect.slices()])
        assert psnr(ref[rect.slices()], src[rect.slices()]) > 30
    assert still.opened < len(sizes)  # (62, 60), (60, 62) and (64, 64) share one


def test_sps_crop_keeps_the_rest_and_drops_x264s_sei() -> None:
    src = film(64, 64, 1)
    enc = H264Encoder(48, 32, H264Options(qp=28, preset="superfast"))
    raw = enc.encode(src, Rect(0, 0, 37 + 1, 21 + 1), idr=True, pad=True)
    au = crop_access_unit(raw, 38, 22, chroma420=False)
    assert len(au) < len(raw) - 400  # the first picture's SEI is gone
    ctx = av.CodecContext.create("h264", "r")
    (frame,) = ctx.decode(av.Packet(au))
    assert (frame.width, frame.height) == (38, 22)
    dec = H264Decoder(38, 22, False)
    out = np.zeros((22, 38, 4), np.uint8)
    dec.to_bgrx(dec.decode(au), out, 0, 0)
    assert psnr(out, src[:22, :38]) > 30
    with pytest.raises(ValueError, match="macroblocks"):
        crop_access_unit(raw, 20, 22, chroma420=False)  # not in the last macroblock column
    with pytest.raises(ValueError, match="macroblocks"):
        crop_access_unit(enc.encode(src, Rect(0, 0, 48, 32), idr=True), 37, 22, chroma420=True)


def video_ops(data: bytes) -> list[OpView]:
    return [o for o in parse_update(split_message(data)[1]).ops if o.op is Op.VIDEO]


@pytest.mark.parametrize("scenario", ["drag", "video"])
def test_a_420_only_encoder_never_sends_444(scenario: str) -> None:
    """``video_chroma="420"`` (a browser viewer): lossy stills and video
    regions, keyframe included, are all 4:2:0 pictures, flagged as such."""
    w, h = 640, 360
    src = SyntheticDesktop(w, h, scenario=scenario)
    enc = ScreenEncoder(w, h, video=True, lossy=True, video_chroma="420", integrity=True)
    enc.set_rate(3e5)
    dec = ScreenDecoder()
    seen = 0
    for i in range(24):
        data = enc.encode(src.frame_at(i), now=i * STEP)
        dec.decode(data)
        for op in video_ops(data):
            _, flags, _, _ = VIDEO_HEADER.unpack_from(op.payload)
            assert flags & FLAG_420, f"a 4:4:4 VIDEO op in frame {i}"
            if flags & FLAG_IDR:  # its SPS says 4:2:0 too (later pictures follow it)
                ctx = av.CodecContext.create("h264", "r")
                (pic,) = ctx.decode(av.Packet(bytes(op.payload[VIDEO_HEADER.size :])))
                assert pic.format.name in ("yuv420p", "yuvj420p")
            seen += 1
    assert seen


def test_stream_bitrate_is_retargeted_live_or_restarted() -> None:
    w, h = 256, 192
    rect = Rect(0, 0, w, h)
    ref = np.zeros((h, w, 4), np.uint8)
    frames = [film(w, h, i) for i in range(40)]
    stream = VideoStream(1, w, h, H264Options(bitrate=1_600_000))
    ops = [stream.encode(f, ref, rect) for f in frames[:15]]
    high = np.mean([len(o.payload) for o in ops[5:]])
    stream.set_bitrate(900_000)  # live: same encoder, no IDR
    ops = [stream.encode(f, ref, rect) for f in frames[15:30]]
    assert not any(VIDEO_HEADER.unpack_from(o.payload)[1] & FLAG_IDR for o in ops)
    low = np.mean([len(o.payload) for o in ops[5:]])
    assert low < 0.8 * high, (low, high)
    stream.set_bitrate(4_000_000)  # far above the encoder's VBV: a new encoder
    op = stream.encode(frames[30], ref, rect)
    assert VIDEO_HEADER.unpack_from(op.payload)[1] & FLAG_IDR
    assert stream.options.bitrate == 4_000_000
    stream.set_bitrate(None)  # back to CRF: again a new encoder
    assert stream.options.bitrate is None
    assert VIDEO_HEADER.unpack_from(stream.encode(frames[31], ref, rect).payload)[1] & FLAG_IDR


def test_h264_options_checks() -> None:
    with pytest.raises(ValueError, match="qp"):
        H264Options(qp=0)
    with pytest.raises(ValueError, match="not both"):
        H264Options(qp=20, bitrate=10_000)
    enc = H264Encoder(64, 64, H264Options(qp=20))
    assert not enc.set_bitrate(100_000)  # a QP stream has no rate to retarget


@pytest.mark.parametrize("c420", [False, True])
def test_holes_are_encoded_flat_and_the_rest_as_before(c420: bool) -> None:
    """A still with hundreds of holes (the text blocks of a page inside a
    photo's still; they overlap here): each hole decodes to a near-flat area
    near its content's mean, the pixels outside every hole decode as without
    holes, and the picture costs less."""
    w, h = 256, 128
    src = film(w, h, 3)
    opts = H264Options(qp=24, preset="superfast", chroma="420" if c420 else "444")
    holes = [Rect(x, y, 8, 6) for y in range(0, 96, 8) for x in range(0, 240, 10)]
    holes += [Rect(4, 4, 40, 20), Rect(200, 100, 56, 28)]  # overlapping, and at the edges
    plain = H264Encoder(w, h, opts).encode(src, Rect(0, 0, w, h), idr=True)
    flat = H264Encoder(w, h, opts).encode(src, Rect(0, 0, w, h), idr=True, holes=holes)
    assert len(flat) < 0.9 * len(plain), (len(flat), len(plain))
    out = {}
    for name, au in (("plain", plain), ("flat", flat)):
        dec = H264Decoder(w, h, c420)
        out[name] = np.zeros((h, w, 4), np.uint8)
        dec.to_bgrx(dec.decode(au), out[name], 0, 0)
    inside = np.zeros((h, w), bool)
    for r in holes:
        inside[r.slices()] = True
    # Far from every hole (a macroblock away), the pictures agree closely.
    far = ~np.array(
        [[inside[max(0, y - 16) : y + 16, max(0, x - 16) : x + 16].any() for x in range(w)]
         for y in range(h)]
    )  # fmt: skip
    assert far.sum() > 1000
    diff = np.abs(out["flat"][..., :3].astype(int) - out["plain"][..., :3].astype(int))
    assert diff[far].mean() < 2.0
    # Inside a hole the picture is flat, at about its content's mean.
    big = Rect(4, 4, 40, 20)
    patch = out["flat"][6:22, 6:42, :3].astype(float)
    assert patch.std(axis=(0, 1)).max() < 6.0
    assert np.abs(patch.mean(axis=(0, 1)) - src[big.slices()][..., :3].mean(axis=(0, 1))).max() < 24
