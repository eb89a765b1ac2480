"""A Page Down painted over several frames (pages44): Chromium paints one in
2-3 frames 50 ms apart, each under a quarter of the screen (an article's
column), so pgdn44's rule, one update at a time, sent every part exact and
the parts queued on a slow link one behind the other. Seen together (the
text changed over ``_PAGE_WINDOW``), the parts after the first take what is
left of ``delta_picture`` seconds of the rate after the link time still
pending, and refinement paints the rest in, top down, to exact.

Round trip through the real encoder (lossy, history stream, hash on every
update) and decoder, as a viewer runs them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from test_pgdn44_page_down import (
    INTERVAL,
    RATE,
    WHITE,
    H,
    W,
    first_page_exact,
    glyph_ink,
    refine_top_down,
)

from screencodec.quality import LossyOptions

pytest.importorskip("av")

#: The article's column: 30 % of the screen; each half of it, 15 %.
X0, X1 = 448, 832
HALF = H // 2


def column(seed: int) -> npt.NDArray[np.uint8]:
    """A screen of white with a column of glyph text (8x14 cells of random
    5x9 bitmaps, ink 20: test_pgdn44's page)."""
    ink = glyph_ink(np.random.default_rng(seed), H // 14 + 1, (X1 - X0) // 8)[:H]
    out = np.full((H, W, 4), WHITE, np.uint8)
    out[:, X0:X1][ink, :3] = 20
    return out


def test_a_page_in_two_parts_takes_delta_picture_then_is_refined() -> None:
    before, after = column(1), column(2)
    part = before.copy()
    part[:HALF] = after[:HALF]  # the first frame of the Page Down: its top half
    enc, dec, t = first_page_exact(before)
    for _ in range(10):  # the link idle for half a second
        dec.decode(enc.encode(before, now=t))
        t += INTERVAL

    sizes = []
    for f in (part, after):
        data = enc.encode(f, now=t)
        t += INTERVAL
        sizes.append(len(data))
        fb = dec.decode(data)
    # Each part alone is under pgdn44's quarter and within delta_picture
    # (the first is sent whole, exact); together they are not.
    most = RATE * LossyOptions().delta_picture / 8
    assert sizes[0] < most, sizes
    assert np.array_equal(fb[:HALF, :, :3], after[:HALF, :, :3])
    # The second part: what is left of delta_picture after the first part's
    # bytes not yet through the link, or the budget, and one row of blocks
    # (64 rows of the column, the row that crossed it) at most.
    row = sizes[0] * 64 / HALF
    left = max(RATE * INTERVAL / 8, most - (sizes[0] - RATE * INTERVAL / 8))
    assert sizes[1] < left + row + 512, (sizes, left, row)
    below = (fb[HALF:, :, :3] != after[HALF:, :, :3]).any(axis=(1, 2))
    assert below.any(), "the second part all exact"
    top = HALF + int(np.argmax(below))
    assert (fb[top:, :, :3] == WHITE).all(), "below the exact rows: not the page's background"

    fb, tops, _ = refine_top_down(enc, dec, after, t, top)  # top down, exact in the end
    assert tops == sorted(tops), f"not painted top down: {tops}"
    assert np.array_equal(fb[..., :3], after[..., :3])
    enc.close()
