"""What each receipt weighs in compact form (session kind 27), measured on a
session's real receipts.

On an idle screen the headers weigh more than the pixels. Compact deltas
(kind 26) and compact receipts (kind 27) are both sent now
(:mod:`screencodec.transport.session.compact`): the ledger counts what was
sent, and its compact column (:mod:`.ledger`) says what the same messages
weigh in compact form. For receipts, :class:`ReceiptSizer` does that: a
compact receipt is its own size, a full Receipt is priced as the compact
receipt the viewer would send in its place (coded against the previous
receipt, full or compact, by the same :class:`ReceiptState` both ends use);
the first receipt and one whose steps are out of range stay full, as they
do on the wire. A viewer sends full receipts until the host's first compact
delta, and always to a host that sends none.

Sizes of the message itself: the ledger adds the sealed channel's framing.
"""

from __future__ import annotations

from screencodec.errors import ProtocolError
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import ReceiptState

__all__ = ["ReceiptSizer", "varint"]


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
    receipt's (a :class:`ReceiptState`); one per session direction, one task."""

    def __init__(self) -> None:
        self._state = ReceiptState()

    def size(self, message: bytes) -> int:
        try:
            msg = m.decode(message)
        except ProtocolError:
            return len(message)
        if isinstance(msg, m.CompactReceipt):
            try:
                self._state.take(msg)  # what was sent: the next is coded against it
            except ProtocolError:
                self._state = ReceiptState()
            return len(message)
        if not isinstance(msg, m.Receipt):
            return len(message)
        compact = self._state.compact(msg)
        self._state.note(msg)
        return len(message) if compact is None else len(m.encode(compact))
