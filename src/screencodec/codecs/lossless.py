"""The lossless rect codec: solid fill, palette + zstd, or zstd of filtered B, G, R.

The choice is made per rectangle by the native kernels, cheapest first: a
solid rect costs 3 bytes; a rect of at most 256 colours (text, UI) is sent as
packed palette indices (1 byte per pixel or less instead of 3); anything else
as its B, G, R bytes. zstd contexts are created once per thread and reused.

With ``stream=True`` (history, see codecs.history) every block that is not
photo-like becomes a ZSTREAM op to be compressed later through the session's
one zstd stream, which remembers what earlier updates sent; photo-like
blocks keep their filtered ZSTD op, which codes photos better.

Photo-like blocks are filtered by ``photo_filter``: ``"delta"`` (DELTA_UP |
PLANAR, what every viewer decodes) or ``"med"`` (MED | PLANAR: green
subtracted, then LOCO-I's median-edge predictor; 0.73-0.76x the bytes on the
corpus's photos, for viewers that declare ``Capabilities.ZSTD_MED``).
"""

from __future__ import annotations

import threading
from typing import Literal

import zstandard

from ..errors import DecodeError
from ..geometry import Rect
from ..wire import EncodedOp, Op, OpView, ZstdFlags
from ..wire.format import PALETTE_HEADER
from . import _pixels
from .base import CodecSpec, Framebuffer, Prepared

__all__ = [
    "LOSSLESS_SPEC",
    "TEXT_FLAT_SHARE",
    "ZSTD_FLAG_SETS",
    "LosslessDecoder",
    "LosslessEncoder",
    "PhotoFilter",
    "inflate",
]

#: How photo-like blocks are filtered before zstd (see the module docstring).
PhotoFilter = Literal["delta", "med"]
_DELTA = int(ZstdFlags.DELTA_UP | ZstdFlags.PLANAR)
_MED = int(ZstdFlags.MED | ZstdFlags.PLANAR)
#: The op flags a ZSTD op may carry; any other value is refused. MED comes
#: only with PLANAR (interleaved, its output was 0.84-1.06x instead of
#: 0.76-0.80x on the corpus: not worth a second decoder path) and never with
#: DELTA_UP.
ZSTD_FLAG_SETS = frozenset({0, 1, 2, 3, _MED})
#: With ``stream``, a block of many colours is text-like (streamed) when at
#: least this share of its pixels equal their left neighbour. Measured on the
#: real-screen corpus: anti-aliased text and UI blocks 0.6-0.9, photos and
#: wallpapers 0.1-0.3; the same cut as quality.classify's.
TEXT_FLAT_SHARE = 0.4

LOSSLESS_SPEC = CodecSpec(
    name="lossless",
    ops=frozenset({Op.FILL, Op.RAW, Op.ZSTD, Op.PALETTE}),
    lossless=True,
    speed=80,
    quality=100,
    requires=("zstandard",),
)


class LosslessEncoder:
    """Encodes rectangles losslessly. Thread-safe: each thread gets its own zstd
    context, so independent rectangles can be encoded in parallel.

    :param stream: return text-like blocks (not solid, and few colours, or
        mostly flat, or noise) as ZSTREAM ops with an empty payload, for a
        ``HistoryEncoder`` to fill in op order (``HistoryEncoder.fill``).
    :param photo_filter: ``"med"`` sends photo-like blocks as MED | PLANAR,
        which only viewers declaring ``Capabilities.ZSTD_MED`` decode;
        ``"delta"`` (the default) as DELTA_UP | PLANAR, which all do.
    """

    spec = LOSSLESS_SPEC

    def __init__(
        self,
        *,
        level: int = 1,
        max_colours: int = 256,
        stream: bool = False,
        photo_filter: PhotoFilter = "delta",
    ) -> None:
        if photo_filter not in ("delta", "med"):
            raise ValueError(f"photo_filter must be 'delta' or 'med', not {photo_filter!r}")
        self.level = level
        self.max_colours = max_colours
        self.stream = stream
        self.photo_filter: PhotoFilter = photo_filter
        self._local = threading.local()

    def _compressor(self) -> zstandard.ZstdCompressor:
        c: zstandard.ZstdCompressor | None = getattr(self._local, "cctx", None)
        if c is None:
            # Content size in every frame lets the decoder cap its output
            # before it decompresses anything.
            c = zstandard.ZstdCompressor(level=self.level, write_content_size=True)
            self._local.cctx = c
        return c

    def _med_compressor(self) -> zstandard.ZstdCompressor:
        c: zstandard.ZstdCompressor | None = getattr(self._local, "med_cctx", None)
        if c is None:
            # MED residuals hold few repeats: matches shorter than 7 bytes
            # cost more than the literals they replace (-3 % bytes, faster).
            params = zstandard.ZstdCompressionParameters.from_level(
                self.level, min_match=7, write_content_size=1
            )
            c = zstandard.ZstdCompressor(compression_params=params)
            self._local.med_cctx = c
        return c

    def _compress_med(self, fb: Framebuffer, rect: Rect) -> bytes:
        """The rect's MED planes as one zstd frame of (at least) one block per
        plane: each plane gets its own literal statistics (-1.5 % bytes)."""
        data = _pixels.pack_med(fb, rect.x, rect.y, rect.w, rect.h)
        plane = rect.area
        obj = self._med_compressor().compressobj(size=len(data))
        view = memoryview(data)
        parts = [
            obj.compress(view[i : i + plane]) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
            for i in range(0, len(data), plane)
        ]
        return b"".join(parts) + obj.flush()

    def encode_rect(self, fb: Framebuffer, rect: Rect, /) -> EncodedOp:
        x, y, w, h = rect.x, rect.y, rect.w, rect.h
        pal: tuple[int, bytearray, bytearray] | None = None
        if self.stream:
            # The stream sends a palette-sized rect's pixels as they are:
            # count its colours, without building the palette and indices.
            n, rgb = _pixels.colour_count(fb, x, y, w, h, self.max_colours)
            if rgb is not None:
                return EncodedOp(Op.FILL, rect, rgb.to_bytes(3, "little"))
            if n > 0:
                return EncodedOp(Op.ZSTREAM, rect, b"")
        else:
            rgb = _pixels.solid_colour(fb, x, y, w, h)
            if rgb is not None:
                return EncodedOp(Op.FILL, rect, rgb.to_bytes(3, "little"))
            pal = _pixels.palette_encode(fb, x, y, w, h, self.max_colours)
        cctx = self._compressor()
        if pal is not None:
            bits, colours, indices = pal
            head = PALETTE_HEADER.pack(bits, 0, len(colours) // 3)
            return EncodedOp(Op.PALETTE, rect, head + colours + cctx.compress(indices))
        if self.stream and _pixels.flat_pixels(fb, x, y, w, h) >= TEXT_FLAT_SHARE * h * (w - 1):
            # Anti-aliased text in many colours: its glyphs were sent before.
            return EncodedOp(Op.ZSTREAM, rect, b"")
        # Many colours: photos, gradients, video. Planes of row deltas make
        # zstd's output 2-3x smaller on such content than B, G, R as it is,
        # and MED's predictions another 0.73-0.76x.
        if self.photo_filter == "med":
            packed, flags = self._compress_med(fb, rect), _MED
        else:
            packed = cctx.compress(_pixels.pack_filtered(fb, x, y, w, h, True, True))
            flags = _DELTA
        if len(packed) >= w * h * 3:  # noise: compression does not pay
            if self.stream:  # unless it was sent before
                return EncodedOp(Op.ZSTREAM, rect, b"")
            return EncodedOp(Op.RAW, rect, _pixels.pack_bgr(fb, x, y, w, h))
        return EncodedOp(Op.ZSTD, rect, packed, flags)


def inflate(dctx: zstandard.ZstdDecompressor, payload: memoryview, expected: int) -> bytes:
    """Decompress one zstd frame that must declare exactly ``expected`` bytes.

    The declared size is checked before decompressing, so a frame claiming
    gigabytes (a decompression bomb) is refused without allocating anything.
    """
    try:
        declared = zstandard.frame_content_size(payload)
    except zstandard.ZstdError as e:
        raise DecodeError(f"bad zstd frame header: {e}") from None
    if declared != expected:
        raise DecodeError(f"zstd frame declares {declared} bytes, the rect needs {expected}")
    try:
        # One frame and nothing after it: trailing bytes are refused, not ignored.
        out: bytes = dctx.decompress(payload, allow_extra_data=False)
    except zstandard.ZstdError as e:
        raise DecodeError(f"corrupt zstd data: {e}") from None
    if len(out) != expected:
        raise DecodeError(f"zstd data gave {len(out)} bytes, expected {expected}")
    return out


class LosslessDecoder:
    """Decodes FILL, RAW, ZSTD and PALETTE ops. Not thread-safe (one zstd context)."""

    spec = LOSSLESS_SPEC

    def __init__(self) -> None:
        self._dctx = zstandard.ZstdDecompressor()

    def begin_update(self) -> None:
        """Nothing to reset: every op stands alone."""

    def prepare(self, op: OpView, size: tuple[int, int], /) -> Prepared:
        r, payload = op.rect, op.payload
        if op.op is Op.ZSTD and op.flags in ZSTD_FLAG_SETS:
            return Prepared(op.op, r, (inflate(self._dctx, payload, r.area * 3), op.flags))
        if op.flags:
            raise DecodeError(f"{op.op.name}: unknown op flags 0x{op.flags:02x}")
        if op.op is Op.FILL:
            if len(payload) != 3:
                raise DecodeError(f"FILL: payload of {len(payload)} bytes, expected 3")
            return Prepared(op.op, r, int.from_bytes(payload, "little"))
        if op.op is Op.RAW:
            if len(payload) != r.area * 3:
                raise DecodeError(f"RAW: {len(payload)} bytes for a {r.w}x{r.h} rect")
            return Prepared(op.op, r, payload)
        if op.op is Op.PALETTE:
            return self._prepare_palette(op)
        raise DecodeError(f"the lossless codec does not decode {op.op.name}")

    def _prepare_palette(self, op: OpView) -> Prepared:
        r, payload = op.rect, op.payload
        if len(payload) < PALETTE_HEADER.size:
            raise DecodeError("PALETTE: truncated header")
        bits, reserved, n = PALETTE_HEADER.unpack_from(payload)
        if reserved:
            raise DecodeError("PALETTE: reserved byte is not zero")
        if bits not in (1, 2, 4, 8) or not 1 <= n <= (1 << bits):
            raise DecodeError(f"PALETTE: {n} colours with {bits}-bit indices")
        start = PALETTE_HEADER.size
        colours = payload[start : start + 3 * n]
        if len(colours) != 3 * n:
            raise DecodeError("PALETTE: truncated colour table")
        packed = inflate(self._dctx, payload[start + 3 * n :], _pixels.index_size(r.w, r.h, bits))
        _pixels.check_indices(packed, r.w, r.h, bits, n)
        return Prepared(op.op, r, (bits, bytes(colours), packed))

    def apply(self, prepared: Prepared, fb: Framebuffer, /) -> None:
        r, data = prepared.rect, prepared.data
        if prepared.op is Op.FILL:
            _pixels.fill(fb, r.x, r.y, r.w, r.h, data)
        elif prepared.op is Op.PALETTE:
            bits, colours, packed = data
            _pixels.palette_apply(packed, bits, colours, fb, r.x, r.y, r.w, r.h)
        elif prepared.op is Op.ZSTD:
            pixels, flags = data
            if flags == _MED:
                _pixels.unpack_med(pixels, fb, r.x, r.y, r.w, r.h)
                return
            planar, delta = bool(flags & ZstdFlags.PLANAR), bool(flags & ZstdFlags.DELTA_UP)
            _pixels.unpack_filtered(pixels, fb, r.x, r.y, r.w, r.h, planar, delta)
        else:
            _pixels.unpack_bgr(data, fb, r.x, r.y, r.w, r.h)
