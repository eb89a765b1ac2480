"""The byte ledger accounts for exactly the bytes the link delivered in its
window, none negative, when the window's edges cut through messages.

A session's real messages (the encoder's keyframe and deltas, full Updates
and compact deltas built as the host builds them, a Stats) are laid on a
byte stream with records the ledger never sees (the handshake, a keepalive,
the closing record) and delivered by a link model as the shaping proxy
delivers them: each record cut into packets of at most 1500 bytes at
4 Mbit/s, one log entry per packet, stamped as the proxy stamps a write:
just before making it. The viewer receives each message when its last
packet is in, a moment after the proxy stamped that packet's write or a few
packets late, never before the stamp. Each byte of the stream knows what it carries
(the record's head, the message's parts in order, its tag), so the expected
rows of a window are counted straight from the stream.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pytest

from screencodec import ScreenEncoder
from screencodec.linkbench import DirectionStats
from screencodec.linkbench.ledger import FRAMING, CountingChannel, Ledger, classify
from screencodec.transport.channel.base import Channel
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import CompactState, compact_update, next_seq

RATE = 500_000  # bytes/s: 4 Mbit/s
PACKET = 1500
HANDSHAKE = 96  # what the handshake delivers to the viewer (unseen by the ledger)


@dataclass
class Stream:
    """The down direction of a session: its records in order and, per byte,
    what it carries; the link's delivery log; when the viewer got each
    message. The sender writes records; the proxy reads what was written
    at once (:meth:`read`) and delivers it in packets."""

    labels: list[str] = field(default_factory=list)  # one per byte
    counted_at: list[tuple[int, str]] = field(default_factory=list)  # (end offset, row)
    stats: DirectionStats = field(default_factory=DirectionStats)
    received: list[tuple[float, bytes]] = field(default_factory=list)
    unread: list[tuple[int, bytes, float]] = field(default_factory=list)
    busy_until: float = 0.0

    def unseen(self, size: int) -> None:
        self.labels += ["unattributed"] * size

    def message(self, data: bytes, viewer_delay: float = 1e-4) -> None:
        """Write ``data``; the viewer takes it ``viewer_delay`` (> 0) after the
        proxy stamped the write of its last packet."""
        parts, _ = classify(data)
        assert parts[0] == ("framing", 1, FRAMING)
        wire = [("framing", 0, 5), *parts[1:], ("framing", 1, FRAMING - 5)]
        for row, n, size in wire:
            self.labels += [row] * size
            if n:
                self.counted_at.append((len(self.labels), row))
        self.unread.append((len(self.labels), data, viewer_delay))

    def read(self, at: float) -> float:
        """The proxy reads all that was written at ``at`` and delivers it at
        4 Mbit/s in packets, logging each; returns when it is all in."""
        t = max(self.busy_until, at)
        while self.stats.bytes_out < len(self.labels):
            n = min(len(self.labels) - self.stats.bytes_out, PACKET)
            t += n / RATE
            self.stats.bytes_out += n
            self.stats.deliveries.append((t, self.stats.bytes_out))
        for end, data, delay in self.unread:
            logged = next(t for t, total in self.stats.deliveries if total >= end)
            self.received.append((logged + delay, data))
        self.unread.clear()
        self.busy_until = t
        return t

    def time_of(self, offset: int) -> float:
        """When the proxy logged the packet with byte ``offset``."""
        return next(t for t, total in self.stats.deliveries if total > offset)

    def expected(self, start: float, end: float) -> dict[str, dict[str, int]]:
        """Rows of the bytes delivered in ``(start, end]``, straight from the stream."""
        lo = self.stats.bytes_between(-1.0, start)
        hi = lo + self.stats.bytes_between(start, end)
        got = Counter(self.labels[lo:hi])
        counts = Counter(row for at, row in self.counted_at if lo < at <= hi)
        return {row: {"count": counts[row] if row != "unattributed" else 0, "bytes": got[row]}
                for row in got}  # fmt: skip


class Host:
    """The host's side of the session's messages: the real encoder, and each
    update sent compact when it may be (as ``streaming`` sends it)."""

    def __init__(self) -> None:
        # rect_cost=1: scattered changes stay apart, so one delta has more
        # ops than a compact delta may carry.
        self.encoder = ScreenEncoder(640, 256, tile_size=16, rect_cost=1)
        self.link = CompactState()
        self.seq = 0
        y, x = np.mgrid[0:256, 0:640]
        self.frame = np.zeros((256, 640, 4), np.uint8)
        self.frame[..., 0], self.frame[..., 1], self.frame[..., 2] = x % 256, y, 90
        self.rng = np.random.default_rng(7)

    def update(self) -> bytes:
        self.seq = next_seq(self.seq)
        data = self.encoder.encode(self.frame.copy())
        message = compact_update(self.link, self.seq, data)
        self.link.note(self.seq, data)
        return m.encode(m.Update(self.seq, data)) if message is None else message

    def caret(self, x: int) -> bytes:
        self.frame[10:30, x : x + 2, :3] = (40, 40, 40)
        return self.update()

    def picture(self, x: int, y: int) -> bytes:
        """A 64x64 block of noise: a delta of several kB."""
        self.frame[y : y + 64, x : x + 64, :3] = self.rng.integers(0, 256, (64, 64, 3))
        return self.update()

    def scattered(self) -> bytes:
        """Small changes in 320 tiles apart: 320 ops, more than a compact delta takes."""
        for ty in range(0, 256, 16):
            for tx in range(0, 640, 32):
                dx = tx + 5 + (ty // 16 % 2) * 16
                self.frame[ty + 3 : ty + 5, dx : dx + 4, :3] = self.rng.integers(0, 256, 3)
        return self.update()


def kind(data: bytes) -> str:
    return {1: "full", 26: "compact"}.get(data[1], "other")


Session = tuple[Stream, Ledger, dict[str, float]]


def play(*, close: bool, last_read: float = 1e-4) -> Session:
    """A keyframe, an idle stretch (caret blinks, a keepalive, Stats), then a
    burst the host writes at once (a full delta of 320 ops among compact
    ones of a few kB), idle again and, if ``close``, the closing record
    half a second later. ``last_read``: how long after its write the viewer
    read the last message."""
    host, s = Host(), Stream()
    s.unseen(HANDSHAKE)
    s.read(0.0)
    s.message(host.update())  # the keyframe, a full Update
    s.read(0.01)
    for k in range(4):
        s.message(host.caret(100 + 4 * k))
        s.read(0.5 + 0.5 * k)
    s.unseen(21)  # a keepalive
    s.read(2.6)
    s.message(m.encode(m.Stats(1000, 2, 40_000, 0, 9)))
    s.read(2.8)
    s.message(host.picture(0, 0))
    s.message(host.picture(64, 0), viewer_delay=1e-6)  # as soon as it was written
    s.message(host.scattered())
    s.message(host.picture(128, 64), viewer_delay=0.008)  # the viewer was busy
    s.message(host.picture(192, 64))
    s.message(host.picture(256, 128))
    s.message(host.caret(140))
    s.read(3.0)
    s.message(host.caret(144), viewer_delay=last_read)
    s.read(4.0)
    if close:
        s.unseen(21 + len("bye"))
        s.read(4.5)
    clock = iter(t for t, _ in s.received)
    ledger = Ledger(lambda: next(clock))
    for _, data in s.received:
        ledger.note("down", data)
    assert [kind(d) for _, d in s.received] == [
        "full", *["compact"] * 4, "other", "compact", "compact", "full", *["compact"] * 5,
    ]  # fmt: skip
    # The window starts a third of the way into the full delta (its headers
    # came before) and ends in the compact delta two after it.
    head = s.labels.index("update headers", HANDSHAKE + 100)  # the keyframe's is at 101
    full_end = next(at for at, row in s.counted_at if at > head and row == "framing")
    marks = {"start": s.time_of(head + (full_end - head) // 3) - 1e-6,
             "end": s.received[10][0] - 0.01, "idle": s.received[12][0] + 0.1}  # fmt: skip
    return s, ledger, marks


@pytest.fixture(scope="module")
def session() -> Session:
    return play(close=False)


def check(rows: dict[str, dict[str, int]], expected: dict[str, dict[str, int]], on_link: int
          ) -> None:  # fmt: skip
    assert all(r["bytes"] >= 0 and r["count"] >= 0 for r in rows.values()), rows
    assert sum(r["bytes"] for r in rows.values()) == on_link
    assert rows == expected


def test_a_window_cut_through_a_full_update_counts_only_its_delivered_bytes(
    session: Session,
) -> None:
    s, ledger, marks = session
    start, end = marks["start"], marks["end"]
    on_link = s.stats.bytes_between(start, end)
    report = ledger.report(start, end, {"down": on_link, "up": None},
                           deliveries={"down": s.stats.deliveries})  # fmt: skip
    rows = report["down"]["rows"]
    expected = s.expected(start, end)
    check(rows, expected, on_link)
    assert report["down"]["bytes"] == on_link
    # Part of the full delta: some of its op headers, none of its update header.
    assert "update headers" not in rows and 0 < rows["op headers"]["count"] < 320
    # The compact delta after it whole, and the head of the one cut at the end.
    assert rows["compact headers"]["count"] == 2 and rows["framing"]["count"] == 2
    assert "unattributed" not in rows  # nothing unseen in the window


def test_the_whole_session_leaves_only_the_unseen_records_unattributed(
    session: Session,
) -> None:
    s, ledger, _ = session
    on_link = s.stats.bytes_out
    report = ledger.report(-1.0, 10.0, {"down": on_link}, deliveries={"down": s.stats.deliveries})
    rows = report["down"]["rows"]
    check(rows, s.expected(-1.0, 10.0), on_link)
    assert rows["unattributed"]["bytes"] == HANDSHAKE + 21
    assert rows["framing"] == {"count": len(s.received), "bytes": FRAMING * len(s.received)}
    assert rows == {**ledger.breakdown("down", -1.0, 10.0), "unattributed": rows["unattributed"]}


def test_without_the_log_a_short_window_is_cut_from_its_first_message(
    session: Session,
) -> None:
    """Only the window's byte count: the bytes its messages hold beyond it
    came before the window (the link was carrying the full delta at its
    start; the window ends with the link idle)."""
    s, ledger, marks = session
    start, end = marks["start"], marks["idle"]
    on_link = s.stats.bytes_between(start, end)
    report = ledger.report(start, end, {"down": on_link, "up": None})
    check(report["down"]["rows"], s.expected(start, end), on_link)


def test_an_unseen_record_after_the_last_message_read_leaves_the_cut_exact() -> None:
    """The closing record comes after every message, in a write the proxy
    made after the viewer read the last one: no message may be placed in
    it (with the write stamped after it was made, the session's last caret
    blink was placed in the closing record's write, past the window's end)."""
    s, ledger, marks = play(close=True)
    start, end = marks["start"], marks["end"]
    on_link = s.stats.bytes_between(start, end)
    rows = ledger.report(start, end, {"down": on_link},
                         deliveries={"down": s.stats.deliveries})["down"]["rows"]  # fmt: skip
    check(rows, s.expected(start, end), on_link)
    tail = s.received[-1][0]
    report = ledger.report(tail - 0.1, tail + 0.1, {"down": None},
                           deliveries={"down": s.stats.deliveries})  # fmt: skip
    assert report["down"]["rows"]["compact headers"]["count"] == 1
    assert sum(v["updates"] for v in report["updates"].values()) == 1


def test_an_unseen_record_the_viewer_read_past_shifts_the_cut_by_its_bytes_at_most() -> None:
    """The viewer read the last message only after the proxy wrote the
    closing record: the ledger cannot tell the record from a gap before the
    messages, so it may place them up to its 24 bytes late. The rows still
    add up to the link's bytes, none negative."""
    s, ledger, marks = play(close=True, last_read=0.6)
    start, end = marks["start"], marks["end"]
    on_link = s.stats.bytes_between(start, end)
    rows = ledger.report(start, end, {"down": on_link},
                         deliveries={"down": s.stats.deliveries})["down"]["rows"]  # fmt: skip
    assert all(r["bytes"] >= 0 and r["count"] >= 0 for r in rows.values()), rows
    assert sum(r["bytes"] for r in rows.values()) == on_link
    expected = s.expected(start, end)
    off = sum(abs(rows.get(k, {"bytes": 0})["bytes"] - expected.get(k, {"bytes": 0})["bytes"])
              for k in {*rows, *expected})  # fmt: skip
    assert off <= 2 * 24


def test_an_update_delivered_before_the_window_but_read_in_it_is_in_neither_table(
    session: Session,
) -> None:
    """The viewer was busy: it read an update 8 ms after the proxy wrote
    it. A window starting between the two has none of its bytes, so neither
    its rows nor its updates table count it (by receipt, the table did).
    An update counts where its last byte is, as its record's ``framing``
    does (the next one's headers came before the window, its tail in it)."""
    s, ledger, _ = session
    busy = s.received[9][0]  # picture(128, 64), read 8 ms late
    start, end = busy - 0.004, busy + 1.5
    report = ledger.report(start, end, {"down": None}, deliveries={"down": s.stats.deliveries})
    rows = report["down"]["rows"]
    check(rows, s.expected(start, end), s.stats.bytes_between(start, end))
    received = [data for t, data in s.received if start < t <= end]
    assert len(received) == 5 and all(kind(d) != "other" for d in received)
    assert rows["framing"]["count"] == 4 and rows["compact headers"]["count"] == 3
    assert sum(v["updates"] for v in report["updates"].values()) == 4
    assert sum(v["updates"] for v in ledger.shapes(start, end).values()) == 5


def test_a_close_with_last_messages_is_noted_before_it_lingers() -> None:
    """``Viewer.bye`` closes through ``close_with``, whose linger reads the
    peer's closing record: the ledger notes the close when it starts, so
    that record bounds no message (noted after, it moved the last one)."""

    seen: list[float | None] = []

    class Lingering:
        closed = False

        async def close_with(self, *last: bytes, reason: str) -> None:
            seen.append(ledger.closed_at.get("down"))

    ticks = iter([1.0, 2.0])
    ledger = Ledger(lambda: next(ticks))
    channel = CountingChannel(cast(Channel, Lingering()), ledger, "down")
    asyncio.run(channel.close_with(b"bye"))
    assert seen == [1.0] and ledger.closed_at == {"down": 1.0}
