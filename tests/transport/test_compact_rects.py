"""Compact deltas with rect references (session kind 28): an op names a rect
both ends saw lately by its place in the recent-rects table. Round trips
byte for byte, the table's rules, the bytes a blink saves, the ledger's
rows, and real sessions: only to a viewer that declared COMPACT_RECTS, a bad
reference refused and the session recovering, both ends' tables in step
(a viewer that did not declare it ending the session on one:
test_compact_session.py)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ProtocolError
from screencodec.geometry import Rect
from screencodec.linkbench.ledger import FRAMING, CountingChannel, Ledger, classify
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import (
    MAX_COMPACT_OPS,
    REFS,
    CompactState,
    compact_update,
    expand_update,
    next_seq,
    parse_compact,
)
from screencodec.transport.session.viewer import default_capabilities
from screencodec.wire import Op
from screencodec.wire.build import EncodedOp, build_update, zstream_op

from .helpers import Freezable, run, until
from .test_compact_session import _WITH as _KIND26_ONLY
from .test_compact_session import _converge, _link, _session

_REFS_KIND = m.CompactUpdateRefs.KIND
_FULL = default_capabilities(compact=True)
_W, _H = 640, 480


def _fill(x: int, y: int, w: int, h: int, colour: bytes = b"abc") -> EncodedOp:
    return EncodedOp(Op.FILL, Rect(x, y, w, h), colour)


class _Link:
    """A host's and a viewer's link state, and the updates between them."""

    def __init__(self) -> None:
        self.host, self.viewer = CompactState(), CompactState()
        self.seq = self.codec_seq = 0
        self.wire = b""  #: the last message the host sent

    def send(self, ops: list[EncodedOp], *, keyframe: bool = False, refs: bool = True
             ) -> bytes | None:  # fmt: skip
        """Sends ``ops`` as the host would; returns the compact message (None:
        it went whole). The viewer's canonical form must be the update."""
        self.seq = next_seq(self.seq)
        data = build_update(self.codec_seq, _W, _H, ops, keyframe=keyframe)
        self.codec_seq += 1
        message = compact_update(self.host, self.seq, data, refs=refs)
        self.host.note(self.seq, data)
        got = self.viewer.canonical(m.encode(m.Update(self.seq, data)) if message is None
                                    else message)  # fmt: skip
        assert got == m.encode(m.Update(self.seq, data))
        self.wire = m.encode(m.Update(self.seq, data)) if message is None else message
        assert self.viewer.rects == self.host.rects
        return message


def _key() -> list[EncodedOp]:
    return [_fill(0, 0, _W, _H, b"\x10\x20\x30")]


def test_repeated_and_new_rects_round_trip_byte_for_byte() -> None:
    link = _Link()
    assert link.send(_key(), keyframe=True) is None
    caret, digit, other = (200, 150, 2, 16), (600, 10, 8, 12), (300, 400, 40, 9)
    message = link.send([_fill(*caret)])  # new: spelled out
    assert message is not None and message[:2] == bytes((1, _REFS_KIND))
    assert message[3] == caret[0] + REFS & 0x7F | 0x80  # x + REFS, a 2-byte varint
    message = link.send([_fill(*caret, b"xyz")])  # again: a reference to entry 0
    assert message == bytes((1, _REFS_KIND, Op.FILL | 0x08, 0)) + b"xyz"
    for _ in range(3):  # mixed ops, a rect twice in one update, new and old rects
        assert link.send([
            zstream_op(Rect(*digit), 0, b"zzzz", reset=True),
            EncodedOp(Op.RAW, Rect(*other), bytes(range(40))),
            _fill(*caret),
            EncodedOp(Op.COPY, Rect(*caret), b"\x00\x01\x00\x02"),
            zstream_op(Rect(*digit), 8 * 12 * 3, b"yy"),
        ]) is not None  # fmt: skip
    assert link.host.rects[:3] == [digit, caret, other]
    assert link.send([_fill(0, 0, 1, 1), _fill(*digit)]) is not None


def test_the_table_keeps_the_most_recent_distinct_rects_first_up_to_refs() -> None:
    link = _Link()
    link.send(_key(), keyframe=True)
    assert link.host.rects == [(0, 0, _W, _H)]
    link.send([_fill(1, 1, 1, 1), _fill(2, 2, 2, 2)])
    assert link.host.rects == [(2, 2, 2, 2), (1, 1, 1, 1), (0, 0, _W, _H)]
    link.send([_fill(1, 1, 1, 1)])  # moves to the front, not added twice
    assert link.host.rects == [(1, 1, 1, 1), (2, 2, 2, 2), (0, 0, _W, _H)]
    link.send([_fill(10 + k, 0, 1, 1) for k in range(REFS + 3)])
    assert link.host.rects == [(10 + k, 0, 1, 1) for k in range(REFS + 2, 2, -1)]
    link.send(_key(), keyframe=True)  # emptied before the keyframe's ops
    assert link.host.rects == [(0, 0, _W, _H)]
    link.send([_fill(5, 5, 1, 1)] * (MAX_COMPACT_OPS + 1))  # not walked: emptied
    assert link.host.rects == []


def test_an_update_cut_short_or_unreadable_empties_the_table() -> None:
    state = CompactState()
    key = build_update(0, _W, _H, [*_key(), _fill(3, 3, 3, 3)], keyframe=True)
    state.note(1, key)
    assert state.rects == [(3, 3, 3, 3), (0, 0, _W, _H)]
    delta = build_update(1, _W, _H, [zstream_op(Rect(1, 1, 4, 4), 0, b"abc", reset=True)])
    state.note(2, delta[:-6])  # its ZSTREAM op cut short
    assert state.rects == [] and state.zpos is None
    state.note(3, key)
    state.note(4, b"not an update at all, long enough for a header")
    assert state.rects == [] and not state.valid


def test_a_caret_blink_as_a_reference_is_five_bytes_shorter() -> None:
    link = _Link()
    link.send(_key(), keyframe=True)
    link.send([_fill(200, 150, 2, 16)])
    data = build_update(link.codec_seq, _W, _H, [_fill(200, 150, 2, 16, b"\x01\x02\x03")])
    seq = next_seq(link.seq)
    plain = compact_update(link.host, seq, data)
    with_refs = compact_update(link.host, seq, data, refs=True)
    assert plain is not None and with_refs is not None
    assert len(plain) - len(with_refs) == 5  # x, y: 2 bytes each, w, h: 1; a 1-byte ref
    assert len(with_refs) == 2 + 1 + 1 + 3


@pytest.mark.parametrize(("ref", "why"), [(1, "rect 1 of 1"), (REFS - 1, "rect 7 of 1")])
def test_a_reference_to_an_empty_entry_is_refused(ref: int, why: str) -> None:
    link = _Link()
    link.send(_key(), keyframe=True)
    body = bytes((Op.FILL | 0x08, ref)) + b"abc"
    with pytest.raises(ProtocolError, match=why):
        expand_update(link.viewer, body, refs=True)
    assert len(expand_update(link.viewer, bytes((Op.FILL | 0x08, 0)) + b"abc", refs=True)) > 0
    with pytest.raises(ProtocolError):
        link.viewer.canonical(bytes((1, _REFS_KIND)) + body)
    assert not link.viewer.valid and link.viewer.rects == []


def _leb(value: int) -> bytes:
    return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))


def test_a_spelled_out_rect_keeps_kind_26s_bounds() -> None:
    top = 16384 + REFS
    ok = bytes((Op.FILL | 0x08,)) + _leb(top) + bytes((0, 0, 1)) + b"abc"
    assert parse_compact(ok, []) == [(Op.FILL, 0, 16384, 0, 0, 1, b"abc")]
    over = bytes((Op.FILL | 0x08,)) + _leb(top + 1) + bytes((0, 1, 1)) + b"abc"
    with pytest.raises(ProtocolError, match="exceeds"):
        parse_compact(over, [])
    with pytest.raises(ProtocolError, match="exceeds"):  # kind 26: x itself, no offset
        parse_compact(bytes((Op.FILL | 0x08, 0x81, 0x80, 0x01, 0, 1, 1)) + b"abc")


_RECTS = st.tuples(st.integers(0, 300), st.integers(0, 200), st.integers(1, 40),
                   st.integers(1, 40))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(st.integers(0, 11), min_size=0, max_size=6)),
                min_size=1, max_size=25),
       st.lists(_RECTS, min_size=12, max_size=12))  # fmt: skip
def test_random_updates_round_trip_and_keep_both_tables_in_step(
    updates: list[tuple[bool, list[int]]], pool: list[tuple[int, int, int, int]]
) -> None:
    """Random keyframes and deltas over a pool of 12 rects (more than the
    table holds): each update's kind 28 form expands to it byte for byte, and
    the host's and the viewer's tables agree after each."""
    link = _Link()
    link.send(_key(), keyframe=True)
    for keyframe, picks in updates:
        ops = [_fill(*pool[k], bytes((k, k, k))) for k in picks]
        message = link.send(ops or _key(), keyframe=keyframe)
        assert (message is None) == keyframe


def test_random_and_mutated_bodies_are_expanded_or_refused_never_crash() -> None:
    rng = np.random.default_rng(11)
    link = _Link()
    link.send(_key(), keyframe=True)
    link.send([_fill(200, 150, 2, 16), _fill(9, 9, 9, 9)])
    message = link.send([_fill(200, 150, 2, 16), EncodedOp(Op.RAW, Rect(1, 2, 3, 4), bytes(36)),
                         _fill(500, 400, 3, 3)])  # fmt: skip
    assert message is not None
    for _ in range(1500):
        body = bytearray(message[2:])
        for _ in range(int(rng.integers(1, 4))):
            body[int(rng.integers(0, len(body)))] = int(rng.integers(0, 256))
        try:
            update = expand_update(link.viewer, bytes(body[: int(rng.integers(0, len(body) + 1))]),
                                   refs=True)  # fmt: skip
        except ProtocolError:
            continue
        assert update[:4] == b"SC\x01\x01"


def test_the_ledger_counts_a_referenced_rect_as_one_byte_of_op_header() -> None:
    ledger = Ledger(time.monotonic)
    link = _Link()
    for ops, keyframe in ((_key(), True), ([_fill(200, 150, 2, 16)], False),
                          ([_fill(200, 150, 2, 16)], False)):  # fmt: skip
        link.send(ops, keyframe=keyframe)
        ledger.note("down", link.wire)
    rows = ledger.breakdown("down", 0, time.monotonic() + 1)
    # tag + x, y (2 bytes each), w, h; then tag + reference
    assert rows["compact op headers"] == {"count": 2, "bytes": 1 + 6 + 1 + 1}
    assert rows["FILL"]["count"] == 3 and "control" not in rows
    assert ledger.updates[-1].ops == (("FILL", 200, 150, 2, 16, 3),)
    parts, _ = classify(bytes((1, _REFS_KIND, Op.FILL | 0x08, 0)) + b"abc")
    assert ("update body", 1, 7) in parts  # no table to refer to: not walked, never raises


# -- real sessions ---------------------------------------------------------------------


class Blinking(Freezable):
    """A 64 x 64 screen, flat but for a caret that blinks at every grab and
    a clock cell that counts: its keyframe is one op, so the recent-rects
    table has empty entries to refer to."""

    def __init__(self) -> None:
        super().__init__(SyntheticDesktop(64, 64, scenario="idle", seed=1))
        self.i = 0

    def grab(self) -> Any:
        self.grabs += 1
        if not self.frozen or self._last is None:
            self.i += 1
            frame = np.full((64, 64, 4), 60, np.uint8)
            if self.i % 2:
                frame[30:38, 40:42, :3] = 230
            frame[2:11, 50:58, :3] = 20 * (self.i // 3 % 5)
            self._last = frame
        return self._last


def test_only_a_viewer_that_declared_compact_rects_gets_kind_28() -> None:
    assert _FULL.flags & m.Capabilities.COMPACT_RECTS
    assert not _KIND26_ONLY.flags & m.Capabilities.COMPACT_RECTS
    assert not m.Capabilities.full(compact=False).flags & (
        m.Capabilities.COMPACT | m.Capabilities.COMPACT_RECTS)  # fmt: skip

    async def kinds(caps: m.Capabilities) -> set[int]:
        async with _session("typing", caps=caps) as (host, screen, viewer, _, tap):
            await until(lambda: viewer.decoded >= 40, what="40 updates")
            await _converge(viewer, screen)
            assert viewer.compact_refused == 0 and viewer.decode_errors == 0
            assert _link(host).stream.compact_sent >= 30
            return tap.kinds

    async def main() -> tuple[set[int], set[int]]:
        return await kinds(_KIND26_ONLY), await kinds(_FULL)

    old, new = run(main(), 60)
    assert m.CompactUpdate.KIND in old and _REFS_KIND not in old
    assert _REFS_KIND in new and m.CompactUpdate.KIND not in new


def test_a_bad_reference_is_refused_a_keyframe_follows_and_the_tables_agree() -> None:
    async def main() -> None:
        screen = Blinking()
        async with _session(caps=_FULL, screen=screen) as (host, screen, viewer, host_tap, _):
            stream = _link(host).stream
            host_tap.prefix = bytes((1, _REFS_KIND))
            await until(lambda: viewer.compact_received >= 5, what="the first compact deltas")
            assert len(stream._on_link.rects) < REFS  # entry 7 is empty
            refused, keyframes = viewer.compact_refused, stream.keyframes_sent
            asked = viewer.keyframe_requests
            host_tap.hostile.append(bytes((Op.FILL | 0x08, REFS - 1)) + b"abc")
            await until(lambda: viewer.compact_refused > refused, what="a refusal")
            await until(lambda: stream.keyframes_sent > keyframes, what="a keyframe")
            assert viewer.keyframe_requests > asked
            taken = viewer.compact_received - viewer.compact_refused
            await until(lambda: viewer.compact_received - viewer.compact_refused > taken + 3,
                        what="compact deltas taken again")  # fmt: skip
            assert not viewer.channel.closed
            await _converge(viewer, screen)
            host_state, viewer_state = stream._on_link, viewer._on_link
            await until(lambda: viewer_state.seq == host_state.seq, what="the last update")
            assert viewer_state.valid and host_state.valid
            assert viewer_state.rects == host_state.rects and viewer_state.rects

    run(main(), 60)


def test_an_idle_session_sends_blinks_as_references() -> None:
    """The synthetic idle desktop over loopback, its host -> viewer side in a
    ledger: once the caret's rect is in the table, a blink is a 1-byte
    reference (tag + reference + colour: 7 bytes, 28 on the wire)."""

    async def main() -> Ledger:
        ledger = Ledger(time.monotonic)
        async with _session("idle", caps=_FULL,
                            wrap_viewer=lambda ch: CountingChannel(ch, ledger, "down"),
                            ) as (_, _, viewer, _, _):  # fmt: skip
            await until(lambda: sum(1 for u in ledger.updates if u.wire == FRAMING + 7)
                        >= 2, 20, "two blinks by reference")  # fmt: skip
            assert viewer.decode_errors == 0 and viewer.compact_refused == 0
        return ledger

    ledger = run(main(), 60)
    blinks = [u for u in ledger.updates if [o[0] for o in u.ops] == ["FILL"] and u.compact]
    assert blinks and min(u.wire for u in blinks) == FRAMING + 7


def test_capabilities_round_trip_with_the_new_flag() -> None:
    caps = dataclasses.replace(_FULL, flags=m.Capabilities.COMPACT_RECTS | 0x8000)
    assert m.decode(m.encode(caps)) == dataclasses.replace(
        caps, flags=m.Capabilities.COMPACT_RECTS)  # a newer viewer's bit 15 dropped
