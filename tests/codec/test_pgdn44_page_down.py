"""A Page Down of a text page under a slow rate (pgdn44): the first update
carries the top of the new page exactly and fills the rest with the page's
background, within ``delta_picture`` seconds of the rate; refinement paints
the rest in, top down, until the viewer's picture is exact.

Round trip through the real encoder (lossy, history stream, hash on every
update) and decoder, as a viewer runs them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.quality import LossyOptions
from screencodec.wire import Op
from screencodec.wire.parse import parse_update, split_message

pytest.importorskip("av")

W, H = 1280, 720
OVERLAP = 40
RATE = 1e6
INTERVAL = 1 / 20
WHITE = 255
Frame = npt.NDArray[np.uint8]


def page(seed: int) -> Frame:
    """Two screens of glyph text: 8x14 cells of random 5x9 bitmaps, ink 20 on white."""
    rng = np.random.default_rng(seed)
    rows, cols = 2 * H // 14 + 1, W // 8
    glyphs = rng.random((96, 9, 5)) < 0.35
    glyphs[0] = False
    text = rng.integers(0, 96, (rows, cols))
    cells = np.zeros((rows, cols, 14, 8), np.bool_)
    cells[:, :, 3:12, 1:6] = glyphs[text]
    ink = cells.transpose(0, 2, 1, 3).reshape(rows * 14, cols * 8)
    out = np.full((*ink.shape, 4), WHITE, np.uint8)
    out[ink, :3] = 20
    return out


def exact_bytes(before: Frame, after: Frame) -> int:
    """The Page Down's update without a rate (text exact)."""
    enc = ScreenEncoder(W, H, lossy=True, history=True)
    enc.encode(before)
    size = len(enc.encode(after))
    enc.close()
    return size


def test_page_down_top_exact_at_once_the_rest_refined_to_exact() -> None:
    tall = page(44)
    before = np.ascontiguousarray(tall[:H])
    after = np.ascontiguousarray(tall[H - OVERLAP : 2 * H - OVERLAP])
    enc = ScreenEncoder(W, H, lossy=True, history=True, integrity=True)
    enc.set_rate(RATE, interval=INTERVAL)
    dec = ScreenDecoder()
    t = 0.0
    for _ in range(200):  # the first page, until exact
        fb = dec.decode(enc.encode(before, now=t))
        t += INTERVAL
        if np.array_equal(fb[..., :3], before[..., :3]) and not enc.lossy_area:
            break
    else:
        pytest.fail("the first page never became exact")

    data = enc.encode(after, now=t)
    t += INTERVAL
    fb = dec.decode(data)  # the hash: the viewer shows what the encoder holds
    assert np.array_equal(fb[..., :3], enc.reference[..., :3])
    ops = parse_update(split_message(data)[1]).ops
    # The top rows exact, the rest the page's white, filled (a FILL a block).
    fills = [o.rect for o in ops if o.op == Op.FILL]
    assert fills, [o.op for o in ops]
    top = min(r.y for r in fills)
    assert top >= 64, f"only {top} rows of the new page exact"
    assert np.array_equal(fb[:top, :, :3], after[:top, :, :3])
    assert (fb[top:, :, :3] == WHITE).all(), "below the exact rows: not the page's background"
    assert all(r.y + r.h <= H and r.y >= top for r in fills)
    # Within delta_picture's bytes and a row of blocks (the row that crossed it).
    most = RATE * LossyOptions().delta_picture / 8
    exact = exact_bytes(before, after)
    assert len(data) < most + exact * 64 / H * 2, (len(data), exact)

    # Refinement: top down, exact in the end, for about the exact update's bytes.
    refined = 0
    tops = [top]
    for _ in range(400):
        data = enc.encode(after, now=t)
        t += INTERVAL
        refined += len(data)
        fb = dec.decode(data)
        same = (fb[..., :3] == after[..., :3]).all(axis=(1, 2))
        tops.append(H if same.all() else int(np.argmin(same)))
        if tops[-1] == H and not enc.lossy_area:
            break
    else:
        pytest.fail(f"never exact: rows exact from the top {tops[-10:]}")
    assert tops == sorted(tops), f"not painted top down: {tops}"
    assert np.array_equal(fb[..., :3], after[..., :3])
    # Filled blocks cost nothing to refine more than sending them exact: the
    # first update and the refinement took about what the exact update did.
    first = sum(len(o.payload) for o in ops)
    assert first + refined < 1.25 * exact, (first, refined, exact)
    enc.close()
