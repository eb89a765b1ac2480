"""Session messages about the link itself: what the viewer can decode, and
receipts that let the host time the bottleneck (in full, or coded against
the previous receipt: :class:`CompactReceipt`).

Split from ``messages.py`` to keep files small; import messages from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from screencodec.errors import ProtocolError
from screencodec.transport.session._binary import Reader, Writer
from screencodec.transport.session._msgbase import MAX_UPDATE, MessageBase
from screencodec.wire import ZSTREAM_MAX_WINDOW, Op

__all__ = ["MAX_SEQ_STEP", "Capabilities", "CompactReceipt", "CompactUpdate", "CompactUpdateRefs",
           "Receipt"]

#: Every op a version-0.1 viewer decodes: what a viewer that sends no
#: Capabilities message is assumed to handle.
LEGACY_OPS = frozenset({Op.FILL, Op.RAW, Op.ZSTD, Op.PALETTE, Op.COPY, Op.VIDEO})


@dataclass(frozen=True, slots=True)
class Capabilities(MessageBase):
    """Viewer -> host, before its PermissionRequest: what it can decode.

    ``ops`` is a bit mask of wire ops (bit ``1 << op``); ``video`` a bit mask of
    H.264 profiles (:data:`H264_420`, :data:`H264_444`); ``flags`` bit
    :data:`RECEIPTS` says it answers updates with :class:`Receipt`, bit
    :data:`ZSTD_MED` that it decodes ZSTD ops with op flags MED | PLANAR
    (docs/protocol.md; without it the host filters photos with DELTA_UP),
    bit :data:`COMPACT` that it takes :class:`CompactUpdate` messages, bit
    :data:`COMPACT_RECTS` that it also takes :class:`CompactUpdateRefs`,
    bit :data:`NO_FILES` that it refuses every file offer (no download
    folder, or no one to ask: the host need not offer one to learn it),
    bit :data:`EARLY_CHAT` that it reads chat before its first answer,
    bit :data:`CLIPBOARD` that it shares text clipboards (.clipboard),
    bit :data:`BYE_NOTICES` that it reads a :class:`Notice` that explains
    the ``Bye`` right after it, bit :data:`FILE_NOTICES` that it reads the
    one that says the host takes no files;
    ``max_cache`` is the memory (bytes) it grants the host for caches kept in
    step on both sides (0: none).
    """

    KIND: ClassVar[int] = 24
    ops: int
    video: int
    flags: int = 0
    max_cache: int = 0

    H264_420: ClassVar[int] = 1  #: Constrained Baseline 4:2:0
    H264_444: ClassVar[int] = 2  #: High 4:4:4 Predictive
    RECEIPTS: ClassVar[int] = 1
    ZSTD_MED: ClassVar[int] = 2
    COMPACT: ClassVar[int] = 4
    COMPACT_RECTS: ClassVar[int] = 8
    #: Not something it decodes, so never in :meth:`full`: a host of the
    #: version before drops the bit (its parser keeps the four above).
    NO_FILES: ClassVar[int] = 16
    #: It reads :class:`Chat` lines before the answer to its first request
    #: (the host's user writing to an agent who asks, say38); a viewer
    #: without it takes nothing but the answer there. Not in :meth:`full`
    #: either (the Viewer adds it): tools that read the host's raw messages
    #: expect the answer first.
    EARLY_CHAT: ClassVar[int] = 32
    #: It shares text clipboards on the reserved channel (.clipboard): the
    #: host says hello and sends its user's text only to a viewer with it.
    #: Not in :meth:`full` (the Viewer adds it, as EARLY_CHAT).
    CLIPBOARD: ClassVar[int] = 64
    #: It reads a :class:`Notice` right before a ``Bye`` as that Bye's
    #: typed reason (``Notice.HOST_FAILED``), also before the answer to its
    #: first request, where a viewer without it takes the first message
    #: that is not chat for the answer (odds40). Not in :meth:`full` (the
    #: Viewer adds it, as EARLY_CHAT).
    BYE_NOTICES: ClassVar[int] = 128
    #: It reads ``Notice.TAKES_NO_FILES``: a host that takes no files says
    #: so as the session is joined, before any offer (files41). Not in
    #: :meth:`full` (the Viewer adds it, as EARLY_CHAT).
    FILE_NOTICES: ClassVar[int] = 256
    #: It reads ``Notice.KEYS_IGNORED``: the host counts the key presses of
    #: this agent it ignored while its user used their own mouse or
    #: keyboard (words45). Not in :meth:`full` (the Viewer adds it).
    KEY_COUNTS: ClassVar[int] = 512
    #: With KEY_COUNTS: it reads ``Notice.KEYS_IGNORED``'s four figures
    #: (keys, pointer moves, clicks, scrolls: input46), not the keys alone.
    #: Not in :meth:`full` (the Viewer adds it).
    INPUT_COUNTS: ClassVar[int] = 1024
    #: The flag bits this version knows; a newer viewer's others are dropped.
    KNOWN_FLAGS: ClassVar[int] = (RECEIPTS | ZSTD_MED | COMPACT | COMPACT_RECTS | NO_FILES
                                  | EARLY_CHAT | CLIPBOARD | BYE_NOTICES
                                  | FILE_NOTICES | KEY_COUNTS | INPUT_COUNTS)  # fmt: skip

    @classmethod
    def full(cls, *, compact: bool = True) -> Capabilities:
        """Everything this version decodes: every op, both profiles, receipts,
        the MED filter, compact deltas (with rect references), and the memory
        a ZSTREAM history stream takes (its 8 MiB window); not NO_FILES
        (the Viewer adds it: what it takes is not what it decodes).
        ``compact=False`` (neither COMPACT nor COMPACT_RECTS) for tools that
        read the host's raw messages and expect every delta as an Update."""
        ops = sum(1 << op for op in Op)
        flags = cls.KNOWN_FLAGS & ~(cls.NO_FILES | cls.EARLY_CHAT | cls.CLIPBOARD
                                    | cls.BYE_NOTICES | cls.FILE_NOTICES
                                    | cls.KEY_COUNTS | cls.INPUT_COUNTS)  # fmt: skip
        if not compact:
            flags &= ~(cls.COMPACT | cls.COMPACT_RECTS)
        return cls(ops, cls.H264_420 | cls.H264_444, flags, ZSTREAM_MAX_WINDOW)

    @classmethod
    def legacy(cls) -> Capabilities:
        """What a viewer that declares nothing (version 0.1) decodes."""
        return cls(sum(1 << op for op in LEGACY_OPS), cls.H264_420 | cls.H264_444, 0)

    def decodes(self, op: Op) -> bool:
        return bool(self.ops >> int(op) & 1)

    def _pack(self, w: Writer) -> None:
        w.u32(self.ops)
        w.u8(self.video)
        w.u16(self.flags)
        w.u32(self.max_cache)

    @classmethod
    def _unpack(cls, r: Reader) -> Capabilities:
        ops, video, flags, max_cache = r.u32(), r.u8(), r.u16(), r.u32()
        # Unknown bits are a newer viewer's: ignore them, never fail on them.
        known_ops = sum(1 << op for op in Op)
        if not ops & (1 << Op.FILL):
            raise ProtocolError("a viewer must decode FILL")
        return cls(ops & known_ops, video & 3, flags & cls.KNOWN_FLAGS, max_cache)


@dataclass(frozen=True, slots=True)
class Receipt(MessageBase):
    """Viewer -> host, for each update applied (cumulative, like an ack).

    ``arrived_us`` is when the update's last byte arrived, in microseconds on
    the viewer's monotonic clock (any origin: the host uses differences only);
    ``held_us`` how long the viewer kept it before this receipt (decoding);
    ``span_us`` how long its bytes took to arrive, from the first to the last,
    or :data:`NO_SPAN` when the viewer's channel cannot tell.
    """

    KIND: ClassVar[int] = 25
    seq: int
    arrived_us: int
    held_us: int
    span_us: int = 0xFFFFFFFF

    NO_SPAN: ClassVar[int] = 0xFFFFFFFF

    def _pack(self, w: Writer) -> None:
        w.u32(self.seq)
        w.u64(self.arrived_us)
        w.u32(self.held_us)
        w.u32(self.span_us)

    @classmethod
    def _unpack(cls, r: Reader) -> Receipt:
        return cls(r.u32(), r.u64(), r.u32(), r.u32())


@dataclass(frozen=True, slots=True)
class CompactUpdate(MessageBase):
    """Host -> viewer: a small delta update without the headers the viewer
    can work out, to be expanded into its canonical :class:`Update`
    (:mod:`~screencodec.transport.session.compact` has the layout). Only to a
    viewer that declared :attr:`Capabilities.COMPACT`. ``body`` is the
    message after version and kind; it is checked when it is expanded (a bad
    one is refused like an undecodable update, not fatal to the session)."""

    KIND: ClassVar[int] = 26
    body: bytes

    def _pack(self, w: Writer) -> None:
        w.raw(self.body)

    @classmethod
    def _unpack(cls, r: Reader) -> CompactUpdate:
        body = r.rest()
        if len(body) > MAX_UPDATE:
            raise ProtocolError(f"compact update of {len(body)} bytes")
        return cls(body)


@dataclass(frozen=True, slots=True)
class CompactUpdateRefs(CompactUpdate):
    """Host -> viewer: a :class:`CompactUpdate` whose ops may name their rect
    by its place in the recent-rects table both ends keep
    (:class:`~.compact.CompactState`) instead of spelling it out. Only to a
    viewer that declared :attr:`Capabilities.COMPACT` and
    :attr:`Capabilities.COMPACT_RECTS`."""

    KIND: ClassVar[int] = 28


#: A compact receipt's sequence step at most: a larger one (or 0) goes as a
#: full Receipt (the host never has more than its window in flight).
MAX_SEQ_STEP = 1 << 31
_U32, _U64 = (1 << 32) - 1, (1 << 64) - 1
_MAX_VARINT = 10  # bytes of an LEB128 varint of 64 bits


@dataclass(frozen=True, slots=True)
class CompactReceipt(MessageBase):
    """Viewer -> host: a :class:`Receipt` coded against the previous receipt
    on the link (full or compact), as four unsigned LEB128 varints (7 bits a
    byte, low bits first, at most 10 bytes, no byte more than the value
    needs): ``seq_step`` (1..:data:`MAX_SEQ_STEP`: the sequence minus the
    previous one, mod 2^32), ``arrival_step_us`` (the arrival minus the
    previous one, < 2^64), ``held_us`` (< 2^32) and the span plus one (<
    2^32; 0: unknown, :attr:`Receipt.NO_SPAN` here). The host rebuilds the
    Receipt (:class:`~.compact.ReceiptState`); a viewer sends one only to a
    host that sent it a :class:`CompactUpdate` (docs/transport.md, "Compact
    receipts"). Any field out of range is a ProtocolError when parsed and a
    ValueError when built."""

    KIND: ClassVar[int] = 27
    seq_step: int
    arrival_step_us: int
    held_us: int
    span_us: int = Receipt.NO_SPAN

    def _fields(self) -> tuple[int, int, int, int]:
        span = self.span_us + 1 if 0 <= self.span_us < Receipt.NO_SPAN else self.span_us
        if self.span_us == Receipt.NO_SPAN:
            span = 0  # otherwise out of range stays out of range: refused
        return self.seq_step, self.arrival_step_us, self.held_us, span

    def _pack(self, w: Writer) -> None:
        values = self._fields()
        for value, (low, high), name in zip(values, _BOUNDS, _NAMES, strict=True):
            if not low <= value <= high:
                raise ValueError(f"compact receipt {name} {value} out of range")
        w.raw(b"".join(_varint(v) for v in values))

    @classmethod
    def _unpack(cls, r: Reader) -> CompactReceipt:
        seq, arrival, held, span = (
            _read_varint(r, low, high, name)
            for (low, high), name in zip(_BOUNDS, _NAMES, strict=True)
        )
        return cls(seq, arrival, held, Receipt.NO_SPAN if span == 0 else span - 1)


_BOUNDS = ((1, MAX_SEQ_STEP), (0, _U64), (0, _U32), (0, _U32))
_NAMES = ("seq step", "arrival step", "held_us", "span_us + 1")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(r: Reader, low: int, high: int, name: str) -> int:
    """One varint of a compact receipt: truncated (Reader), longer than 10
    bytes or than its value needs, or out of ``[low, high]``: ProtocolError."""
    value = 0
    for i in range(_MAX_VARINT):
        byte = r.u8()
        value |= (byte & 0x7F) << 7 * i
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise ProtocolError(f"compact receipt {name}: a varint longer than its value")
            if not low <= value <= high:
                raise ProtocolError(f"compact receipt {name} {value} out of range")
            return value
    raise ProtocolError(f"compact receipt {name}: a varint longer than {_MAX_VARINT} bytes")
