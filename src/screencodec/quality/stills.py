"""Lossy stills: one H.264 intra picture (an IDR) for one rectangle, sent as an
ordinary VIDEO op (docs/protocol.md), so the viewer needs nothing new.

Every still is a self-contained stream of one picture: SPS, PPS and an IDR,
flagged IDR, with the reserved stream id ``STILL_STREAM_ID`` (a viewer keeps
one decoder slot for all of them; video regions never use that id). The host
decodes its own access unit with libavcodec and converts it with the same
normative kernel as the viewer (video.h264), so the pixels it writes into its
reference are bit for bit those the viewer shows.

An x264 encoder has one picture size and, in constant-quantiser mode, one
quantiser; opening one costs about 1.5 ms (and its first picture carries
550 bytes of x264's SEI), as much as encoding a 300 kpx picture. So stills
are encoded by encoders of the macroblock-aligned size (the picture padded by
repeating its last column and row), and the SPS is rewritten to crop the
picture to the rect's exact size (``sps``): the strips a dragged window
reveals, whose sizes change by a pixel from frame to frame, then mostly reuse
an encoder. Encoders are kept by (aligned width, aligned height, qp), least
recently used out, at most ``max_encoders`` and ``max_pixels`` pixels of
pictures in all; decoders by aligned size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from screencodec.frames import Frame

from ..geometry import Rect
from ..video.codec import CODEC_H264, FLAG_420, FLAG_IDR, STILL_STREAM_ID, VIDEO_HEADER
from ..video.h264 import H264Decoder, H264Encoder, H264Options
from ..wire import EncodedOp, Op
from .sps import crop_access_unit

__all__ = ["StillEncoder"]


#: Stills of at least this many (aligned) pixels are encoded on x264's slice threads.
_THREADED_PIXELS = 512 * 512


class StillEncoder:
    """Encodes rects of a frame as lossy stills (VIDEO ops) and writes their
    decode into the reference. Not thread-safe.

    :param chroma420: 4:2:0 pictures (for viewers that decode only those).
    :param preset: x264 preset; ``fast_preset`` for stills encoded ``fast``.
    """

    def __init__(
        self,
        chroma420: bool,
        preset: str = "superfast",
        *,
        fast_preset: str = "ultrafast",
        max_encoders: int = 48,
        max_pixels: int = 3 * 1920 * 1088,
    ) -> None:
        self.chroma420 = chroma420
        self.preset = preset
        self.fast_preset = fast_preset
        self.max_encoders = max_encoders
        self.max_pixels = max_pixels
        self._encoders: OrderedDict[tuple[int, int, int, str], H264Encoder] = OrderedDict()
        self._decoders: OrderedDict[tuple[int, int], H264Decoder] = OrderedDict()
        self._frame = 0
        #: encoders opened so far (what the cache saves is measured by it)
        self.opened = 0

    def encode(
        self,
        src: Frame,
        ref: Frame,
        rect: Rect,
        qp: int,
        /,
        holes: Sequence[Rect] = (),
        *,
        fast: bool = False,
    ) -> EncodedOp:
        """A VIDEO op of the ``rect`` (even width and height) of ``src`` at
        quantiser ``qp``; its decoded picture is written into ``ref`` at the
        same place. ``holes`` (relative to ``rect``, even edges) are encoded
        flat: the caller paints over them with later ops. ``fast``: with
        ``fast_preset`` instead of ``preset``, for large stills (a video
        starting, a photo flung past) whose encoding time would otherwise
        stand out."""
        aw, ah = -(-rect.w // 16) * 16, -(-rect.h // 16) * 16
        preset = self.fast_preset if fast else self.preset
        enc = self._encoder(aw, ah, qp, preset)
        raw = enc.encode(src, rect, idr=True, holes=holes, pad=True)
        au = crop_access_unit(raw, rect.w, rect.h, self.chroma420)
        dec = self._decoder(aw, ah)
        dec.to_bgrx(dec.decode(au, size=(rect.w, rect.h)), ref, rect.x, rect.y)
        flags = FLAG_IDR | (FLAG_420 if self.chroma420 else 0)
        head = VIDEO_HEADER.pack(CODEC_H264, flags, STILL_STREAM_ID, self._frame)
        self._frame = (self._frame + 1) & 0xFFFFFFFF
        return EncodedOp(Op.VIDEO, rect, head + au)

    def _encoder(self, w: int, h: int, qp: int, preset: str) -> H264Encoder:
        key = (w, h, qp, preset)
        enc = self._encoders.get(key)
        if enc is not None:
            self._encoders.move_to_end(key)
            return enc
        opts = H264Options(
            chroma="420" if self.chroma420 else "444",
            qp=qp,
            preset=preset,
            # Slice threads pay for large pictures at the slow preset only;
            # one thread elsewhere also keeps dozens of cached encoders from
            # holding threads.
            threads=0 if w * h >= _THREADED_PIXELS and preset == self.preset else 1,
        )
        enc = H264Encoder(w, h, opts)
        self.opened += 1
        self._encoders[key] = enc
        while len(self._encoders) > self.max_encoders or (
            len(self._encoders) > 1 and sum(k[0] * k[1] for k in self._encoders) > self.max_pixels
        ):
            self._encoders.popitem(last=False)
        return enc

    def _decoder(self, w: int, h: int) -> H264Decoder:
        # Every still is an IDR with its own SPS: a decoder of the right size
        # holds no state that could leak from one still into the next.
        dec = self._decoders.get((w, h))
        if dec is None:
            # The host decodes its own stills: trusted, so slice threads may run.
            dec = self._decoders[w, h] = H264Decoder(w, h, self.chroma420, trusted=True)
            while len(self._decoders) > 4:
                self._decoders.popitem(last=False)
        else:
            self._decoders.move_to_end((w, h))
        return dec
