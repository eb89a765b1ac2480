"""History compression: the ZSTREAM op, one zstd stream across updates.

A terminal that prints a build log shows, every frame, a few lines of new
text whose glyphs have been sent hundreds of times before. Coded alone (the
PALETTE and ZSTD ops) each update pays for them again; through one zstd
stream that spans the session, with an 8 MiB window, a new line mostly
becomes matches into earlier updates (a real build log: 4.2 -> 0.4 Mbit/s).

The host compresses each text-like rect's B, G, R rows into the stream and
flushes a block, so each op's payload decodes on its own once the ops before
it have been decoded; the viewer keeps the matching decompressor. Both sides
start a new zstd frame (RESET) at every keyframe, and the viewer drops its
stream whenever it refuses an update, so it refuses ZSTREAM ops until the
next keyframe. Every op says where in the stream it starts, so a lost
update is noticed, never decoded into wrong pixels. docs/protocol.md
specifies the op; this module is the reference.
"""

from __future__ import annotations

from collections.abc import Iterable

import zstandard

from ..errors import DecodeError
from ..geometry import Rect
from ..wire import ZSTREAM_MAX_WINDOW, EncodedOp, Op, OpView, ZStreamFlags, zstream_op
from ..wire.format import ZSTREAM_HEADER
from . import _pixels
from .base import CodecSpec, Framebuffer, Prepared

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_LEVEL",
    "FLUSH_SIZE",
    "HISTORY_SPEC",
    "MIN_WINDOW",
    "HistoryDecoder",
    "HistoryEncoder",
    "parse_frame_header",
]

HISTORY_SPEC = CodecSpec(
    name="history",
    ops=frozenset({Op.ZSTREAM}),
    lossless=True,
    speed=70,
    quality=100,
    requires=("zstandard",),
)

#: zstd's largest block (Block_Maximum_Size once the window is at least this).
BLOCK_SIZE = 128 * 1024
#: The host ends a block after at most this many bytes of an op (126 KiB):
#: zstd may split a full 128 KiB block in two (its pre-splitter, at every
#: level since 1.5.7), never a smaller one, so an op of n bytes is exactly
#: ceil(n / FLUSH_SIZE) blocks, which the decoder can require.
FLUSH_SIZE = 126 * 1024
#: zstd level of the host's stream. Matches into history are what it is for,
#: and a lazy strategy (level 7) finds twice as many bytes of them as level 1
#: on a scrolling build log (0.38 vs 0.78 Mbit/s of stream) for 0.5 instead
#: of 0.16 ms of compression per update; decompression costs the same.
DEFAULT_LEVEL = 7
#: Match-finder settings over the level's own: pixels are 3 bytes, so a
#: 5-byte match (the level's minimum) is mostly a pixel and a half that
#: happens to repeat; 6 (two pixels) leaves those to the literals. The
#: deepest search the row match finder has (2^6 candidates instead of the
#: level's 2^4) finds the longer ones. On the corpus, against search_log 5
#: in the same run: build log 0.91x the bytes (318 -> 290 kbit/s) for 1.08x
#: the encode time (1.92 -> 2.08 ms p50), documentation page 0.98x, the
#: other clips within 1 % (benchmarks/RESULTS.md). Above 6 nothing changes.
MATCH_TUNING = {"search_log": 6, "min_match": 6}
#: Smallest window a stream may declare: every block may then hold 128 KiB,
#: which keeps the number of blocks an op may have small.
MIN_WINDOW = BLOCK_SIZE
_MAGIC = b"\x28\xb5\x2f\xfd"
#: magic, frame header descriptor (0: no content size, no checksum, no
#: dictionary, not single-segment), window descriptor
_FRAME_HEADER = 6
_RESET = int(ZStreamFlags.RESET)
_RAW, _RLE, _COMPRESSED = 0, 1, 2
_FLUSH_BLOCK = zstandard.COMPRESSOBJ_FLUSH_BLOCK


def parse_frame_header(data: bytes | bytearray | memoryview) -> int:
    """The window size a ZSTREAM frame header declares; DecodeError unless it
    is the 6-byte header the format allows (protocol.md, ZSTREAM)."""
    if len(data) < _FRAME_HEADER:
        raise DecodeError("ZSTREAM: truncated zstd frame header")
    if bytes(data[:4]) != _MAGIC:
        raise DecodeError("ZSTREAM: a RESET op does not start with a zstd frame")
    if data[4] != 0:
        raise DecodeError(
            f"ZSTREAM: frame header descriptor 0x{data[4]:02x} (content size, checksum, "
            "dictionary and single segment are not allowed)"
        )
    exponent, mantissa = data[5] >> 3, data[5] & 7
    base = 1 << (10 + exponent)
    window = base + (base >> 3) * mantissa
    if not MIN_WINDOW <= window <= ZSTREAM_MAX_WINDOW:
        raise DecodeError(
            f"ZSTREAM: window of {window} bytes outside {MIN_WINDOW}..{ZSTREAM_MAX_WINDOW}"
        )
    return window


def _check_blocks(data: memoryview, expected: int) -> list[int]:
    """Where each block of ``data`` ends; DecodeError unless it is whole
    blocks, none the frame's last, at most ``ceil(expected / FLUSH_SIZE)`` of
    them, that can decompress to ``expected`` bytes (raw and RLE blocks,
    whose sizes are exact, to no more). The walk is short whatever the
    payload, and decompressing block by block then stops within one block
    (128 KiB) of ``expected``."""
    limit = -(-expected // FLUSH_SIZE)
    pos, count, end = 0, 0, len(data)
    exact, compressed = 0, 0
    ends = []
    while pos < end:
        if end - pos < 3:
            raise DecodeError("ZSTREAM: truncated block header")
        head = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
        last, kind, size = head & 1, head >> 1 & 3, head >> 3
        pos += 3
        count += 1
        if last:
            raise DecodeError("ZSTREAM: a block ends the frame (a stream's frame never ends)")
        if kind == 3:
            raise DecodeError("ZSTREAM: reserved block type")
        if size > BLOCK_SIZE:
            raise DecodeError(f"ZSTREAM: block of {size} bytes (at most {BLOCK_SIZE})")
        if count > limit:
            raise DecodeError(f"ZSTREAM: more than {limit} blocks for {expected} bytes")
        pos += 1 if kind == _RLE else size
        if pos > end:
            raise DecodeError("ZSTREAM: truncated block")
        ends.append(pos)
        if kind == _COMPRESSED:
            compressed += 1
            continue
        exact += size
        if exact > expected:
            raise DecodeError(f"ZSTREAM: raw and RLE blocks of more than {expected} bytes")
    if count == 0:
        raise DecodeError("ZSTREAM: no block")
    if exact + compressed * BLOCK_SIZE < expected:
        raise DecodeError(f"ZSTREAM: {count} blocks cannot hold {expected} bytes")
    return ends


class HistoryEncoder:
    """The host's end of the stream: one zstd compressor whose frame spans
    updates (window 8 MiB, zstd ``level`` up to 9, about 14 MiB in all at
    the default 7), a block flushed after each op and every ``FLUSH_SIZE``
    bytes of one.

    State: the compressor, the stream position (bytes compressed since the
    last reset, mod 2**32) and whether the next op starts a frame. ``fill``
    and ``encode_rect`` append to the stream, so the ops must reach the
    viewer in the order they were compressed, and every update that holds
    them must be delivered; ``begin`` and ``finish`` bracket an update and
    reset the stream when the last one did not finish or its ZSTREAM ops
    were not the ones compressed, in order. Not thread-safe: one per
    session, used by one thread at a time.
    """

    spec = HISTORY_SPEC

    def __init__(self, *, level: int = DEFAULT_LEVEL, window_log: int = 23) -> None:
        if (1 << window_log) > ZSTREAM_MAX_WINDOW or (1 << window_log) < MIN_WINDOW:
            raise ValueError(f"window_log {window_log} outside 17..23")
        if level > 9:
            # Levels 16 and up may split a block after compressing it (zstd's
            # post-splitter), and the format refuses more blocks than needed.
            raise ValueError("the stream takes zstd levels up to 9")
        tuning = MATCH_TUNING if level >= 5 else {}  # lazy strategies only
        params = zstandard.ZstdCompressionParameters.from_level(
            level, window_log=window_log, write_content_size=0, write_checksum=0, write_dict_id=0,
            **tuning,
        )  # fmt: skip
        self._cctx = zstandard.ZstdCompressor(compression_params=params)
        self._stream: zstandard.ZstdCompressionObj | None = None
        self._position = 0
        self._sent: list[EncodedOp] = []
        self._open = False
        #: how many times the stream was reset (keyframes, recoveries)
        self.resets = 0

    def reset(self) -> None:
        """Start a new frame with the next op (it gets RESET)."""
        self._stream = None
        self._position = 0

    def begin(self, *, keyframe: bool) -> None:
        """Start an update; a keyframe always resets the stream."""
        if keyframe or self._open:
            self.reset()  # an update that never finished may have used the stream
        self._sent = []
        self._open = True

    def encode_rect(self, fb: Framebuffer, rect: Rect, /) -> EncodedOp:
        """Compress the rect of ``fb`` into the stream now, as a ZSTREAM op."""
        op = EncodedOp(Op.ZSTREAM, rect, b"")
        self._compress(fb, op)
        return op

    def fill(self, fb: Framebuffer, ops: Iterable[EncodedOp]) -> None:
        """Compress, in order, every ZSTREAM op of ``ops`` that has no payload
        yet (LosslessEncoder(stream=True) leaves them so) from ``fb``."""
        for op in ops:
            if op.op is Op.ZSTREAM and not op.payload:
                self._compress(fb, op)

    def finish(self, ops: Iterable[EncodedOp], fb: Framebuffer) -> None:
        """End an update whose ops are ``ops`` in wire order, ``fb`` what the
        viewer shows after it. If its ZSTREAM ops are not exactly the ones
        compressed since ``begin``, in that order (a caller reordered or
        dropped some), reset the stream and compress them again from ``fb``,
        which is right whatever the order: each pixel ends as ``fb`` has it."""
        streamed = [op for op in ops if op.op is Op.ZSTREAM]
        if len(streamed) != len(self._sent) or any(
            a is not b for a, b in zip(streamed, self._sent, strict=False)
        ):
            self.reset()
            for op in streamed:
                op.payload = b""
            self.fill(fb, streamed)
        self._sent = []
        self._open = False

    def _compress(self, fb: Framebuffer, op: EncodedOp) -> None:
        r = op.rect
        reset = self._stream is None
        if self._stream is None:
            self._stream = self._cctx.compressobj()
            self.resets += 1
        raw = _pixels.pack_bgr(fb, r.x, r.y, r.w, r.h)
        stream = self._stream
        if len(raw) <= FLUSH_SIZE:  # most ops: one block
            data = stream.compress(raw) + stream.flush(_FLUSH_BLOCK)
        else:
            view, parts = memoryview(raw), []
            for i in range(0, len(raw), FLUSH_SIZE):
                parts.append(stream.compress(view[i : i + FLUSH_SIZE]))
                parts.append(stream.flush(_FLUSH_BLOCK))
            data = b"".join(parts)
        done = zstream_op(r, self._position, data, reset=reset)
        op.payload, op.flags = done.payload, done.flags
        self._position = (self._position + r.area * 3) & 0xFFFFFFFF
        self._sent.append(op)


class HistoryDecoder:
    """The viewer's end of the stream: decodes ZSTREAM ops in op order.

    State: one zstd decompressor (its window is the memory the stream takes,
    at most 8 MiB) and the stream position, or none. ``drop_stream`` forgets
    them; the screen decoder calls it when a keyframe starts and whenever it
    refuses an update, so afterwards only an op with RESET is accepted. An op
    that fails drops the stream too. Not thread-safe.
    """

    spec = HISTORY_SPEC

    def __init__(self) -> None:
        self._dctx = zstandard.ZstdDecompressor(max_window_size=ZSTREAM_MAX_WINDOW)
        self._stream: zstandard.ZstdDecompressionObj | None = None
        self._position = 0

    @property
    def active(self) -> bool:
        """Whether a stream is open (an op without RESET can be decoded)."""
        return self._stream is not None

    def drop_stream(self) -> None:
        self._stream = None
        self._position = 0

    def begin_update(self) -> None:
        """Nothing to reset: the stream spans updates."""

    def prepare(self, op: OpView, size: tuple[int, int], /) -> Prepared:
        try:
            return Prepared(Op.ZSTREAM, op.rect, self._decode(op))
        except DecodeError:
            self.drop_stream()
            raise

    def _decode(self, op: OpView) -> bytes:
        if op.op is not Op.ZSTREAM:
            raise DecodeError(f"the history codec does not decode {op.op.name}")
        if op.flags & ~_RESET:
            raise DecodeError(f"ZSTREAM: unknown op flags 0x{op.flags:02x}")
        payload = op.payload
        if len(payload) <= ZSTREAM_HEADER.size:
            raise DecodeError("ZSTREAM: payload holds no stream data")
        (position,) = ZSTREAM_HEADER.unpack_from(payload)
        data = payload[ZSTREAM_HEADER.size :]
        expected = op.rect.area * 3
        head = 0
        if op.flags & _RESET:
            self.drop_stream()
            if position:
                raise DecodeError(f"ZSTREAM: a RESET op at stream position {position}, not 0")
            parse_frame_header(data)
            head = _FRAME_HEADER
        elif self._stream is None:
            raise DecodeError(
                "ZSTREAM: no stream to continue (the first op after a keyframe or a "
                "refused update must have RESET)"
            )
        elif position != self._position:
            raise DecodeError(
                f"ZSTREAM: op starts at stream position {position}, the stream is at "
                f"{self._position} (an update was lost)"
            )
        ends = _check_blocks(data[head:], expected)
        stream = self._stream or self._dctx.decompressobj()
        # Block by block (usually one): a block that takes the output past the
        # rect's size is the last one decompressed.
        pieces, produced, start = [], 0, 0
        for end in ends:
            try:
                piece: bytes = stream.decompress(data[start : head + end])
            except zstandard.ZstdError as e:
                raise DecodeError(f"ZSTREAM: corrupt zstd data: {e}") from None
            start = head + end
            produced += len(piece)
            if produced > expected:
                raise DecodeError(f"ZSTREAM: blocks gave over {expected} bytes, the rect's size")
            pieces.append(piece)
        if produced != expected:
            raise DecodeError(f"ZSTREAM: blocks gave {produced} bytes, the rect needs {expected}")
        out = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._stream = stream
        self._position = (self._position + expected) & 0xFFFFFFFF
        return out

    def apply(self, prepared: Prepared, fb: Framebuffer, /) -> None:
        r = prepared.rect
        _pixels.unpack_bgr(prepared.data, fb, r.x, r.y, r.w, r.h)
