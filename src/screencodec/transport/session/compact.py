"""Compact delta updates (session kinds 26 and 28) and compact receipts
(kind 27): a small delta without the headers both ends can work out (kind
28: and without the rects both ends saw lately), and the viewer's receipt
for it coded against the previous receipt.

On an idle screen the headers weigh more than the pixels: a caret's blink is
a 3-byte FILL inside 6 bytes of session header, 24 of codec headers and 14 of
op header. Most of that the viewer already knows: the session and codec
sequence numbers (the previous ones plus one), the frame size (its
framebuffer's), the update flags (none), the op count (the ops to the end of
the message) and a ZSTREAM op's stream position (the bytes its history stream
has produced). A compact delta sends only the rest, and the viewer expands it
back into the **canonical** UPDATE, byte for byte what the host's encoder
produced, before anything else sees it: the decoder, the web page's decoder,
recordings, receipts and stats see an ordinary :class:`~.messages.Update`.

Spec (docs/transport.md has it too). The message is ``version u8 (1) | kind
u8 (26)`` and then one or more ops back to back to the end of the message.
Each op:

* ``tag u8``: the op (:class:`~screencodec.wire.Op`, 1..7) in bits 0-2, bit 3
  LAST (set on the last op and on no other), the op flags in bits 4-7;
* ``x, y, w, h``: unsigned LEB128 varints (7 bits a byte, low first, at most
  5 bytes, no value over 16384);
* the payload's length as a varint (at most 5 bytes), except for FILL (3
  bytes) and COPY (4), whose size is fixed, and for a LAST op that is neither,
  whose payload is the rest of the message;
* the payload, except that a ZSTREAM payload leaves out its 4-byte stream
  position.

Expansion: the session sequence is the previous update's plus one (mod 2^32,
skipping 0, as the host counts); the codec message is ``"SC", 1, 1 (UPDATE),
length``, then the update header with the codec sequence the previous
update's plus one (mod 2^32), flags 0, the previous update's width and
height, reserved 0 and the op count; then each op's 14-byte header and its
payload. A ZSTREAM op's position is 0 with RESET and otherwise where the last
ZSTREAM op left the stream: its position plus ``w * h * 3`` (mod 2^32), which
is how docs/protocol.md defines it.

What "the previous update" is, both ends track alike (:class:`CompactState`):
the last update on the link, in canonical form. The viewer expands only after
a keyframe, and never after an update it could not take (a compact one it
could not expand, or one its decoder refused) until the next keyframe: such a
compact delta is refused like an undecodable Update (the viewer answers it and
asks for a keyframe; the session goes on). The host sends a compact delta
only when its expansion is exact: a delta without HASH, of the previous
update's size, numbered one more than the previous update in both sequences,
with 1 to :data:`MAX_COMPACT_OPS` ops whose flags fit in 4 bits, and ZSTREAM
positions where the state says; and only to a viewer that declared
``Capabilities.COMPACT``. Anything else goes as an Update.

**Rect references** (kind 28, :class:`~.messages.CompactUpdateRefs`). An
idle screen changes the same few rects over and over (the caret's cell, the
clock's digit cells), and their ``x, y`` alone take 2 varint bytes each. Kind
28 has kind 26's layout except for an op's first rect varint ``v``: if ``v <
REFS`` (:data:`REFS`, 8) the op's rect is entry ``v`` of the recent-rects
table and no ``x, y, w, h`` follow; otherwise ``x = v - REFS`` and ``y, w,
h`` follow (``v`` at most ``16384 + REFS``). The table
(:attr:`CompactState.rects`) holds up to REFS distinct rects, most recent
first, as it stood before the update (an op never refers to a rect of its own
update). Both ends change it alike for every canonical update on the link
(:meth:`CompactState.note`, compact or not): a keyframe empties it first;
then each op's rect, in op order, moves (or is added) to the front, and the
table is cut to REFS; an update ``note`` cannot walk (more than
:data:`MAX_COMPACT_OPS` ops, cut short, not a codec UPDATE) empties it.
Compact deltas only build on a keyframe the viewer took, so the tables agree
whenever one is expanded. A reference to an empty entry is malformed like any
other (refused, a keyframe asked for). The host sends kind 28 instead of 26
only to a viewer that declared ``Capabilities.COMPACT_RECTS`` (with
``COMPACT``); a viewer that did not ends the session on one.

Bounds on the viewer: every varint at most 5 bytes, coordinates at most
16384, at most :data:`MAX_COMPACT_OPS` ops, the expanded update at most
``MAX_UPDATE`` bytes (checked before it is built); the codec's op-count rule
(``count <= (length - 16) / 14``) holds by construction. Anything else
(truncated, trailing bytes, an unknown op, no LAST op, a payload past the
end) is a :class:`~screencodec.errors.ProtocolError`.

**Compact receipts** (viewer -> host, kind 27, :class:`~.messages.CompactReceipt`).
An idle screen's receipt is 22 bytes (43 on the wire) for a few bytes of
news: the sequence is the previous receipt's plus one, the arrival a few
hundred milliseconds later. The message is ``version u8 (1) | kind u8 (27)``
and four unsigned LEB128 varints (at most 10 bytes each, none longer than
its value needs): the sequence's step from the previous receipt (1 to 2^31,
mod 2^32), the arrival's step in microseconds from the previous receipt's
arrival (below 2^64), ``held_us`` (below 2^32) and ``span_us + 1`` (below
2^32; 0 is unknown). "The previous receipt" is the last Receipt or compact
receipt on the link; both ends keep it (:class:`ReceiptState`). The host
rebuilds the full Receipt (sequence mod 2^32, never 0; arrival below 2^64)
before anything uses it, so its flow control sees exactly what a full
Receipt would have told it. The viewer sends the full form for the link's
first receipt and whenever a step is out of range (a sequence step of 0 or
over 2^31, an arrival earlier than the previous one). The host refuses
what breaks these rules with a ProtocolError, which ends the session like
a malformed Receipt; so is a compact receipt before any receipt, or from a
viewer it never sent a compact delta.

**Negotiation.** No host -> viewer message says what a host understands
(the Capabilities go the other way), so the compact delta says it: a
viewer sends compact receipts only once it has received a CompactUpdate on
the link. This version ships both kinds together: a host that sends kind 26
takes kind 27, and a host that never does (an older one, or any host to a
viewer that did not declare COMPACT) only ever gets full Receipts.

State: a :class:`CompactState` (or :class:`ReceiptState`) belongs to one
direction of one session and is used from one task (no lock).
"""

from __future__ import annotations

from screencodec.errors import ProtocolError
from screencodec.geometry import Rect
from screencodec.transport.session import messages as m
from screencodec.transport.session._msgbase import MAX_UPDATE
from screencodec.transport.session._msglink import MAX_SEQ_STEP
from screencodec.wire.build import EncodedOp, build_update, zstream_op
from screencodec.wire.format import (
    HEADER,
    MAX_DIMENSION,
    OP_HEADER,
    UPDATE_HEADER,
    ZSTREAM_HEADER,
    MessageType,
    Op,
    UpdateFlags,
    ZStreamFlags,
)

__all__ = [
    "MAX_COMPACT_OPS",
    "REFS",
    "CompactOp",
    "CompactState",
    "ReceiptState",
    "compact_update",
    "expand_update",
    "next_seq",
    "parse_compact",
    "walk_compact",
]

#: Ops in one compact delta at most (a bigger update goes as an Update: its
#: headers are a small part of it, and this bounds the viewer's work).
MAX_COMPACT_OPS = 256
#: Entries of the recent-rects table (kind 28): first-varint values below it
#: are references.
REFS = 8
_LAST = 0x08
_OP_MASK = 0x07
_MAX_VARINT = 5
_FIXED = {Op.FILL: 3, Op.COPY: 4}
_KNOWN_OPS = frozenset(int(op) for op in Op)
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1
_PREFIX = bytes((m.PROTOCOL_VERSION, m.CompactUpdate.KIND))
_PREFIX_REFS = bytes((m.PROTOCOL_VERSION, m.CompactUpdateRefs.KIND))
_COMPACT_KINDS = {m.CompactUpdate.KIND: False, m.CompactUpdateRefs.KIND: True}
_CODEC_HEAD = HEADER.size + UPDATE_HEADER.size


def next_seq(seq: int) -> int:
    """The session sequence after ``seq``: plus one, mod 2^32, skipping 0
    (the host's count, :meth:`~.flow.CongestionControl.sent`)."""
    return (seq + 1) & _U32 or 1


class CompactState:
    """What one direction of a session knows of the last update on the link.

    ``seq`` is its session sequence; ``valid`` says the rest is known and a
    compact delta may build on it: ``codec_seq`` (the codec's last number),
    ``width`` and ``height``, and ``zpos``, where the ZSTREAM history stream
    stands (None: unknown, so a ZSTREAM op without RESET cannot be compact).
    ``rects``: the recent-rects table, ``(x, y, w, h)`` most recent first
    (module notes, "Rect references").
    """

    __slots__ = ("codec_seq", "first", "height", "rects", "seq", "valid", "width", "zpos")

    def __init__(self) -> None:
        self.seq = 0
        self.first = True  # no update noted yet
        self.valid = False
        self.codec_seq = 0
        self.width = 0
        self.height = 0
        self.zpos: int | None = None
        self.rects: list[Rect4] = []

    def note(self, seq: int, update: bytes) -> None:
        """After each canonical update sent or received (``update``: the codec
        message). A keyframe makes the state valid; a delta keeps it as it
        was; an update this cannot read (or one of another size) ends it.
        The first update of a link starts it as a keyframe does, delta or
        not: a delta comes first only on the picture a resumed viewer kept
        (.kept), which both sides then hold.
        Each op's rect goes to the front of the recent-rects table (a
        keyframe empties it first; an update this cannot walk empties it)."""
        self.seq = seq
        first, self.first = self.first, False
        head = _read_head(update)
        if head is None:
            self.valid = False
            self.rects.clear()
            return
        codec_seq, flags, width, height, count = head
        if flags & UpdateFlags.KEYFRAME or first:
            self.valid, self.width, self.height = True, width, height
            self.rects.clear()
        elif (width, height) != (self.width, self.height):
            self.valid = False
        if flags or count:  # an empty delta does not count (docs/protocol.md)
            self.codec_seq = codec_seq
        ops = _walk(update, count)
        if ops is None:
            self.zpos = None
            self.rects.clear()
            return
        rects = self.rects
        for rect, at in ops:
            if at is not None:
                self.zpos = (at + rect[2] * rect[3] * 3) & _U32
            if rect in rects:
                rects.remove(rect)
            rects.insert(0, rect)
        del rects[REFS:]

    def lost(self, seq: int) -> None:
        """Update ``seq`` was not taken (not expanded, or refused by the
        decoder): no compact delta builds on it, until the next keyframe."""
        self.seq = seq
        self.valid = False
        self.rects.clear()  # out of step with the host's until the keyframe

    def refused(self, seq: int) -> None:
        """The viewer's decoder refused update ``seq``: if it is still the
        last, no compact delta builds on it (a later one already built on it
        is skipped by the decoder anyway, which then wants a keyframe)."""
        if seq == self.seq:
            self.valid = False

    def canonical(self, message: bytes) -> bytes:
        """``message`` (a session message) with a compact delta expanded into
        its Update, noting every update; other messages as they are. For taps
        that keep canonical bytes (recordings, the linkbench's ledger).
        Raises ProtocolError (and forgets the state) on a bad compact delta."""
        kind = message[1] if len(message) > 1 else -1
        if kind == m.Update.KIND and len(message) >= 6:
            self.note(int.from_bytes(message[2:6], "big"), message[6:])
        elif kind in _COMPACT_KINDS:
            seq = next_seq(self.seq)
            try:
                update = expand_update(self, message[2:], refs=_COMPACT_KINDS[kind])
            except ProtocolError:
                self.lost(seq)
                raise
            self.note(seq, update)
            return m.encode(m.Update(seq, update))
        return message


def compact_update(state: CompactState, seq: int, update: bytes, *, refs: bool = False
                   ) -> bytes | None:  # fmt: skip
    """The compact session message for ``update`` (the codec message the host
    is about to send as session sequence ``seq``), or None when it must go
    as an Update (see the module notes): kind 26, or with ``refs`` kind 28
    (each op's rect a reference when it is in ``state.rects``). Does not
    change ``state``."""
    if not state.valid or seq != next_seq(state.seq) or len(update) < _CODEC_HEAD:
        return None
    magic, version, mtype, length = HEADER.unpack_from(update)
    if (magic, version, mtype, length) != (b"SC", 1, MessageType.UPDATE, len(update) - HEADER.size):
        return None
    head = UPDATE_HEADER.unpack_from(update, HEADER.size)
    codec_seq, flags, width, height, reserved, count = head
    if (flags or reserved or (width, height) != (state.width, state.height)
            or codec_seq != (state.codec_seq + 1) & _U32 or not 0 < count <= MAX_COMPACT_OPS):
        return None  # fmt: skip
    out = [_PREFIX_REFS if refs else _PREFIX]
    pos, zpos = _CODEC_HEAD, state.zpos
    for k in range(count):
        if pos + OP_HEADER.size > len(update):
            return None
        op, op_flags, x, y, w, h, size = OP_HEADER.unpack_from(update, pos)
        pos += OP_HEADER.size
        end = pos + size
        if op > _OP_MASK or op not in _KNOWN_OPS or op_flags > 0x0F or end > len(update):
            return None
        if max(x, y, w, h) > MAX_DIMENSION:
            return None  # the viewer refuses such fields
        if _FIXED.get(Op(op), size) != size:
            return None
        last = k == count - 1
        if op == Op.ZSTREAM:
            if size < ZSTREAM_HEADER.size:
                return None
            (at,) = ZSTREAM_HEADER.unpack_from(update, pos)
            if at != (0 if op_flags & ZStreamFlags.RESET else zpos):
                return None  # the viewer would put another position there
            zpos = (at + w * h * 3) & _U32
            pos += ZSTREAM_HEADER.size
        out.append(bytes((op | op_flags << 4 | (_LAST if last else 0),)))
        if not refs:
            out.append(_varints(x, y, w, h))
        elif (x, y, w, h) in state.rects:
            out.append(_varints(state.rects.index((x, y, w, h))))
        else:
            out.append(_varints(x + REFS, y, w, h))
        if op not in _FIXED and not last:
            out.append(_varints(end - pos))
        out.append(update[pos:end])
        pos = end
    if pos != len(update):
        return None
    return b"".join(out)


def expand_update(state: CompactState, body: bytes, *, refs: bool = False) -> bytes:
    """The canonical codec UPDATE of a compact delta's ``body`` (the message
    after version and kind; ``refs``: of kind 28), built on ``state``;
    ProtocolError if it is malformed or ``state`` cannot take a compact
    delta. Does not change ``state`` (see :meth:`CompactState.canonical`)."""
    if not state.valid:
        raise ProtocolError("a compact update without an update to build on (no keyframe yet)")
    ops = parse_compact(body, state.rects if refs else None)
    total = _CODEC_HEAD + sum(
        OP_HEADER.size + len(p) + (ZSTREAM_HEADER.size if op == Op.ZSTREAM else 0)
        for op, _, _, _, _, _, p in ops
    )
    if total > MAX_UPDATE:
        raise ProtocolError(f"a compact update expands to {total} bytes")
    encoded: list[EncodedOp] = []
    zpos = state.zpos
    for op, flags, x, y, w, h, payload in ops:
        rect = Rect(x, y, w, h)
        if op == Op.ZSTREAM:
            at = 0 if flags & ZStreamFlags.RESET else zpos
            if at is None:
                raise ProtocolError("a compact ZSTREAM op where the stream's position is unknown")
            zpos = (at + w * h * 3) & _U32
            e = zstream_op(rect, at, payload)
            e.flags = flags  # as sent: the decoder judges any other bit
        else:
            e = EncodedOp(Op(op), rect, payload, flags)
        encoded.append(e)
    # The encoder's own builder: the bytes it made are the bytes rebuilt.
    try:
        return build_update((state.codec_seq + 1) & _U32, state.width, state.height, encoded)
    except ValueError as exc:  # a rect outside the frame
        raise ProtocolError(f"compact update: {exc}") from None


#: One op of a compact delta: ``(op, op flags, x, y, w, h, payload)`` (a
#: ZSTREAM payload without its stream position).
CompactOp = tuple[int, int, int, int, int, int, bytes]
#: A rect as ``(x, y, w, h)``.
Rect4 = tuple[int, int, int, int]


def parse_compact(body: bytes, rects: list[Rect4] | None = None) -> list[CompactOp]:
    """The ops of a compact delta's ``body`` (after version and kind), every
    field bounded (module notes); ProtocolError if it is malformed. ``rects``:
    the recent-rects table of a kind 28 body (None: kind 26)."""
    return [op for op, _ in walk_compact(body, rects)]


def walk_compact(body: bytes, rects: list[Rect4] | None = None) -> list[tuple[CompactOp, int]]:
    """:func:`parse_compact`'s ops, each with the bytes of its op header (tag,
    rect or reference, length)."""
    ops: list[tuple[CompactOp, int]] = []
    pos, n = 0, len(body)
    while True:
        if pos >= n:
            raise ProtocolError("compact update truncated: its last op is missing")
        if len(ops) >= MAX_COMPACT_OPS:
            raise ProtocolError(f"compact update of more than {MAX_COMPACT_OPS} ops")
        start, tag = pos, body[pos]
        op, flags, last = tag & _OP_MASK, tag >> 4, bool(tag & _LAST)
        if op not in _KNOWN_OPS:
            raise ProtocolError(f"compact update with unknown op {op}")
        x, pos = _read_varint(body, pos + 1, MAX_DIMENSION + (0 if rects is None else REFS))
        if rects is not None and x < REFS:
            if x >= len(rects):
                raise ProtocolError(f"compact update refers to rect {x} of {len(rects)}")
            x, y, w, h = rects[x]
        else:
            x -= 0 if rects is None else REFS
            y, pos = _read_varint(body, pos, MAX_DIMENSION)
            w, pos = _read_varint(body, pos, MAX_DIMENSION)
            h, pos = _read_varint(body, pos, MAX_DIMENSION)
        size = _FIXED.get(Op(op))
        if size is None:
            size, pos = (n - pos, pos) if last else _read_varint(body, pos, MAX_UPDATE)
        end = pos + size
        if end > n:
            raise ProtocolError("compact update truncated: an op's payload runs past the end")
        ops.append(((op, flags, x, y, w, h, body[pos:end]), pos - start))
        pos = end
        if last:
            if pos != n:
                raise ProtocolError(f"{n - pos} trailing bytes after a compact update's last op")
            return ops


def _read_varint(buf: bytes, pos: int, limit: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(_MAX_VARINT):
        if pos + i >= len(buf):
            raise ProtocolError("compact update truncated inside a varint")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if value > limit:
                raise ProtocolError(f"compact update field {value} exceeds {limit}")
            return value, pos + i + 1
        shift += 7
    raise ProtocolError(f"compact update varint longer than {_MAX_VARINT} bytes")


def _varints(*values: int) -> bytes:
    out = bytearray()
    for value in values:
        rest = value
        while rest >= 0x80:
            out.append(rest & 0x7F | 0x80)
            rest >>= 7
        out.append(rest)
    return bytes(out)


def _read_head(update: bytes) -> tuple[int, int, int, int, int] | None:
    """``(codec seq, flags, width, height, op count)`` of a codec UPDATE, or
    None when it is not one."""
    if len(update) < _CODEC_HEAD or update[:2] != b"SC" or update[3] != MessageType.UPDATE:
        return None
    seq, flags, width, height, _, count = UPDATE_HEADER.unpack_from(update, HEADER.size)
    return seq, flags, width, height, count


def _walk(update: bytes, count: int) -> list[tuple[Rect4, int | None]] | None:
    """Each op's rect in ``update`` and, for a ZSTREAM op, its stream
    position; None (not walked) for an update of more than
    :data:`MAX_COMPACT_OPS` ops or one cut short."""
    if count > MAX_COMPACT_OPS:
        return None
    pos = _CODEC_HEAD + (8 if update[4 + HEADER.size] & UpdateFlags.HASH else 0)
    ops: list[tuple[Rect4, int | None]] = []
    for _ in range(count):
        if pos + OP_HEADER.size > len(update):
            return None
        op, _, x, y, w, h, size = OP_HEADER.unpack_from(update, pos)
        pos += OP_HEADER.size
        at = None
        if op == Op.ZSTREAM:
            if size < ZSTREAM_HEADER.size or pos + size > len(update):
                return None
            (at,) = ZSTREAM_HEADER.unpack_from(update, pos)
        ops.append(((x, y, w, h), at))
        pos += size
    return ops


class ReceiptState:
    """The last receipt on one session's link (full or compact), as both ends
    know it: ``last`` is its ``(seq, arrived_us)``, None before the first.
    The viewer codes each receipt against it (:meth:`compact`), the host
    rebuilds each compact one from it (:meth:`take`); both :meth:`note`
    every receipt. One task per end (the viewer's apply loop, the host's
    receive loop), no lock."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: tuple[int, int] | None = None

    def compact(self, receipt: m.Receipt) -> m.CompactReceipt | None:
        """``receipt`` coded against the last one, or None when it must go in
        full (the first one, a sequence step of 0 or over 2^31, an arrival
        before the last). Does not change the state."""
        if self.last is None:
            return None
        seq, arrived = self.last
        step = (receipt.seq - seq) & _U32
        if not 1 <= step <= MAX_SEQ_STEP or receipt.arrived_us < arrived:
            return None
        return m.CompactReceipt(step, receipt.arrived_us - arrived, receipt.held_us,
                                receipt.span_us)  # fmt: skip

    def expand(self, msg: m.CompactReceipt) -> m.Receipt:
        """The full Receipt ``msg`` stands for; ProtocolError if there is no
        receipt to build on or it lands out of range (sequence 0, which the
        host never sends; an arrival of 2^64 or more). Does not change the
        state."""
        if self.last is None:
            raise ProtocolError("a compact receipt before any receipt")
        seq = (self.last[0] + msg.seq_step) & _U32
        arrived = self.last[1] + msg.arrival_step_us
        if seq == 0:
            raise ProtocolError("a compact receipt for update 0")
        if arrived > _U64:
            raise ProtocolError("a compact receipt's arrival is past 2^64 us")
        return m.Receipt(seq, arrived, msg.held_us, msg.span_us)

    def note(self, receipt: m.Receipt) -> None:
        """After each receipt sent or received (in full, as rebuilt)."""
        self.last = (receipt.seq, receipt.arrived_us)

    def take(self, msg: m.Receipt | m.CompactReceipt) -> m.Receipt:
        """The host's side: ``msg`` in full (rebuilt if compact), noted."""
        receipt = self.expand(msg) if isinstance(msg, m.CompactReceipt) else msg
        self.note(receipt)
        return receipt
