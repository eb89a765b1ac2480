"""The VIDEO op: one H.264 access unit for one rectangle (docs/protocol.md, "VIDEO op").

Payload: codec (1 byte, 1 = H.264 Annex B), flags (1 byte: bit 0 IDR, bit 1
4:2:0), stream id (2 bytes), frame number (4 bytes), then the access unit.
A stream is a sequence of VIDEO ops with one id; it starts at an IDR, its
pictures all have the op rect's size, and its frame numbers count up by one,
so a viewer that missed a picture notices and asks for a keyframe instead of
showing a picture built on a reference it never had.

``VideoStream`` is the encoder side of one stream. It decodes its own output
with the same libavcodec decoder and the same colour kernel the viewer uses,
so the pixels it writes into the encoder's reference are exactly the pixels
the viewer will show: lossless refresh and the framebuffer hash then work on
video regions like on any others.
"""

from __future__ import annotations

import dataclasses
import struct
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..codecs.base import CodecSpec, Framebuffer, Prepared
from ..errors import DecodeError
from ..geometry import Rect
from ..wire import EncodedOp, Op, OpView
from .h264 import H264Decoder, H264Encoder, H264Options

__all__ = [
    "CODEC_H264",
    "FLAG_420",
    "FLAG_IDR",
    "HEADROOM",
    "MAX_STREAMS",
    "MAX_VIDEO_COVERAGE",
    "MAX_VIDEO_OPS",
    "STILL_STREAM_ID",
    "VIDEO_HEADER",
    "VIDEO_SPEC",
    "VideoDecoder",
    "VideoStream",
    "ceiling",
]

#: codec, flags, stream id, frame number
VIDEO_HEADER = struct.Struct("<BBHI")
CODEC_H264 = 1
FLAG_IDR = 1
FLAG_420 = 2
#: The stream id of lossy stills (screencodec.quality): each is one IDR
#: picture, so they all share one id and hold at most one of a viewer's
#: stream slots; video regions never use it (video.stage).
STILL_STREAM_ID = 0
#: Streams a viewer keeps decoders for; the least recently used is dropped.
MAX_STREAMS = 8
#: A stream whose rate can move (``VideoStream.set_bitrate``) opens its
#: encoder with a ceiling this far above the rate it is asked for; up to the
#: ceiling the rate moves live (x264 follows a live target only up to the
#: ceiling it was opened with, see video.h264), above it a new encoder (an
#: IDR) opens at the new rate with the same headroom. 2x (video44): a rate
#: that comes back 1 -> 2.7 -> 4 costs one IDR (at 2.7), and a live target
#: never goes past twice the rate the stream was opened at. video43's 4x
#: followed a drop to a quarter without an IDR, but a session's lag after
#: the drop came higher (benchmarks/RESULTS.md, video43 and video44).
HEADROOM = 2.0
#: ... but never above this (bits per second) unless the rate is: x264
#: declares the level of the VBV maximum in the SPS (a 1080p stream at 80
#: Mbit/s: level 4.0, under a 320 ceiling 5.0), and the web viewer hands
#: that level to the browser's decoder, which asks for 5.1 at most.
_CEILING_MAX = 50_000_000


def ceiling(bitrate: int, /) -> int:
    """The VBV maximum a stream asked for ``bitrate`` is opened with."""
    return max(bitrate, min(int(HEADROOM * bitrate), _CEILING_MAX))


#: ... and a rate below this part of the rate it was opened at opens a new
#: encoder too: below its opening rate a picture may still take a VBV buffer
#: of one picture at that rate, so far below it single pictures could
#: overshoot (here at most twice the per-picture share of the rate).
_RESTART_DOWN = 0.5
#: VIDEO ops one update may hold: one picture per stream a viewer keeps (an
#: encoder sends at most one per region, and has at most 4 regions).
MAX_VIDEO_OPS = MAX_STREAMS
#: The VIDEO ops of one update may cover at most this many times the frame's
#: area (an encoder's regions never overlap). Tighter than the wire's
#: MAX_OP_COVERAGE for all ops (4), because a VIDEO op costs a decode per pixel.
MAX_VIDEO_COVERAGE = 1

VIDEO_SPEC = CodecSpec(
    name="video",
    ops=frozenset({Op.VIDEO}),
    lossless=False,
    speed=60,
    quality=85,
    min_size=(2, 2),
    max_size=(8192, 4320),
    requires=("av",),
)


class VideoStream:
    """Encoder side of one video stream: a fixed-size region, its x264 encoder
    and its reference decoder. ``options`` are those of the current encoder
    (``set_bitrate`` may replace it). Not thread-safe."""

    def __init__(self, stream_id: int, width: int, height: int, options: H264Options) -> None:
        self.stream_id = stream_id & 0xFFFF
        self.options = options
        self._enc = H264Encoder(width, height, options)
        # Our own encoder's output: slice threads may decode it (no damage to refuse).
        self._dec = H264Decoder(width, height, options.chroma420, trusted=True)
        self._frame = 0
        self._need_idr = True

    @property
    def size(self) -> tuple[int, int]:
        return self._enc.width, self._enc.height

    def request_idr(self) -> None:
        self._need_idr = True

    def set_bitrate(
        self, bitrate: int | None, /, *, qp_max: int | None = None, fps: int | None = None
    ) -> None:
        """Retarget the stream (None: back to constant quality, the options'
        CRF). A rate within the encoder's range (``_RESTART_DOWN`` of the
        rate it was opened at up to its ceiling) applies live from the next
        picture; outside it, a change of rate control mode or of the nominal
        frame rate ``fps`` (None: the current one) opens a new encoder
        (``ceiling`` of the rate, ``qp_max`` its quality floor) and the next
        picture is an IDR."""
        top, opened = self._enc.max_bitrate, self.options.bitrate
        fps = fps or self.options.fps
        same = fps == self.options.fps
        if same and bitrate is None and top is None:
            return
        if (
            same
            and bitrate is not None
            and top is not None
            and opened is not None
            and _RESTART_DOWN * opened <= bitrate <= top
        ):
            self._enc.set_bitrate(bitrate)
            return
        self.options = dataclasses.replace(
            self.options,
            fps=fps,
            bitrate=bitrate,
            max_bitrate=None if bitrate is None else ceiling(bitrate),
            qp=None,
            qp_max=None if bitrate is None else qp_max,
        )
        w, h = self.size
        self._enc = H264Encoder(w, h, self.options)
        self._need_idr = True

    def encode(
        self, src: Framebuffer, ref: Framebuffer, rect: Rect, /, *, interval: float | None = None
    ) -> EncodedOp:
        """Encode ``rect`` of ``src``; write what the viewer will show into ``ref``.
        ``interval``: seconds since the stream's last picture, which a
        bitrate stream sizes this one by (``H264Encoder.encode``)."""
        idr = self._need_idr
        au = self._enc.encode(src, rect, idr=idr, interval=interval)
        picture = self._dec.decode(au)
        self._dec.to_bgrx(picture, ref, rect.x, rect.y)
        flags = (FLAG_IDR if idr else 0) | (FLAG_420 if self.options.chroma420 else 0)
        head = VIDEO_HEADER.pack(CODEC_H264, flags, self.stream_id, self._frame)
        self._frame = (self._frame + 1) & 0xFFFFFFFF
        self._need_idr = False
        return EncodedOp(Op.VIDEO, rect, head + au)


@dataclass(slots=True)
class _ViewerStream:
    decoder: H264Decoder
    next_frame: int


class VideoDecoder:
    """Decodes VIDEO ops (the OpDecoder protocol). Not thread-safe.

    ``prepare`` runs the H.264 decoder, which advances the stream's state even
    if a later op of the same update fails; that update then fails as a whole,
    the viewer needs a keyframe, and the keyframe restarts every stream with an
    IDR, so no picture is ever shown on top of a broken reference.

    Decoding work is bounded before it starts: a stream's decoder refuses a
    picture larger than its rect (rounded to what libavcodec allocates) when it
    parses the SPS, and one update may hold at most ``MAX_VIDEO_OPS`` VIDEO ops
    covering at most ``MAX_VIDEO_COVERAGE`` times the frame, counted from
    ``begin_update``.
    """

    spec = VIDEO_SPEC

    def __init__(self) -> None:
        self._streams: OrderedDict[int, _ViewerStream] = OrderedDict()
        # VIDEO ops and their pixels in the update being prepared.
        self._ops = self._area = 0

    def begin_update(self) -> None:
        self._ops = self._area = 0

    def prepare(self, op: OpView, size: tuple[int, int], /) -> Prepared:
        r, payload = op.rect, op.payload
        self._ops += 1
        self._area += r.w * r.h
        if self._ops > MAX_VIDEO_OPS:
            raise DecodeError(f"VIDEO: more than {MAX_VIDEO_OPS} VIDEO ops in one update")
        if self._area > MAX_VIDEO_COVERAGE * size[0] * size[1]:
            raise DecodeError(
                f"VIDEO: the VIDEO ops of one update cover more than "
                f"{MAX_VIDEO_COVERAGE}x the {size[0]}x{size[1]} frame"
            )
        if op.flags:
            raise DecodeError(f"VIDEO: unknown op flags 0x{op.flags:02x}")
        if len(payload) <= VIDEO_HEADER.size:
            raise DecodeError("VIDEO: truncated payload")
        codec, flags, sid, number = VIDEO_HEADER.unpack_from(payload)
        if codec != CODEC_H264:
            raise DecodeError(f"VIDEO: unknown codec {codec}")
        if flags & ~(FLAG_IDR | FLAG_420):
            raise DecodeError(f"VIDEO: unknown flags 0x{flags:02x}")
        if r.w % 2 or r.h % 2 or not VIDEO_SPEC.fits(r.w, r.h):
            raise DecodeError(f"VIDEO: a {r.w}x{r.h} rect cannot hold an H.264 picture")
        c420 = bool(flags & FLAG_420)
        stream = self._streams.get(sid)
        if flags & FLAG_IDR:
            stream = _ViewerStream(H264Decoder(r.w, r.h, c420), number)
            self._streams[sid] = stream
            while len(self._streams) > MAX_STREAMS:
                self._streams.popitem(last=False)
        elif stream is None:
            raise DecodeError(f"VIDEO: stream {sid} continues without an IDR")
        else:
            d = stream.decoder
            if (d.width, d.height, d.chroma420) != (r.w, r.h, c420):
                self._streams.pop(sid)
                raise DecodeError(f"VIDEO: stream {sid} changed its format without an IDR")
            if number != stream.next_frame:
                self._streams.pop(sid)
                raise DecodeError(
                    f"VIDEO: stream {sid} frame {number}, expected {stream.next_frame}"
                )
        self._streams.move_to_end(sid)
        try:
            picture = stream.decoder.decode(payload[VIDEO_HEADER.size :])
        except DecodeError:
            self._streams.pop(sid, None)
            raise
        stream.next_frame = (number + 1) & 0xFFFFFFFF
        pixels = np.empty((r.h, r.w, 4), np.uint8)
        stream.decoder.to_bgrx(picture, pixels, 0, 0)
        return Prepared(Op.VIDEO, r, pixels)

    def apply(self, prepared: Prepared, fb: Framebuffer, /) -> None:
        fb[prepared.rect.slices()] = prepared.data
