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
* a compact delta (session kind 26, :mod:`~..transport.session.compact`)
  into ``compact headers`` (version, kind), ``compact op headers`` (tag,
  varint rect and length) and the payloads as above (a ZSTREAM payload
  without its stream position);
* other messages by kind: ``Stats``, ``Cursor``, ``Receipt``, ``compact
  receipt`` (session kind 27, the receipt coded against the previous one), ``Ack``,
  ``KeyframeRequest``, ``input`` (pointer, buttons, wheel, keys) and
  ``control`` (everything else: grants, monitor lists, notices, chat, bye);
* ``framing``: what the sealed channel adds to every message on the wire
  (:data:`FRAMING`: 4 length + 1 record type + 16 AEAD tag).

Records that never reach ``recv`` (keepalives, the closing record) are not
seen here: the linkbench reports them as the difference between the proxy's
count and the ledger's (``unattributed``, which also holds a message cut by
the window's edge).

State: one ledger per session, appended to from the event loop that runs the
wrapped channels (no lock); read after the session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ProtocolError
from ..transport.channel.base import Channel, ChannelTap
from ..transport.session.compact import CompactState, compact_update, parse_compact
from ..wire.format import HASH, HEADER, OP_HEADER, UPDATE_HEADER, Op, UpdateFlags
from .compact import ReceiptSizer, varint

__all__ = ["FRAMING", "ROWS", "CountingChannel", "Ledger", "UpdateEntry", "classify"]

Direction = Literal["down", "up"]

#: Bytes the sealed channel adds to each message: u32 length, u8 record type, 16-byte tag.
FRAMING = 4 + 1 + 16
#: The session message header of an update: version u8, kind u8, seq u32.
SESSION_UPDATE_HEADER = 6

_KIND_NAMES = {1: "update", 26: "compact", 2: "Ack", 3: "KeyframeRequest", 8: "input", 9: "input",
               10: "input", 11: "input", 20: "Stats", 23: "Cursor", 25: "Receipt",
               27: "compact receipt"}  # fmt: skip
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


def classify(data: bytes) -> tuple[list[tuple[str, int, int]], UpdateEntry | None]:
    """Cut one session message into ``(row, count, bytes)`` parts (framing
    included) and, for an update, its :class:`UpdateEntry` (time 0). Never
    raises: bytes it cannot walk go to ``update body``."""
    kind = data[1] if len(data) > 1 else 0
    name = _KIND_NAMES.get(kind, "control")
    parts: list[tuple[str, int, int]] = [("framing", 1, FRAMING)]
    if name == "compact":
        return _classify_compact(data, parts)
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


def _classify_compact(data: bytes, parts: list[tuple[str, int, int]]
                      ) -> tuple[list[tuple[str, int, int]], UpdateEntry]:  # fmt: skip
    try:
        compact_ops = parse_compact(data[2:])
    except ProtocolError:
        parts.append(("update body", 1, len(data)))
        return parts, UpdateEntry(0.0, len(data) + FRAMING, False, (), compact=True)
    parts.append(("compact headers", 1, 2))
    ops = []
    last = len(compact_ops) - 1
    for k, (op, _, x, y, w, h, payload) in enumerate(compact_ops):
        head = 1 + varint(x) + varint(y) + varint(w) + varint(h)
        if op not in (Op.FILL, Op.COPY) and k != last:
            head += varint(len(payload))
        parts.append(("compact op headers", 1, head))
        parts.append((Op(op).name, 1, len(payload)))
        ops.append((Op(op).name, x, y, w, h, len(payload)))
    return parts, UpdateEntry(0.0, len(data) + FRAMING, False, tuple(ops), compact=True)


@dataclass(slots=True)
class Ledger:
    """The messages of one session, both directions, as ``(time, row, count,
    bytes)``; updates also as :class:`UpdateEntry`. Times are ``clock()``."""

    clock: Callable[[], float]
    parts: dict[Direction, list[tuple[float, str, int, int]]] = field(
        default_factory=lambda: {"down": [], "up": []})  # fmt: skip
    updates: list[UpdateEntry] = field(default_factory=list)
    #: ``(time, wire bytes)`` of each message in compact form: every delta
    #: the host could send as a compact one and every receipt the viewer
    #: could send as a compact one (each built as the sender would; what
    #: went compact is counted as sent).
    compact: dict[Direction, list[tuple[float, int]]] = field(
        default_factory=lambda: {"down": [], "up": []})  # fmt: skip
    _receipts: ReceiptSizer = field(default_factory=ReceiptSizer)
    _link: CompactState = field(default_factory=CompactState)

    def note(self, direction: Direction, data: bytes) -> None:
        t = self.clock()
        parts, update = classify(data)
        self.parts[direction].extend((t, row, n, b) for row, n, b in parts)
        size = len(data)
        if update is not None and direction == "down":
            self.updates.append(UpdateEntry(t, update.wire, update.keyframe, update.ops,
                                            update.hashed, update.compact))  # fmt: skip
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
        compact = compact_update(self._link, seq, data[6:])
        self._link.note(seq, data[6:])
        return len(data) if compact is None else len(compact)

    def breakdown(self, direction: Direction, start: float, end: float
                  ) -> dict[str, dict[str, int]]:  # fmt: skip
        """``{row: {"count", "bytes"}}`` of what arrived in ``(start, end]``,
        rows in :data:`ROWS` order, empty rows left out."""
        sums: dict[str, list[int]] = {}
        for t, row, n, b in self.parts[direction]:
            if start < t <= end:
                s = sums.setdefault(row, [0, 0])
                s[0] += n
                s[1] += b
        order = {row: i for i, row in enumerate(ROWS)}
        return {row: {"count": c, "bytes": b}
                for row, (c, b) in sorted(sums.items(), key=lambda kv: order.get(kv[0], 99))}

    def shapes(self, start: float, end: float) -> dict[str, dict[str, int]]:
        """Updates that arrived in ``(start, end]`` grouped by their ops (``FILL``,
        ``FILL+ZSTREAM``, ``compact FILL`` for a compact delta, ...): ``{"updates",
        "wire", "payload"}`` summed, so a caret's blink or a clock's tick can
        be read as payload against the rest (headers and framing)."""
        out: dict[str, dict[str, int]] = {}
        for u in self.updates:
            if start < u.t <= end:
                kind = "keyframe " if u.keyframe else "compact " if u.compact else ""
                key = kind + ("+".join(o[0] for o in u.ops) or "empty")
                s = out.setdefault(key, {"updates": 0, "wire": 0, "payload": 0})
                s["updates"] += 1
                s["wire"] += u.wire
                s["payload"] += sum(o[5] for o in u.ops)
        return out

    def report(self, start: float, end: float, link_bytes: Mapping[str, int | None]
               ) -> dict[str, Any]:  # fmt: skip
        """The window's breakdown in both directions, JSON-ready. ``link_bytes``:
        what the link delivered in the window per direction (None: unknown),
        from which ``unattributed`` (keepalives, close, edges) is derived."""
        out: dict[str, Any] = {"start": start, "end": end, "seconds": end - start}
        directions: tuple[Direction, ...] = ("down", "up")
        for direction in directions:
            rows = self.breakdown(direction, start, end)
            counted = sum(r["bytes"] for r in rows.values())
            on_link = link_bytes.get(direction)
            if on_link is not None and on_link != counted:
                rows["unattributed"] = {"count": 0, "bytes": on_link - counted}
            total = counted if on_link is None else on_link
            compact = sum(b for t, b in self.compact[direction] if start < t <= end)
            secs = max(end - start, 1e-9)
            out[direction] = {"rows": rows, "bytes": total, "kbit_s": total * 8 / 1000 / secs,
                              # what .compact's messages would have carried instead
                              "compact_bytes": compact,
                              "compact_kbit_s": compact * 8 / 1000 / secs}  # fmt: skip
        shapes = self.shapes(start, end)
        out["updates"] = dict(sorted(shapes.items(), key=lambda kv: -kv[1]["updates"])[:8])
        return out


class CountingChannel(ChannelTap):
    """A :class:`Channel` that notes every message it receives in a
    :class:`Ledger` under ``direction`` (what the peer sent to us)."""

    def __init__(self, inner: Channel, ledger: Ledger, direction: Direction) -> None:
        super().__init__(inner)
        self.ledger = ledger
        self.direction: Direction = direction

    def on_received(self, message: bytes, /) -> None:
        self.ledger.note(self.direction, message)

