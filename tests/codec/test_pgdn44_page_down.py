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


def glyph_ink(rng: np.random.Generator, rows: int, cols: int) -> npt.NDArray[np.bool_]:
    """Glyph text's ink, ``rows * 14`` by ``cols * 8``: 8x14 cells of 96
    random 5x9 bitmaps (the first blank, a space) drawn from ``rng``."""
    glyphs = rng.random((96, 9, 5)) < 0.35
    glyphs[0] = False
    cells = np.zeros((rows, cols, 14, 8), np.bool_)
    cells[:, :, 3:12, 1:6] = glyphs[rng.integers(0, 96, (rows, cols))]
    return cells.transpose(0, 2, 1, 3).reshape(rows * 14, cols * 8)


def page(seed: int) -> Frame:
    """Two screens of glyph text: 8x14 cells of random 5x9 bitmaps, ink 20 on white."""
    ink = glyph_ink(np.random.default_rng(seed), 2 * H // 14 + 1, W // 8)
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


def first_page_exact(before: Frame) -> tuple[ScreenEncoder, ScreenDecoder, float]:
    """An encoder at RATE (lossy, history stream, a hash on every update)
    and its decoder, ``before`` sent until the viewer's picture is exact;
    and the time of the next update."""
    enc = ScreenEncoder(W, H, lossy=True, history=True, integrity=True)
    enc.set_rate(RATE, interval=INTERVAL)
    dec = ScreenDecoder()
    t = 0.0
    for _ in range(200):
        fb = dec.decode(enc.encode(before, now=t))
        t += INTERVAL
        if np.array_equal(fb[..., :3], before[..., :3]) and not enc.lossy_area:
            return enc, dec, t
    pytest.fail("the first page never became exact")


def refine_top_down(
    enc: ScreenEncoder, dec: ScreenDecoder, after: Frame, t: float, top: int
) -> tuple[Frame, list[int], int]:
    """Encode a still ``after`` from time ``t`` until the viewer's picture
    is exact and nothing is lossy (400 updates at most): the picture, the
    rows exact from the top after each update (``top`` first), and the
    bytes it took."""
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
            return fb, tops, refined
    pytest.fail(f"never exact: rows exact from the top {tops[-10:]}")


def test_page_down_top_exact_at_once_the_rest_refined_to_exact() -> None:
    tall = page(44)
    before = np.ascontiguousarray(tall[:H])
    after = np.ascontiguousarray(tall[H - OVERLAP : 2 * H - OVERLAP])
    enc, dec, t = first_page_exact(before)

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
    fb, tops, refined = refine_top_down(enc, dec, after, t, top)
    assert tops == sorted(tops), f"not painted top down: {tops}"
    assert np.array_equal(fb[..., :3], after[..., :3])
    # Filled blocks cost nothing to refine more than sending them exact: the
    # first update and the refinement took about what the exact update did.
    first = sum(len(o.payload) for o in ops)
    assert first + refined < 1.25 * exact, (first, refined, exact)
    enc.close()
