"""attack2: x11damage's reply validator and reader with more hostile
answers than tests/capture/test_x11damage.py: int16/uint16 extremes, the
rectangle limit at its edge, lists of odd lengths, a reply exactly at the
size bound and one past it, a reply split across the reader's 64 KB reads
behind thousands of events, SendEvent-flagged events with a reply's code,
and a reply whose rectangles lie outside its own extents by one pixel.
Whatever comes back is either None (no hint: a full compare) or rects
inside the extents the same reply gave."""

from __future__ import annotations

import socket
import struct
import threading

import numpy as np
import pytest

from screencodec.capture.x11damage import (
    MAX_RECTS,
    MAX_REPLY_BYTES,
    _region_reply,
    parse_region,
)
from screencodec.capture.x11wire import XWire

from .test_x11damage import _event, _reply, _wire, wire

__all__ = ["wire"]  # the fake server's socket pair, a fixture used here


@pytest.mark.parametrize(("rects", "extents", "expect"), [
    # int16 / uint16 extremes that fit their extents
    ([(-32768, -32768, 65535, 65535)], (-32768, -32768, 65535, 65535),
     [[-32768, -32768, 65535, 65535]]),
    ([(32767, 32767, 65535, 65535)], (32767, 32767, 65535, 65535), [[32767, 32767, 65535, 65535]]),
    # one pixel past the extents on each side: refused
    ([(0, 0, 11, 10)], (0, 0, 10, 10), None),
    ([(0, 0, 10, 11)], (0, 0, 10, 10), None),
    ([(-1, 0, 1, 1)], (0, 0, 10, 10), None),
    ([(0, -1, 1, 1)], (0, 0, 10, 10), None),
    # empty rectangles dropped, even outside the extents
    ([(500, 500, 0, 9), (1, 1, 2, 2)], (0, 0, 10, 10), [[1, 1, 2, 2]]),
    # at the limit: the list; one more: the extents
    ([(i % 64, i // 64, 1, 1) for i in range(MAX_RECTS)], (0, 0, 64, 64), "list"),
    ([(i % 64, i // 64, 1, 1) for i in range(MAX_RECTS)] + [(0, 0, 1, 1)], (0, 0, 64, 64),
     [[0, 0, 64, 64]]),
])  # fmt: skip
def test_region_replies_at_the_edges(rects: list[tuple[int, int, int, int]],
                                     extents: tuple[int, int, int, int],
                                     expect: object) -> None:  # fmt: skip
    got = parse_region(_wire(rects), extents)
    if expect is None:
        assert got is None
    elif expect == "list":
        assert got is not None and got.tolist() == [list(r) for r in rects]
    else:
        assert got is not None and got.tolist() == expect


@pytest.mark.parametrize("extra", [1, 2, 4, 7, 9])
def test_a_list_that_is_not_whole_rectangles_is_refused(extra: int) -> None:
    assert parse_region(_wire([(1, 1, 2, 2)]) + b"\0" * extra, (0, 0, 10, 10)) is None
    # in a whole reply too (a length in 4-byte words can hold 1.5 rectangles)
    head = struct.pack("=BBHI", 1, 0, 7, 3) + struct.pack("=hhHH", 0, 0, 10, 10) + bytes(16)
    assert _region_reply(head + _wire([(1, 1, 2, 2)]) + b"\0" * 4) is None
    assert _region_reply(head[:31]) is None


def test_the_rows_in_every_reply_lie_inside_its_extents() -> None:
    # Random lists, each refused or every row inside (the fast path too).
    rng = np.random.default_rng(7)
    kept = 0
    for n in (1, 5, 32, 33, 200, 4096):
        for _ in range(50):
            ex = (int(rng.integers(-100, 100)), int(rng.integers(-100, 100)),
                  int(rng.integers(0, 300)), int(rng.integers(0, 300)))  # fmt: skip
            rects = [(int(rng.integers(ex[0] - 3, ex[0] + ex[2] + 3)),
                      int(rng.integers(ex[1] - 3, ex[1] + ex[3] + 3)),
                      int(rng.integers(0, 20)), int(rng.integers(0, 20)))
                     for _ in range(n)]  # fmt: skip
            got = parse_region(_wire(rects), ex)
            if got is None:
                continue
            kept += 1
            assert got.dtype == np.int32 and got.shape[1] == 4
            assert (got[:, 2] > 0).all() and (got[:, 3] > 0).all()
            assert (got[:, 0] >= ex[0]).all() and (got[:, 0] + got[:, 2] <= ex[0] + ex[2]).all()
            assert (got[:, 1] >= ex[1]).all() and (got[:, 1] + got[:, 3] <= ex[1] + ex[3]).all()
    assert kept > 20, kept  # not every list refused: the rows were looked at


def _send_all(server: socket.socket, data: bytes) -> threading.Thread:
    t = threading.Thread(target=server.sendall, args=(data,), daemon=True)
    t.start()
    return t


def test_a_reply_behind_thousands_of_events_across_reads(wire: tuple[XWire, socket.socket]
                                                          ) -> None:  # fmt: skip
    w, server = wire
    body = _wire([(1, 2, 3, 4)] * 3000)  # 24,000 bytes
    # After the reply, an event sent with SendEvent whose code is a reply's
    # (0x81) and whose bytes 4-8 would be a reply's length: 32 bytes.
    sent = struct.pack("=BBHI", 0x80 | 1, 0, 7, 1000) + bytes(24)
    data = b"".join(_event(6) for _ in range(5000)) + _reply(7, body) + sent + _event(8)
    sender = _send_all(server, data)
    got = w.reply(7, timeout=30)
    sender.join(30)
    assert got == _reply(7, body) and w.event_seq == 6
    w.poll()
    assert w.event_seq == 8


def test_a_reply_at_the_size_bound_is_read_and_one_past_it_refused(
        wire: tuple[XWire, socket.socket]) -> None:  # fmt: skip
    w, server = wire
    words = (MAX_REPLY_BYTES - 32) // 4
    body = bytes(4 * words)  # a million empty rectangles: the reply's extents
    sender = _send_all(server, _reply(7, body))
    got = w.reply(7, timeout=60)
    sender.join(60)
    assert len(got) == MAX_REPLY_BYTES
    region = _region_reply(got)
    assert region is not None and region.tolist() == [[0, 0, 9, 9]]
    server.sendall(_reply(8, b"", words=words + 1))
    with pytest.raises(ConnectionError, match=f"an X reply of {MAX_REPLY_BYTES + 4} bytes"):
        w.reply(8, timeout=30)
