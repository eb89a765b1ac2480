"""Every byte of a session by what it carries: the linkbench's byte ledger.

A session's kbit/s says how much crossed the link, not why. The ledger
says why: :class:`CountingChannel` wraps a session's channel and notes each
message it receives (``recv``: the receiving side sees a message when it
arrives, which is when the shaping proxy delivered it, so the ledger's times
line up with the proxy's delivery log). The linkbench wraps the viewer's
channel (host -> viewer) and the host's (viewer -> host).

Each message is cut into rows (:data:`ROWS`):

* an update (session kind 1) into its headers (session: version, kind, seq;
  codec: the 8-byte message header, the 16-byte update header and the hash
  if any), one 14-byte op header per op, and each op's payload under the
  op's name (``FILL``, ``ZSTREAM``, ...);
* a compact delta (session kind 26, or 28 with rect references,
  :mod:`~..transport.session.compact`) into ``compact headers`` (version,
  kind), ``compact op headers`` (tag, varint rect or reference, and length)
  and the payloads as above (a ZSTREAM payload without its stream position);
* other messages by kind: ``Stats``, ``Cursor``, ``Receipt``, ``compact
  receipt`` (session kind 27, the receipt coded against the previous one), ``Ack``,
  ``KeyframeRequest``, ``input`` (pointer, buttons, wheel, keys) and
  ``control`` (everything else: grants, monitor lists, notices, chat, bye);
* ``framing``: what the sealed channel adds to every message on the wire
  (:data:`FRAMING`: 4 length + 1 record type + 16 AEAD tag).

Records that never reach ``recv`` (the handshake, keepalives, the closing
record) are not seen here: the linkbench reports them as ``unattributed``,
what the proxy delivered in the window that no message accounts for.

**The window's edges.** The proxy counts bytes as it delivers them; the
ledger sees a message when its last byte is in. A message the link was still
carrying at the window's start (a 16 kB update takes 32 ms at 4 Mbit/s) came
partly before it: counted whole, it made ``unattributed`` negative (-10500
bytes on corpus:browser-scroll, whose big updates the link carries back to
back). So :meth:`Ledger.report` counts in the window exactly the bytes the
link delivered in it, each by what it carries: given the link's delivery
log, it places every message in the delivered byte stream and cuts one that
straddles an edge at the edge's byte, in wire order (the record's 5-byte
head, the message's parts in order, the 16-byte tag). A part counts (its
``count``) where its last byte was delivered, as a whole message does where
it is received. The updates table (:meth:`Ledger.report`'s ``updates``)
counts an update where its last byte was delivered too, as ``framing`` does
its record: by receipt time alone, an update the proxy wrote just before an
edge and the viewer read just after it would be counted on one side of the
edge there and on the other in the rows.

Placing a message: the stream is the unseen records and the messages back to
back, in order. A message's last byte was delivered by the last write the
proxy stamped at or before the message was received (it stamps a write just
before making it and writes in order, so a write stamped later was made
after the receipt), and at most the session's unseen bytes (the link's total
less every message's) come before it. Each message is placed as late as
those bounds allow, which is exact unless unseen records came after it in
writes made before the receiving side read it (a keepalive, the closing
record while the receiver was busy): then it may be placed up to their
bytes late. (Stamped after the write, a write could be logged after the
receipt, so the bound was the first write logged at or after it: a message
read a moment after its write was logged went into the next write, up to
that write's bytes late; measured: the host's closing record, 35 bytes,
moved an idle session's last caret blink, read 0.27 s before the window's
end, past it, as the viewer's close (``Viewer.bye``, through ``close_with``)
was noted only once its linger had read that record.) What the link delivered after
the receiving side closed (the peer's closing record, and whatever it sent
before it heard of the close, which a lingering close reads and discards)
bounds nothing. Without the log (only the window's byte count), a window
that delivered fewer bytes than its messages hold is taken to have received
the difference before it: that many bytes are cut from the front of its
first message.

State: one ledger per session, appended to from the event loop that runs the
wrapped channels (no lock); read after the session.
"""

from __future__ import annotations

import contextlib
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ProtocolError
from ..transport.channel.base import CLOSED_HERE, Channel, ChannelTap
from ..transport.session.compact import CompactState, Rect4, compact_update, walk_compact
from ..wire.format import HASH, HEADER, OP_HEADER, UPDATE_HEADER, Op, UpdateFlags
from .compact import ReceiptSizer

__all__ = ["FRAMING", "ROWS", "CountingChannel", "Deliveries", "Ledger", "UpdateEntry", "classify"]

Direction = Literal["down", "up"]

#: Bytes the sealed channel adds to each message: u32 length, u8 record type, 16-byte tag.
FRAMING = 4 + 1 + 16
#: The session message header of an update: version u8, kind u8, seq u32.
SESSION_UPDATE_HEADER = 6

_KIND_NAMES = {1: "update", 26: "compact", 28: "compact", 2: "Ack", 3: "KeyframeRequest",
               8: "input", 9: "input", 10: "input", 11: "input", 20: "Stats", 23: "Cursor",
               25: "Receipt", 27: "compact receipt"}  # fmt: skip
#: The rows of a breakdown, in the order tables print them (op payload rows
#: follow ``op headers``, named after the op).
ROWS = ("update headers", "op headers", "compact headers", "compact op headers",
        *(op.name for op in Op), "update body", "Stats",
        "Cursor", "Receipt", "compact receipt", "Ack", "KeyframeRequest", "input", "control",
        "framing")  # fmt: skip


@dataclass(frozen=True, slots=True)
class UpdateEntry:
    """One update as received: when, its wire size (with framing), whether it
    is a keyframe or carries a hash, and its ops as ``(op name, x, y, w, h,
    payload bytes)``; ``compact``: it came as a compact delta."""

    t: float
    wire: int
    keyframe: bool
    ops: tuple[tuple[str, int, int, int, int, int], ...]
    hashed: bool = False
    compact: bool = False


def classify(data: bytes, rects: list[Rect4] | None = None
             ) -> tuple[list[tuple[str, int, int]], UpdateEntry | None]:  # fmt: skip
    """Cut one session message into ``(row, count, bytes)`` parts (framing
    included) and, for an update, its :class:`UpdateEntry` (time 0). Never
    raises: bytes it cannot walk go to ``update body``. ``rects``: the link's
    recent-rects table, for a compact delta of kind 28 (None: empty)."""
    kind = data[1] if len(data) > 1 else 0
    name = _KIND_NAMES.get(kind, "control")
    parts: list[tuple[str, int, int]] = [("framing", 1, FRAMING)]
    if name == "compact":
        return _classify_compact(data, parts, (rects or []) if data[1] == 28 else None)
    if name != "update":
        parts.append((name, 1, len(data)))
        return parts, None
    head = SESSION_UPDATE_HEADER + HEADER.size + UPDATE_HEADER.size
    if len(data) < head:
        parts.append(("update body", 1, len(data)))
        return parts, UpdateEntry(0.0, len(data) + FRAMING, False, ())
    _, flags, _, _, _, count = UPDATE_HEADER.unpack_from(data, SESSION_UPDATE_HEADER + HEADER.size)
    if flags & UpdateFlags.HASH:
        head += HASH.size
    parts.append(("update headers", 1, head))
    ops: list[tuple[str, int, int, int, int, int]] = []
    pos = head
    for _ in range(count):
        if pos + OP_HEADER.size > len(data):
            break
        op, _, x, y, w, h, size = OP_HEADER.unpack_from(data, pos)
        pos += OP_HEADER.size
        try:
            op_name = Op(op).name
        except ValueError:
            op_name = "update body"
        size = min(size, len(data) - pos)
        ops.append((op_name, x, y, w, h, size))
        parts.append(("op headers", 1, OP_HEADER.size))
        parts.append((op_name, 1, size))
        pos += size
    if pos < len(data):
        parts.append(("update body", 1, len(data) - pos))
    keyframe = bool(flags & UpdateFlags.KEYFRAME)
    hashed = bool(flags & UpdateFlags.HASH)
    return parts, UpdateEntry(0.0, len(data) + FRAMING, keyframe, tuple(ops), hashed)


def _classify_compact(data: bytes, parts: list[tuple[str, int, int]], rects: list[Rect4] | None
                      ) -> tuple[list[tuple[str, int, int]], UpdateEntry]:  # fmt: skip
    try:
        compact_ops = walk_compact(data[2:], rects)
    except ProtocolError:
        parts.append(("update body", 1, len(data)))
        return parts, UpdateEntry(0.0, len(data) + FRAMING, False, (), compact=True)
    parts.append(("compact headers", 1, 2))
    ops = []
    for (op, _, x, y, w, h, payload), head in compact_ops:
        parts.append(("compact op headers", 1, head))
        parts.append((Op(op).name, 1, len(payload)))
        ops.append((Op(op).name, x, y, w, h, len(payload)))
    return parts, UpdateEntry(0.0, len(data) + FRAMING, False, tuple(ops), compact=True)


#: The sealed record around a message on the wire: u32 length and u8 record
#: type before it, the AEAD tag after it.
_RECORD_HEAD = 5
_RECORD_TAG = FRAMING - _RECORD_HEAD

_Part = tuple[str, int, int]
#: The link's delivery log of one direction: ``(time, bytes delivered so far)``
#: per write, stamped just before it (:attr:`.shaper.DirectionStats.deliveries`).
Deliveries = Sequence[tuple[float, int]]


def _wire_order(parts: list[_Part]) -> tuple[_Part, ...]:
    """:func:`classify`'s parts (framing first, then the message's in order)
    as the bytes cross the wire; the record counts once, at its tag."""
    return (("framing", 0, _RECORD_HEAD), *parts[1:], ("framing", 1, _RECORD_TAG))


@dataclass(slots=True)
class Ledger:
    """The messages of one session, both directions, each as ``(time, parts)``
    with its parts ``(row, count, bytes)`` in wire order; updates also as
    :class:`UpdateEntry`. Times are ``clock()``."""

    clock: Callable[[], float]
    messages: dict[Direction, list[tuple[float, tuple[_Part, ...]]]] = field(
        default_factory=lambda: {"down": [], "up": []})  # fmt: skip
    updates: list[UpdateEntry] = field(default_factory=list)
    #: Per entry of ``updates``, its message's index in ``messages["down"]``.
    _update_messages: list[int] = field(default_factory=list)
    #: ``(time, wire bytes)`` of each message in compact form: every delta
    #: the host could send as a compact one and every receipt the viewer
    #: could send as a compact one (each built as the sender would; what
    #: went compact is counted as sent).
    compact: dict[Direction, list[tuple[float, int]]] = field(
        default_factory=lambda: {"down": [], "up": []})  # fmt: skip
    #: When the receiving side of a direction closed its channel: what the
    #: link delivered after it (the peer's closing record, what it sent
    #: before it heard of the close) was discarded, never received.
    closed_at: dict[Direction, float] = field(default_factory=dict)
    _receipts: ReceiptSizer = field(default_factory=ReceiptSizer)
    _link: CompactState = field(default_factory=CompactState)

    def note(self, direction: Direction, data: bytes) -> None:
        t = self.clock()
        parts, update = classify(data, self._link.rects if direction == "down" else None)
        self.messages[direction].append((t, _wire_order(parts)))
        size = len(data)
        if update is not None and direction == "down":
            self.updates.append(UpdateEntry(t, update.wire, update.keyframe, update.ops,
                                            update.hashed, update.compact))  # fmt: skip
            self._update_messages.append(len(self.messages[direction]) - 1)
            size = self._compact_size(data)
        elif direction == "up" and parts[-1][0] in ("Receipt", "compact receipt"):
            size = self._receipts.size(data)
        self.compact[direction].append((t, size + FRAMING))

    def _compact_size(self, data: bytes) -> int:
        """Bytes of update ``data`` as the host sends it to a viewer that takes
        compact deltas (the viewer's side of the link state, kept here)."""
        if data[1] != 1 or len(data) < 6:
            with contextlib.suppress(ProtocolError):
                self._link.canonical(data)  # a compact delta: it is what was sent
            return len(data)
        seq = int.from_bytes(data[2:6], "big")
        compact = compact_update(self._link, seq, data[6:], refs=True)
        self._link.note(seq, data[6:])
        return len(data) if compact is None else len(compact)

    def breakdown(self, direction: Direction, start: float, end: float
                  ) -> dict[str, dict[str, int]]:  # fmt: skip
        """``{row: {"count", "bytes"}}`` of the messages received in ``(start,
        end]``, whole, rows in :data:`ROWS` order, empty rows left out."""
        window = [parts for t, parts in self.messages[direction] if start < t <= end]
        return _rows(_tally(_back_to_back(window, 0), 0, None))

    def shapes(self, start: float, end: float) -> dict[str, dict[str, int]]:
        """Updates that arrived in ``(start, end]`` grouped by their ops (``FILL``,
        ``FILL+ZSTREAM``, ``compact FILL`` for a compact delta, ...): ``{"updates",
        "wire", "payload"}`` summed, so a caret's blink or a clock's tick can
        be read as payload against the rest (headers and framing)."""
        return _shapes(u for u in self.updates if start < u.t <= end)

    def report(
        self,
        start: float,
        end: float,
        link_bytes: Mapping[str, int | None],
        deliveries: Mapping[str, Deliveries] | None = None,
    ) -> dict[str, Any]:
        """The window's breakdown in both directions, JSON-ready.

        ``deliveries``: the link's delivery log per direction; with it, the
        rows are exactly the bytes the link delivered in ``(start, end]`` (a
        message at an edge cut at the edge's byte; module notes) and
        ``unattributed`` what no message accounts for (unseen records).
        Without it, ``link_bytes``: what the link delivered in the window
        (None: unknown), against the messages received in it.
        ``compact_bytes``: the same bytes less what each message received in
        the window would have saved in compact form. ``updates``: the
        window's updates by shape (:meth:`shapes`), an update in it where
        its last byte was delivered (with the log) or it was received."""
        out: dict[str, Any] = {"start": start, "end": end, "seconds": end - start}
        directions: tuple[Direction, ...] = ("down", "up")
        for direction in directions:
            log = (deliveries or {}).get(direction) or ()
            on_link: int | None
            received = [start < t <= end for t, _ in self.messages[direction]]
            if log:
                on_link, sums, whole = self._delivered(direction, log, start, end)
            else:
                whole = received
                window = [parts for t, parts in self.messages[direction] if start < t <= end]
                on_link = link_bytes.get(direction)
                counted = sum(_size(parts) for parts in window)
                # Fewer bytes delivered than received: the rest came before the window.
                first = 0 if on_link is None else min(0, on_link - counted)
                sums = _tally(_back_to_back(window, first), 0, on_link)
            rows = _rows(sums)
            counted = sum(r["bytes"] for r in rows.values())
            if on_link is not None and on_link != counted:
                rows["unattributed"] = {"count": 0, "bytes": on_link - counted}
            total = counted if on_link is None else on_link
            # Savings by message received, so that a window of compact
            # messages only weighs the same in both columns, cut edges and all.
            saved = sum(_size(parts) - b for inside, (_, parts), (_, b)
                        in zip(received, self.messages[direction], self.compact[direction],
                               strict=True)
                        if inside)  # fmt: skip
            compact = counted - saved
            secs = max(end - start, 1e-9)
            out[direction] = {"rows": rows, "bytes": total, "kbit_s": total * 8 / 1000 / secs,
                              # what .compact's messages would have carried instead
                              "compact_bytes": compact,
                              "compact_kbit_s": compact * 8 / 1000 / secs}  # fmt: skip
            if direction == "down":
                shapes = _shapes(u for u, i in zip(self.updates, self._update_messages,
                                                   strict=True) if whole[i])  # fmt: skip
        out["updates"] = dict(sorted(shapes.items(), key=lambda kv: -kv[1]["updates"])[:8])
        return out

    def _delivered(self, direction: Direction, log: Deliveries, start: float, end: float
                   ) -> tuple[int, dict[str, list[int]], list[bool]]:  # fmt: skip
        """The bytes ``log`` says the link delivered in ``(start, end]``, their
        rows, each message placed in the stream (module notes), and per
        message whether its last byte is among them."""
        times = [t for t, _ in log]
        messages = self.messages[direction]
        total = log[-1][1]
        closed_at = self.closed_at.get(direction)
        if closed_at is not None:  # nothing delivered after our close was read
            total = min(total, _logged(log, times, closed_at))
        sizes = [_size(parts) for _, parts in messages]
        end_at = sum(sizes)  # where the message ends, unseen records left out
        # Going backwards: how far past end_at each message may end (the least
        # of its own bound, the later messages' and the unseen bytes).
        slack = max(total - end_at, 0)
        starts = [0] * len(messages)
        for i in range(len(messages) - 1, -1, -1):
            k = bisect_right(times, messages[i][0])  # writes stamped by its receipt
            by = min(log[k - 1][1] if k else 0, total)
            slack = min(slack, by - end_at)
            starts[i] = max(slack, 0) + end_at - sizes[i]
            end_at -= sizes[i]
        lo, hi = _logged(log, times, start), _logged(log, times, end)
        placed = ((at, parts) for at, (_, parts) in zip(starts, messages, strict=True))
        whole = [lo < at + size <= hi for at, size in zip(starts, sizes, strict=True)]
        return hi - lo, _tally(placed, lo, hi), whole


def _shapes(updates: Iterable[UpdateEntry]) -> dict[str, dict[str, int]]:
    """:meth:`Ledger.shapes` of ``updates``."""
    out: dict[str, dict[str, int]] = {}
    for u in updates:
        kind = "keyframe " if u.keyframe else "compact " if u.compact else ""
        key = kind + ("+".join(o[0] for o in u.ops) or "empty")
        s = out.setdefault(key, {"updates": 0, "wire": 0, "payload": 0})
        s["updates"] += 1
        s["wire"] += u.wire
        s["payload"] += sum(o[5] for o in u.ops)
    return out


def _size(parts: tuple[_Part, ...]) -> int:
    return sum(b for _, _, b in parts)


def _logged(log: Deliveries, times: list[float], t: float) -> int:
    """Bytes ``log`` says were delivered by time ``t``."""
    k = bisect_right(times, t)
    return log[k - 1][1] if k else 0


def _back_to_back(window: list[tuple[_Part, ...]], first: int
                  ) -> Iterator[tuple[int, tuple[_Part, ...]]]:  # fmt: skip
    """``(stream offset, parts)`` of messages placed one after the other from ``first``."""
    at = first
    for parts in window:
        yield at, parts
        at += _size(parts)


def _tally(placed: Iterable[tuple[int, tuple[_Part, ...]]], lo: int, hi: int | None
           ) -> dict[str, list[int]]:  # fmt: skip
    """``{row: [count, bytes]}`` of the stream's bytes in ``[lo, hi)`` (None:
    to the end), ``placed`` giving each message's offset. A part counts where
    its last byte is."""
    top = math.inf if hi is None else hi
    sums: dict[str, list[int]] = {}
    for first, parts in placed:
        if first >= top or first + _size(parts) <= lo:
            continue
        b = first
        for row, n, size in parts:
            a, b = b, b + size
            inside = int(max(0, min(b, top) - max(a, lo)))
            if inside or lo < b <= top:
                s = sums.setdefault(row, [0, 0])
                s[0] += n if lo < b <= top else 0
                s[1] += inside
    return sums


def _rows(sums: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    """``sums`` in :data:`ROWS` order."""
    order = {row: i for i, row in enumerate(ROWS)}
    return {
        row: {"count": c, "bytes": b}
        for row, (c, b) in sorted(sums.items(), key=lambda kv: order.get(kv[0], 99))
    }


class CountingChannel(ChannelTap):
    """A :class:`Channel` that notes every message it receives in a
    :class:`Ledger` under ``direction`` (what the peer sent to us)."""

    def __init__(self, inner: Channel, ledger: Ledger, direction: Direction) -> None:
        super().__init__(inner)
        self.ledger = ledger
        self.direction: Direction = direction

    def on_received(self, message: bytes, /) -> None:
        self.ledger.note(self.direction, message)

    async def close(self, reason: str = CLOSED_HERE) -> None:
        self.ledger.closed_at.setdefault(self.direction, self.ledger.clock())
        await self.inner.close(reason)

    async def close_with(self, *last: bytes, reason: str = CLOSED_HERE) -> None:
        # Closed from now, not when the lingering close is done: by then it
        # has read the peer's closing record (Viewer.bye closes this way).
        self.ledger.closed_at.setdefault(self.direction, self.ledger.clock())
        await super().close_with(*last, reason=reason)
