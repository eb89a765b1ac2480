"""The vertical search's two passes: two strips vote first, and the others
only when the scroll those two found leaves too much unexplained. A scroll
whose text lies away from the first two strips is still found as one COPY."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.motion import MotionStage, detect
from screencodec.wire import Op, parse_update, split_message

from .motion_helpers import same_bgr

W, H = 1024, 768
DY = 48  # three 16-px lines a frame, as a build log scrolls


def page(rows: int, rng: np.random.Generator, plain: list[tuple[int, int]]) -> np.ndarray:
    """Rows of unique 'text' (every row differs, so each votes), with columns
    of plain zebra stripes, 16 rows light, 16 dark (a table's empty cells):
    their rows repeat, so they vote for nothing, yet they change as the page
    scrolls by an odd number of stripes, so the damage is one span."""
    text = np.zeros((rows, W, 4), np.uint8)
    text[..., :3] = rng.integers(0, 255, (rows, W, 3), dtype=np.uint8) & 0xC0
    zebra = np.where((np.arange(rows) // 16) % 2 == 0, 230, 200).astype(np.uint8)
    for x0, x1 in plain:
        text[:, x0:x1, :3] = zebra[:, None, None]
    return text


def first_strips() -> list[tuple[int, int]]:
    # The strips the first pass hashes over a full-width span.
    from screencodec.motion._hashcache import RowHashCache

    cache = RowHashCache()
    cache.reset(W, H)
    strips = cache.strips(0, W)
    n = len(strips)
    return [strips[n * (i + 1) // (detect._FIRST_STRIPS + 1)] for i in range(detect._FIRST_STRIPS)]


def copies_of(data: bytes) -> list[tuple[int, int, int, int]]:
    return [
        (o.rect.x, o.rect.y, o.rect.w, o.rect.h)
        for o in parse_update(split_message(data)[1]).ops
        if o.op is Op.COPY
    ]


@pytest.mark.parametrize("under_first", [True, False], ids=["text-there", "blank-there"])
def test_a_scroll_is_one_copy_whichever_strips_see_its_text(under_first: bool) -> None:
    rng = np.random.default_rng(7)
    # Stripes around the first two strips (16 px either side), or none.
    plain = [] if under_first else [(x0 - 16, x1 + 16) for x0, x1 in first_strips()]
    text = page(H + DY * 4, rng, plain)
    enc, dec = ScreenEncoder(W, H, threads=1, history=True), ScreenDecoder()
    # Only the row search may find it: the 2-D search finds vertical shifts
    # too, and would hide a row search that missed.
    enc.motion_stage = MotionStage(max_move=0, budget_ms=60_000)
    for k in range(4):
        f = np.ascontiguousarray(text[k * DY : k * DY + H])
        data = enc.encode(f)
        assert same_bgr(dec.decode(data), f)
        if k:
            # The whole page moved up by DY but the rows it reveals.
            assert copies_of(data) == [(0, 0, W, H - DY)], k
