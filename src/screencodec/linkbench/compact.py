"""What a compact receipt would weigh: a proposal's arithmetic, measured on
a session's real receipts (nothing here is sent).

On an idle screen the headers weigh more than the pixels. The compact
*delta* is real now (session kind 26,
:mod:`screencodec.transport.session.compact`; the ledger builds each one the
host could send, :mod:`.ledger`). The compact *receipt* is still a proposal,
priced here:

* **Compact receipt** (viewer -> host): ``version u8, kind u8``, then varints:
  the sequence's step from the previous receipt, the arrival's step from the
  previous receipt's (microseconds), the time held, and the span plus one (0:
  unknown). The first receipt keeps the full form.

Sizes only (:class:`ReceiptSizer`), of the message itself: the ledger adds
the sealed channel's framing.
"""

from __future__ import annotations

import struct

__all__ = ["ReceiptSizer", "varint"]

_SESSION_HEADER = 2  # version, kind
_RECEIPT = struct.Struct(">IQII")  # seq, arrived_us, held_us, span_us (messages.Receipt)
_NO_SPAN = 0xFFFFFFFF


def varint(value: int) -> int:
    """Bytes of ``value`` (>= 0) as an LEB128 varint."""
    n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


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
