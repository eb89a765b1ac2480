"""H.264 through PyAV (libx264 to encode, libavcodec to decode), one picture at a time.

Both wrappers move pixels through the native colour kernels (video/_yuv.pyx)
straight into and out of the ``av.VideoFrame`` planes: swscale is never used,
and only the region that is encoded is converted.

Encoder settings are those of an interactive stream: ``tune=zerolatency`` (no
lookahead, no frame threads, so every input picture gives its packet at once),
no B-frames, no periodic or scene-cut keyframes (an IDR only when asked for:
the first picture, a keyframe request, a new geometry), SPS/PPS repeated in
every IDR so each IDR starts a self-contained stream. The VUI declares BT.709,
full range, sRGB transfer, matching the kernels.

Rate control is one of three: constant quality (CRF, the default), a target
bitrate (ABR under a VBV cap, see below) or a constant quantiser (``qp``,
for the one-picture lossy stills of screencodec.quality). The VBV limits go
through libavcodec's own ``maxrate`` / ``bufsize`` options, not x264-params:
before every picture libavcodec compares its own values with x264's and
reconfigures x264 when they differ, and with limits given only in
x264-params that reconfiguration (which would switch VBV off) is refused, and
every later change with it.

What x264 does with a live change of the target (``set_bitrate``: libavcodec
hands it to ``x264_encoder_reconfig`` before the next picture), measured
through PyAV: only a stream opened as CBR (``maxrate`` equal to the target)
follows it at all; x264 then moves its own maxrate with the target, but
never above libavcodec's ``maxrate`` (x264 clamps the target to it), which
PyAV cannot change on an open encoder; opened with ``maxrate`` above the
target (VBR), every later change is ignored. So a stream is opened as CBR
at its ceiling (``max_bitrate``, default the target) with a VBV buffer of one
picture at its target, its target is set live before its first picture,
and then moved live anywhere up to the ceiling. Above the opening target
x264 raises the buffer to one picture at the new target; below it the
buffer stays one picture at the opening target. The stream averages about
0.85 of a target it rose or opened at, 0.7-0.8 of one it was lowered to.

x264 sizes a picture at its target over the frame rate it was opened with
(``fps``), whatever the real time between pictures: neither the pts nor
``force-cfr=0`` changed that (measured: a 640x360 film at a 3.2 Mbit/s
target, pictures 100 ms apart, 10.4-11.4 kB each with either, against 11.2
kB at 1/30 s apart). So ``encode(interval=...)`` moves the target the same
way before that one picture, to the rate times ``interval`` times ``fps``
(within the ceiling): a caller whose pictures come irregularly (a live
session, 6-17 a second) gets its rate, not its rate x pictures / ``fps``.
"""

from __future__ import annotations

import fractions
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import av
import numpy as np
from av.video.frame import PictureType

from screencodec.frames import Frame

from ..errors import DecodeError, FrameError
from ..geometry import Rect
from . import _yuv

__all__ = ["DEFAULT_CRF", "H264Decoder", "H264Encoder", "H264Options", "max_pixels"]

Chroma = Literal["444", "420"]

#: Chosen on the real-screen corpus clip (mpv, 1120x630 film with grain, 4:4:4):
#: CRF 22 gives 40.7 dB mean on the region (p10 39.9) at 0.81x the bytes of
#: full-frame x264 crf 23 over the whole clip; 18 gave 41.7 dB at 1.8x, 21
#: 0.98x, 23 40.6 dB at 0.69x.
DEFAULT_CRF = 22
_AVCOL_RANGE_JPEG = 2  # full range
_AVCOL_BT709 = 1
_AVCOL_TRC_SRGB = 13  # IEC 61966-2-1
_X264_VUI = "fullrange=on:colorprim=bt709:transfer=iec61966-2-1:colormatrix=bt709"
#: Pictures below this many pixels are decoded on one thread.
_THREADED_AREA = 320 * 240


def max_pixels(width: int, height: int) -> int:
    """The most pixels libavcodec may allocate for one picture of a
    ``width x height`` stream (its ``max_pixels`` option): the width rounded up
    to 64 (the widest stride alignment it checks with), the height to whole
    16-px macroblock rows."""
    return (-(-width // 64) * 64) * (-(-height // 16) * 16)


@dataclass(frozen=True, slots=True)
class H264Options:
    """How video regions are encoded.

    :param chroma: ``"444"`` (High 4:4:4 Predictive profile: sharp colour edges,
        the default) or ``"420"`` (High profile, for decoders such as browsers
        that only take 4:2:0).
    :param crf: constant quality, 0..51 (lower is better), used unless
        ``bitrate`` or ``qp`` is given.
    :param bitrate: target bits per second per stream (ABR with a one-picture
        VBV buffer, so a picture never overshoots by much).
    :param max_bitrate: with ``bitrate``, the ceiling the encoder is opened
        with (default: ``bitrate``): ``set_bitrate`` moves the target live
        anywhere up to it. A picture is at most one picture's share of the
        higher of the current target and ``bitrate``.
    :param qp: constant quantiser, 1..51 (x264's ``qp``; 0, lossless, is not
        offered), for pictures whose size the caller predicts itself.
    :param qp_max: with ``bitrate``, the coarsest quantiser x264 may use (a
        quality floor: past it the stream overshoots its rate instead).
    :param preset: x264 speed preset.
    :param threads: x264 slice threads (0: x264's choice).
    :param fps: the nominal frame rate the rate control assumes (each
        picture one ``fps``-th of a second of the target, unless ``encode``
        is told its real ``interval``).
    """

    chroma: Chroma = "444"
    crf: int = DEFAULT_CRF
    bitrate: int | None = None
    max_bitrate: int | None = None
    qp: int | None = None
    qp_max: int | None = None
    preset: str = "ultrafast"
    threads: int = 0
    fps: int = 30

    def __post_init__(self) -> None:
        if self.chroma not in ("444", "420"):
            raise ValueError(f"chroma must be '444' or '420', not {self.chroma!r}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf {self.crf} outside 0..51")
        if self.bitrate is not None and self.bitrate <= 0:
            raise ValueError("bitrate must be positive")
        if self.max_bitrate is not None and (
            self.bitrate is None or self.max_bitrate < self.bitrate
        ):
            raise ValueError("max_bitrate needs a bitrate, and must be at least it")
        if self.qp is not None and not 1 <= self.qp <= 51:
            raise ValueError(f"qp {self.qp} outside 1..51")
        if self.qp is not None and self.bitrate is not None:
            raise ValueError("give qp or bitrate, not both")
        if self.qp_max is not None and not 1 <= self.qp_max <= 51:
            raise ValueError(f"qp_max {self.qp_max} outside 1..51")

    @property
    def chroma420(self) -> bool:
        return self.chroma == "420"


def _plane(frame: av.VideoFrame, i: int, rows: int) -> Frame:
    """Plane ``i`` of ``frame`` as a (rows, line_size) array sharing its memory."""
    p = frame.planes[i]
    arr: Frame = np.frombuffer(memoryview(p), np.uint8).reshape(-1, p.line_size)[:rows]
    return arr


class H264Encoder:
    """One libx264 stream of ``width x height`` pictures (both even).

    ``encode(fb, rect, idr=...)`` converts the rect of a BGRX frame and returns
    the Annex B access unit. ``bitrate`` is the stream's current target (None
    in CRF or QP mode); ``max_bitrate`` the ceiling it was opened with (the
    options' ``max_bitrate`` or ``bitrate``).
    Not thread-safe.
    """

    def __init__(self, width: int, height: int, options: H264Options | None = None) -> None:
        if width < 2 or height < 2 or width % 2 or height % 2:
            raise FrameError(f"H.264 pictures need even dimensions, not {width}x{height}")
        self.width, self.height = width, height
        self.options = opts = options or H264Options()
        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p" if opts.chroma420 else "yuv444p"
        ctx.time_base = fractions.Fraction(1, opts.fps)
        ctx.framerate = fractions.Fraction(opts.fps, 1)
        ctx.color_range = _AVCOL_RANGE_JPEG
        ctx.colorspace = ctx.color_primaries = _AVCOL_BT709
        ctx.color_trc = _AVCOL_TRC_SRGB
        if opts.threads:
            ctx.thread_count = opts.threads
        params = f"bframes=0:keyint=infinite:scenecut=0:forced-idr=1:repeat-headers=1:{_X264_VUI}"
        settings = {"preset": opts.preset, "tune": "zerolatency", "x264-params": params}
        self.bitrate = self.max_bitrate = top = opts.max_bitrate or opts.bitrate
        if opts.qp is not None:
            settings["qp"] = str(opts.qp)
        elif top is None:
            settings["crf"] = str(opts.crf)
        else:
            # libavcodec's generic options: they stay what x264 is reconfigured
            # to before each picture (see the module docstring). Opened as CBR
            # at the ceiling, the only mode in which x264 follows a live target;
            # the buffer one picture at the target (x264 raises it to one at
            # its maxrate whenever that is more): one picture at the ceiling
            # would let x264's ABR undershoot its target by a further 10-15 %.
            buf = max(1000, (opts.bitrate or top) // opts.fps)
            settings.update(b=str(top), maxrate=str(top), bufsize=str(buf))
            if opts.qp_max is not None:
                settings["x264-params"] += f":qpmax={opts.qp_max}"
        ctx.options = settings
        ctx.open()
        self._ctx = ctx
        self._pts = 0
        if opts.bitrate is not None:
            self.set_bitrate(opts.bitrate)  # applied before the first picture

    def set_bitrate(self, bitrate: int, /) -> bool:
        """Move the target of a bitrate stream before its next picture; False,
        changing nothing, when that needs a new encoder: a CRF or QP stream,
        or a rate above the ceiling it was opened with."""
        if self.max_bitrate is None or not 0 < bitrate <= self.max_bitrate:
            return False
        if bitrate != self.bitrate:
            self._ctx.bit_rate = bitrate
            self.bitrate = bitrate
        return True

    def encode(
        self,
        fb: Frame,
        rect: Rect,
        /,
        *,
        idr: bool = False,
        holes: Sequence[Rect] = (),
        pad: bool = False,
        interval: float | None = None,
    ) -> bytes:
        """The access unit of the ``rect`` of ``fb``.

        ``holes`` (rects relative to the picture, with even edges) are areas
        whose decoded pixels the caller paints over: each is encoded as one
        flat colour, its mean, which costs next to no bits.

        ``pad``: ``rect`` (even sizes) may be smaller than the picture; it goes
        to the picture's top-left corner and its last column and row are
        repeated to fill the rest (which the caller crops away, see
        screencodec.quality.sps).

        ``interval``: a bitrate stream's seconds since its last picture; this
        picture is sized at the target over that time (at most the ceiling's
        share of one ``fps``-th of a second, at least 1 kbit/s's) instead of
        one ``fps``-th (see the module notes).
        """
        fits = rect.w <= self.width and rect.h <= self.height if pad else True
        if not fits or (not pad and (rect.w, rect.h) != (self.width, self.height)):
            raise FrameError(f"rect {rect} does not match the {self.width}x{self.height} stream")
        c420 = self.options.chroma420
        frame = av.VideoFrame(self.width, self.height, "yuv420p" if c420 else "yuv444p")
        ch = self.height // 2 if c420 else self.height
        planes = (_plane(frame, 0, self.height), _plane(frame, 1, ch), _plane(frame, 2, ch))
        _yuv.bgrx_to_yuv(fb, rect.x, rect.y, rect.w, rect.h, *planes, c420)
        if pad:
            _replicate(planes, (rect.w, rect.h), (self.width, self.height), c420)
        _flatten(planes, holes, c420)
        frame.pts = self._pts
        self._pts += 1
        if idr:
            frame.pict_type = PictureType.I
        if self.bitrate is not None and self.max_bitrate is not None:
            paced = self.bitrate
            if interval is not None:
                paced = int(self.bitrate * interval * self.options.fps)
                paced = max(1000, min(self.max_bitrate, paced))
            # libavcodec hands a changed bit_rate to x264 before this picture.
            self._ctx.bit_rate = paced
        packets = self._ctx.encode(frame)
        # zerolatency: one picture in, one access unit out, never held back.
        if len(packets) != 1:
            raise RuntimeError(f"libx264 returned {len(packets)} packets for one picture")
        return bytes(packets[0])


def _replicate(
    planes: tuple[Frame, Frame, Frame], size: tuple[int, int], padded: tuple[int, int], c420: bool
) -> None:
    """Fill each plane beyond the ``size`` picture (up to ``padded``) with
    copies of its last column and row."""
    for i, p in enumerate(planes):
        s = 2 if c420 and i else 1
        cw, chh, pww, phh = size[0] // s, size[1] // s, padded[0] // s, padded[1] // s
        if pww > cw:
            p[:chh, cw:pww] = p[:chh, cw - 1 : cw]
        if phh > chh:
            p[chh:phh, :pww] = p[chh - 1 : chh, :pww]


#: Samples per side of the grid a hole's flat colour is the mean of.
_HOLE_SAMPLES = 4


def _flatten(planes: tuple[Frame, Frame, Frame], holes: Sequence[Rect], c420: bool) -> None:
    """Fill each of ``holes`` (even edges) of the Y, U and V planes with one
    value: the mean of a 4 x 4 grid of its samples (any flat value costs
    next to no bits, and the caller paints over it; one near the content's
    keeps the edges around it cheap). The means are taken before any hole is
    filled, in one gather per plane: a still over a page of text has
    hundreds of holes."""
    box = np.array([(h.x, h.y, h.right, h.bottom) for h in holes], np.int64).reshape(-1, 4)
    box = box[(box[:, 2] > box[:, 0]) & (box[:, 3] > box[:, 1])]
    if not len(box):
        return
    k = (np.arange(_HOLE_SAMPLES) * 2 + 1) / (2 * _HOLE_SAMPLES)  # cell centres
    values = []
    for i, p in enumerate(planes):
        s = 2 if c420 and i else 1
        x0, y0, x1, y1 = (box // s).T
        ys = (y0[:, None] + (y1 - y0)[:, None] * k).astype(np.int64)
        xs = (x0[:, None] + (x1 - x0)[:, None] * k).astype(np.int64)
        grid = p[ys[:, :, None], xs[:, None, :]]
        values.append((grid.mean(axis=(1, 2)) + 0.5).astype(np.uint8).tolist())
    for j, (x0, y0, x1, y1) in enumerate(box.tolist()):
        for i, p in enumerate(planes):
            s = 2 if c420 and i else 1
            p[y0 // s : y1 // s, x0 // s : x1 // s] = values[i][j]


class H264Decoder:
    """libavcodec's H.264 decoder for one stream of ``width x height`` pictures.

    Every access unit gives its picture at once (zero output delay) or a
    DecodeError. Damaged data is refused, never concealed: ``err_detect`` is
    ``explode`` and the decoder runs on **one thread**. libavcodec's slice
    threads conceal a damaged slice and report nothing, whatever
    ``err_detect`` says (an IDR with 40 corrupted bytes decoded "fine" on 2
    threads, 30 times out of 30, and was refused on 1); frame threads would
    hold each picture back by one per thread.

    ``trusted=True`` is for a host decoding its own encoder's output (its
    copy of the viewer's picture): nothing can be damaged there, so large
    pictures use slice threads. The output of an H.264 decoder is bit-exact
    whatever its threading, so that copy and the viewer agree.
    """

    def __init__(self, width: int, height: int, chroma420: bool, *, trusted: bool = False) -> None:
        self.width, self.height, self.chroma420 = width, height, chroma420
        ctx: Any = av.CodecContext.create("h264", "r")
        ctx.thread_type = "SLICE"
        # Threads only pay for large pictures; opening a context with libavcodec's
        # automatic thread count costs milliseconds, which a stream of small
        # hostile pictures must not be able to make us spend again and again.
        threaded = trusted and width * height >= _THREADED_AREA
        ctx.thread_count = min(os.cpu_count() or 1, 8) if threaded else 1
        ctx.options = {
            # Refuse damaged input instead of concealing it: a concealed picture
            # would differ from the encoder's reference without anyone noticing.
            "err_detect": "explode",
            # Refuse, when its SPS is parsed, a picture larger than this stream's
            # (before any of it is decoded): a tiny VIDEO op declaring a 4K
            # picture must not cost a 4K decode. The bound is what libavcodec
            # itself checks: the width aligned to its stride alignment (<= 64)
            # times the height in macroblock rows. A picture that fits it but
            # has another size is decoded (it is no larger than the rect,
            # rounded) and then refused by the size check in ``decode``.
            "max_pixels": str(max_pixels(width, height)),
        }
        self._ctx = ctx
        self._formats = ("yuv420p", "yuvj420p") if chroma420 else ("yuv444p", "yuvj444p")

    def decode(
        self, data: bytes | bytearray | memoryview, /, *, size: tuple[int, int] | None = None
    ) -> av.VideoFrame:
        """The picture of one access unit; DecodeError when it gives none or
        another kind, or a size other than the stream's (or ``size``, for a
        host decoding its own cropped stills with one decoder per coded size)."""
        try:
            frames = self._ctx.decode(av.Packet(bytes(data)))
        except (av.FFmpegError, ValueError) as e:
            raise DecodeError(f"H.264: {e}") from None
        if len(frames) != 1:
            raise DecodeError(f"H.264: an access unit gave {len(frames)} pictures, expected 1")
        frame: av.VideoFrame = frames[0]
        if frame.format.name not in self._formats:
            raise DecodeError(
                f"H.264: picture format {frame.format.name}, expected {self._formats[0]}"
            )
        want = size or (self.width, self.height)
        if (frame.width, frame.height) != want:
            raise DecodeError(
                f"H.264: a {frame.width}x{frame.height} picture in a {want[0]}x{want[1]} stream"
            )
        return frame

    def to_bgrx(self, frame: av.VideoFrame, fb: Frame, x: int, y: int, /) -> None:
        """Convert a decoded picture into ``fb`` at (x, y) with the native kernel."""
        w, h = frame.width, frame.height  # the stream's size once ``decode`` checked it
        ch = h // 2 if self.chroma420 else h
        _yuv.yuv_to_bgrx(
            _plane(frame, 0, h), _plane(frame, 1, ch), _plane(frame, 2, ch),
            fb, x, y, w, h, self.chroma420,
        )  # fmt: skip
