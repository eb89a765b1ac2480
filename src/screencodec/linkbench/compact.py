"""What a compact delta and a compact receipt would weigh: a proposal's
arithmetic, measured on a session's real messages (nothing here is sent).

On an idle screen the headers weigh more than the pixels: a caret's blink is
68 bytes on the wire for 3 bytes of colour, and its receipt 43 more. The
ledger (:mod:`.ledger`) reports, beside what was sent, what the same session
would have sent with two more compact session messages:

* **Compact delta** (host -> viewer), for a delta update without HASH that
  follows the previous update on the link: ``version u8, kind u8`` and then
  the ops back to back to the end of the message. Implied: the session
  sequence and the codec's (previous + 1), flags (0), width and height (the
  viewer's framebuffer), the reserved field and the op count. Per op: ``tag
  u8`` (op in bits 0-3, op flags in bits 4-7), ``x, y, w, h`` as LEB128
  varints, the payload length as a varint except for FILL and COPY (fixed)
  and for the last op (the rest of the message), then the payload; a ZSTREAM
  payload without its 4-byte stream position (the viewer counts its stream).
  The viewer expands it into the canonical UPDATE before anything else sees
  it, so decoders, recordings and the wire format stay as they are.
  Keyframes and hashed updates keep the full form.
* **Compact receipt** (viewer -> host): ``version u8, kind u8``, then varints:
  the sequence's step from the previous receipt, the arrival's step from the
  previous receipt's (microseconds), the time held, and the span plus one (0:
  unknown). The first receipt keeps the full form.

Both are sizes only (:func:`compact_update`, :class:`ReceiptSizer`), of the
message itself: the ledger adds the sealed channel's framing.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ledger import UpdateEntry

__all__ = ["ReceiptSizer", "compact_update", "varint"]

_SESSION_HEADER = 2  # version, kind
_RECEIPT = struct.Struct(">IQII")  # seq, arrived_us, held_us, span_us (messages.Receipt)
_NO_SPAN = 0xFFFFFFFF
_FIXED = {"FILL", "COPY"}  # payload size fixed by the op


def varint(value: int) -> int:
    """Bytes of ``value`` (>= 0) as an LEB128 varint."""
    n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


def compact_update(entry: UpdateEntry) -> int | None:
    """Bytes of ``entry`` as a compact delta message, or None when it keeps
    the full form (a keyframe, a hashed update)."""
    if entry.keyframe or entry.hashed or not entry.ops:
        return None
    size = _SESSION_HEADER
    last = len(entry.ops) - 1
    for k, (name, x, y, w, h, payload) in enumerate(entry.ops):
        body = payload - 4 if name == "ZSTREAM" else payload
        size += 1 + varint(x) + varint(y) + varint(w) + varint(h) + body
        if name not in _FIXED and k != last:
            size += varint(body)
    return size


class ReceiptSizer:
    """Bytes of each receipt as a compact receipt, in the order the viewer
    sent them (each is coded against the one before). State: the previous
    receipt's sequence and arrival; one per session direction, one task."""

    def __init__(self) -> None:
        self._prev: tuple[int, int] | None = None

    def size(self, message: bytes) -> int:
        if len(message) != 2 + _RECEIPT.size:
            return len(message)
        seq, arrived, held, span = _RECEIPT.unpack_from(message, 2)
        prev, self._prev = self._prev, (seq, arrived)
        if prev is None:
            return len(message)
        spanned = 0 if span == _NO_SPAN else span + 1
        steps = varint((seq - prev[0]) & 0xFFFFFFFF) + varint(max(0, arrived - prev[1]))
        return _SESSION_HEADER + steps + varint(held) + varint(spanned)
