"""tile_diff on row-strided frames (a column range of a frame, as scroll
prediction compares the columns beside a copy): the same boxes as on
contiguous copies of the same pixels."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.damage import tile_diff
from screencodec.damage.reference import tile_diff_reference


@pytest.mark.parametrize("seed", range(6))
def test_strided_views_give_the_boxes_of_their_pixels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    prev = rng.integers(0, 4, (150, 300, 4), dtype=np.uint8)
    cur = prev.copy()
    cur[rng.integers(0, 150, 40), rng.integers(0, 300, 40), rng.integers(0, 3, 40)] ^= 1
    x0 = int(rng.integers(0, 150))
    x1 = int(rng.integers(x0 + 1, 301))
    a, b = prev[:, x0:x1], cur[:, x0:x1]
    assert not a.flags.c_contiguous
    tile = int(rng.choice([16, 32, 64]))
    got = tile_diff(a, b, tile)
    assert got.tolist() == tile_diff(a.copy(), b.copy(), tile).tolist()
    assert got.tolist() == tile_diff_reference(a.copy(), b.copy(), tile).tolist()
