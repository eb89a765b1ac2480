"""The linkbench's byte ledger: every byte of a session by what it carries.

One update cut by hand against the ledger's cut, then a short idle session
(the real Host and Viewer, the sealed channel, the shaping proxy in its own
process) whose second half the ledger accounts for, byte for byte.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from screencodec import ScreenEncoder
from screencodec.capture.replay import synthetic_sequence
from screencodec.linkbench import FRAMING, format_ledger, parse_link, run_session
from screencodec.linkbench.compact import ReceiptSizer
from screencodec.linkbench.ledger import classify
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import CompactState, compact_update
from screencodec.wire import Op


def test_an_update_is_cut_into_headers_op_headers_and_payloads() -> None:
    enc = ScreenEncoder(64, 48)
    frame = np.zeros((48, 64, 4), np.uint8)
    link = CompactState()
    link.note(6, enc.encode(frame))
    frame[10:30, 5:7, :3] = 40  # a caret
    delta = enc.encode(frame)
    data = m.encode(m.Update(7, delta))
    parts, update = classify(data)
    rows = {row: (n, b) for row, n, b in parts}
    assert rows["framing"] == (1, FRAMING)
    assert rows["update headers"] == (1, 6 + 8 + 16)  # session; codec message + update
    assert update is not None and not update.keyframe
    assert [op for op, *_ in update.ops] == ["FILL"]
    assert update.ops[0][1:] == (5, 10, 2, 20, 3)
    assert rows["op headers"] == (1, 14) and rows["FILL"] == (1, 3)
    assert sum(b for _, _, b in parts) == len(data) + FRAMING == update.wire
    # As a compact delta: kind, then the op's tag, x, y, w, h (a byte each
    # here) and the colour; no length (FILL's is fixed), no update header.
    compact = compact_update(link, 7, delta)
    assert compact is not None and len(compact) == 2 + 1 + 4 + 3
    parts, update = classify(compact)
    rows = {row: (n, b) for row, n, b in parts}
    assert rows["compact headers"] == (1, 2) and rows["compact op headers"] == (1, 5)
    assert rows["FILL"] == (1, 3) and "update headers" not in rows
    assert update is not None and update.compact and update.ops[0] == ("FILL", 5, 10, 2, 20, 3)
    stats = m.encode(m.Stats(1000, 2, 40_000, 0, 9))
    assert classify(stats) == ([("framing", 1, FRAMING), ("Stats", 1, 22)], None)


def test_an_idle_session_is_accounted_for_byte_by_byte() -> None:
    frames = synthetic_sequence("idle", 320, 240, seconds=3.0, incremental=True)
    r = asyncio.run(asyncio.wait_for(run_session(frames, parse_link("4M,40ms"), name="idle"), 60))
    led = r.extra["ledger"]
    down, up = led["down"]["rows"], led["up"]["rows"]
    # The viewer takes compact deltas: after the join keyframe, every update is one.
    full = down.get("update headers", {"count": 0, "bytes": 0})
    compact = down["compact headers"]
    updates = full["count"] + compact["count"]
    assert compact["count"] >= 2  # a caret blinks about twice a second
    assert full["bytes"] == 30 * full["count"] and compact["bytes"] == 2 * compact["count"]
    ops = down.get("op headers", {"count": 0})["count"] + down["compact op headers"]["count"]
    assert {"FILL", "ZSTREAM"} >= {row for row in down if row in Op.__members__}
    assert sum(down[row]["count"] for row in down if row in Op.__members__) == ops
    messages = updates + sum(down[row]["count"] for row in ("Stats", "Cursor", "control")
                             if row in down)  # fmt: skip
    assert down["framing"] == {"count": messages, "bytes": FRAMING * messages}
    # The viewer answers every update with a receipt: after the host's first
    # compact delta a compact one (7-10 bytes here; 22 in full), so in the
    # second half nothing but compact ones.
    assert "Receipt" not in up
    receipts = up["compact receipt"]
    assert 7 * receipts["count"] <= receipts["bytes"] <= 10 * receipts["count"]
    assert abs(receipts["count"] - updates) <= 1  # one may cross the window's edge
    # A caret's blink: 3 bytes of colour in 28 on the wire when its rect is a
    # reference (kind 28), 32-36 when spelled out (68 as an Update).
    fill = led["updates"]["compact FILL"]
    assert fill["payload"] == 3 * fill["updates"]
    assert 28 * fill["updates"] <= fill["wire"] <= 36 * fill["updates"]
    assert sum(v["updates"] for v in led["updates"].values()) == updates
    # What the proxy delivered is what the ledger counted, up to a message at an edge.
    for direction in ("down", "up"):
        rows = led[direction]["rows"]
        assert abs(rows.get("unattributed", {"bytes": 0})["bytes"]) <= 300
    assert led["down"]["kbit_s"] > 0 and led["up"]["kbit_s"] > 0
    # Every delta and every receipt went compact: nothing is left for the
    # compact column to save.
    for direction in ("down", "up"):
        sent = led[direction]["bytes"] - rows_unattributed(led, direction)
        assert led[direction]["compact_bytes"] == sent
    table = format_ledger([r])
    assert "host -> viewer  compact headers" in table
    assert "viewer -> host  compact receipt" in table


def rows_unattributed(led: dict[str, Any], direction: str) -> int:
    return int(led[direction]["rows"].get("unattributed", {"bytes": 0})["bytes"])


def test_a_compact_receipt_codes_each_receipt_against_the_one_before() -> None:
    sizer = ReceiptSizer()
    first = m.encode(m.Receipt(41, 5_000_000, 120, m.Receipt.NO_SPAN))
    assert sizer.size(first) == len(first) == 22  # nothing to code it against
    # The next update 0.25 s later: seq +1 (1 byte), 250000 us (3), held 120 us
    # (1), no span (1), after the kind (2).
    assert sizer.size(m.encode(m.Receipt(42, 5_250_000, 120, m.Receipt.NO_SPAN))) == 8
    assert sizer.size(m.encode(m.Receipt(43, 5_250_300, 20_000, 70))) == 2 + 1 + 2 + 3 + 1
