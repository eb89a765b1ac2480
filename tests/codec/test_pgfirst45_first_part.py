"""A Page Down's first part (pgfirst45): Chromium paints a Page Down in 2
frames 50 ms apart, the first a scroll whose exposed strip is 5-8 % of the
screen (corpus browser-scroll: 20-23 kB of text blocks at 1 Mbit/s, a photo's
edge among them), which pages44's rule (12 % changed over its window) cannot
tell from a scroll: it went exact whole and the second part queued behind it.
Now any delta update whose text covers ``_PART_SHARE`` of the screen sends
its rows exact from the top only until they took ``delta_picture`` seconds of
the rate (the whole of it: a terminal's lines behind a backlog stay exact
unless they alone take more), the rest filled and refined top down.

Round trip through the real encoder (lossy, history stream, hash on every
update) and decoder, as a viewer runs them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from test_pgdn44_page_down import glyph_ink

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.quality import LossyOptions
from screencodec.wire import Op
from screencodec.wire.parse import parse_update, split_message

pytest.importorskip("av")

W, H = 1280, 720
RATE = 4e5
INTERVAL = 1 / 20
WHITE = 255

#: The part: a column 256 wide and 400 tall, 11 % of the screen (under
#: pages44's 12 %, over ``_PART_SHARE``'s 4 %).
X0, X1, PART = 512, 768, 400


def column(seed: int) -> npt.NDArray[np.uint8]:
    """White with a column of glyph text (8x14 cells of random 5x9 bitmaps in
    four inks: test_pgdn44's page, coloured as links and headings are)."""
    rng = np.random.default_rng(seed)
    rows = H // 14 + 1
    ink = glyph_ink(rng, rows, (X1 - X0) // 8)[:H]
    inks = np.array([[20, 20, 20], [200, 40, 10], [10, 120, 30], [90, 20, 160]], np.uint8)
    which = np.repeat(rng.integers(0, 4, rows), 14)[:H]
    out = np.full((H, W, 4), WHITE, np.uint8)
    block = out[:, X0:X1, :3]
    block[ink] = inks[np.broadcast_to(which[:, None], ink.shape)[ink]]
    return out


def test_a_large_first_part_takes_delta_picture_then_is_refined() -> None:
    before, after = column(1), column(2)
    part = before.copy()
    part[:PART] = after[:PART]  # the first frame of the Page Down
    enc = ScreenEncoder(W, H, lossy=True, history=True, integrity=True)
    enc.set_rate(RATE, interval=INTERVAL)
    dec = ScreenDecoder()
    t = 0.0
    for _ in range(400):  # the first page, until exact
        fb = dec.decode(enc.encode(before, now=t))
        t += INTERVAL
        if np.array_equal(fb[..., :3], before[..., :3]) and not enc.lossy_area:
            break
    else:
        pytest.fail("the first page never became exact")
    for _ in range(10):  # the link idle for half a second: nothing pending
        dec.decode(enc.encode(before, now=t))
        t += INTERVAL

    data = enc.encode(part, now=t)
    t += INTERVAL
    fb = dec.decode(data)
    assert np.array_equal(fb[..., :3], enc.reference[..., :3])
    # Exact, the part is more than delta_picture of the rate (what the rows
    # may take): measured apart, on an encoder without a rate.
    whole = ScreenEncoder(W, H, lossy=True, history=True)
    whole.encode(before)
    exact = len(whole.encode(part))
    whole.close()
    most = RATE * LossyOptions().delta_picture / 8
    assert exact > 1.3 * most, (exact, most)
    # Sent: delta_picture and one row of blocks (64 of the part's rows, the
    # row that crossed it) at most.
    row = exact * 64 / PART
    assert len(data) < most + row + 512, (len(data), exact, most, row)
    ops = parse_update(split_message(data)[1]).ops
    fills = [o.rect for o in ops if o.op == Op.FILL]
    assert fills, [o.op for o in ops]
    top = min(r.y for r in fills)
    assert top >= 64, f"only {top} rows of the part exact"
    assert (fb[top:PART, X0:X1, :3] == WHITE).all(), "below the exact rows: not the background"

    tops = [top]
    for _ in range(400):  # refinement: top down, exact in the end
        fb = dec.decode(enc.encode(part, now=t))
        t += INTERVAL
        same = (fb[..., :3] == part[..., :3]).all(axis=(1, 2))
        tops.append(H if same.all() else int(np.argmin(same)))
        if tops[-1] == H and not enc.lossy_area:
            break
    else:
        pytest.fail(f"never exact: rows exact from the top {tops[-10:]}")
    assert tops == sorted(tops), f"not painted top down: {tops}"
    assert np.array_equal(fb[..., :3], part[..., :3])
    enc.close()
