"""scroll_diff (csrc/motion.c): change detection in one pass over rows where
a scroll is expected, against its NumPy reference and by what it promises:
after the copied rows are copied, the frame differs from the old one only
inside the boxes."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.damage import tile_diff
from screencodec.errors import FrameError
from screencodec.motion import _rowhash
from screencodec.motion.reference import copy_runs_reference, scroll_diff_reference


def _text_rows(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Rows of 'text': runs of a few colours on a flat background, with blank rows."""
    f = np.full((h, w, 4), 30, np.uint8)
    for y in range(h):
        if rng.random() < 0.3:
            continue  # a blank row
        n = int(rng.integers(1, w))
        f[y, :n, :3] = rng.choice([30, 200, 90], size=(n, 3))
    f[..., 3] = rng.integers(0, 256, size=(h, w), dtype=np.uint8)  # the X byte is never compared
    return f


def _scrolled(rng: np.random.Generator, h: int, w: int, box: tuple[int, int, int, int], dy: int):
    prev = _text_rows(rng, h, w)
    cur = prev.copy()
    x, y, bw, bh = box
    src = prev[max(y - dy, 0) : min(y + bh - dy, h), x : x + bw]
    top = max(y, dy + 0) if dy > 0 else y
    cur[top : top + len(src), x : x + bw] = src
    # Revealed rows, a cursor, a change beside the box.
    cur[y + bh - 3 : y + bh, x : x + bw, :3] = rng.integers(0, 256, (3, bw, 3), dtype=np.uint8)
    cur[rng.integers(0, h), rng.integers(0, w), :3] ^= 0x55
    cur[..., 3] = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    return prev, cur


@pytest.mark.parametrize("seed", range(12))
def test_scroll_diff_matches_reference_and_leaves_only_boxes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(40, 200)), int(rng.integers(40, 300))
    tile = int(rng.choice([16, 32, 64]))
    bx, by = int(rng.integers(0, w // 3)), int(rng.integers(0, h // 3))
    box = (bx, by, int(rng.integers(8, w - bx)), int(rng.integers(8, h - by)))
    dy = int(rng.integers(-box[3] // 2, box[3] // 2 + 1))
    prev, cur = _scrolled(rng, h, w, box, dy)
    y0 = int(rng.integers(0, h // tile + 1)) * tile if h > tile else 0
    y0 = min(y0, (h - 1) // tile * tile)
    y1 = h if rng.random() < 0.5 else min(h, y0 + tile * int(rng.integers(1, 4)))
    cols = (box[0], box[0] + box[2])
    min_run = int(rng.choice([1, 8, 32]))
    got = _rowhash.scroll_diff(prev, cur, (y0, y1), cols, dy, min_run=min_run, tile=tile)
    want = scroll_diff_reference(prev, cur, (y0, y1), cols, dy, min_run=min_run, tile=tile)
    for a, b in zip(got, want, strict=True):
        assert a.tolist() == b.tolist()
    moved, starts, ends, boxes = got
    # The promise: copy the moved runs, and every other change is in a box.
    seen = prev.copy()
    for i in np.flatnonzero(moved):  # 1 and 2 alike
        s, e = starts[i], ends[i]
        seen[y0 + i, s:e] = prev[y0 + i - dy, s:e]
    for x, y, bw, bh in boxes.tolist():
        seen[y : y + bh, x : x + bw] = cur[y : y + bh, x : x + bw]
    assert np.array_equal(seen[y0:y1, :, :3], cur[y0:y1, :, :3])


def test_scroll_diff_without_a_scroll_is_tile_diff() -> None:
    """A guess that is wrong (no row moved) costs nothing in exactness: the
    boxes are those of a plain tile_diff."""
    rng = np.random.default_rng(7)
    prev = rng.integers(0, 256, (128, 200, 4), dtype=np.uint8)
    cur = prev.copy()
    cur[::3, ::7, :3] ^= 0x11  # every third row changes in place
    moved, _, _, boxes = _rowhash.scroll_diff(prev, cur, (0, 128), (10, 190), 17, min_run=8)
    assert not moved.any()
    assert boxes.tolist() == tile_diff(prev, cur, 64).tolist()


def test_scroll_diff_marks_rows_that_moved_onto_equal_rows() -> None:
    """Blank rows scrolled onto blank rows match both ways: 2, and no box."""
    prev = np.zeros((64, 64, 4), np.uint8)
    prev[20:24, 4:60, :3] = 255  # one line of 'text' at rows 20-23
    cur = np.zeros_like(prev)
    cur[10:14, 4:60, :3] = 255  # scrolled up by 10
    moved, starts, ends, boxes = _rowhash.scroll_diff(prev, cur, (0, 64), (0, 64), -10)
    assert np.flatnonzero(moved == 1).tolist() == [10, 11, 12, 13, 20, 21, 22, 23]
    assert np.flatnonzero(moved == 0).tolist() == list(range(54, 64))  # no row 10 below
    assert (starts[:54] == 0).all() and (ends[:54] == 64).all()
    assert boxes.tolist() == []


def test_scroll_diff_keeps_the_longest_run_of_a_row() -> None:
    """A row that moved but for a scroll bar's thumb beside the text: the
    run left of the thumb is copied, and the thumb is a box."""
    rng = np.random.default_rng(3)
    prev = rng.integers(0, 256, (64, 100, 4), dtype=np.uint8)
    cur = np.roll(prev, -4, axis=0)
    cur[:, 90:94, :3] = 7  # the thumb, in place, over the moved rows
    moved, starts, ends, boxes = _rowhash.scroll_diff(prev, cur, (0, 64), (0, 100), -4, min_run=32)
    assert (moved[:60] == 1).all() and (starts[:60] == 0).all() and (ends[:60] == 90).all()
    assert not moved[60:].any()  # rolled in from the top: not from 4 rows down
    # Tile 0: the 4 rows rolled in; tile 1: those and the thumb's column.
    assert boxes.tolist() == [[0, 60, 64, 4], [64, 0, 36, 64]]


@pytest.mark.parametrize(
    ("rows", "cols", "dy", "tile"),
    [((8, 64), (0, 64), 0, 64), ((0, 70), (0, 64), 0, 64), ((0, 64), (0, 65), 0, 64),
     ((0, 64), (5, 5), 0, 64), ((0, 64), (0, 64), 1 << 30, 64), ((0, 64), (0, 64), 0, 8),
     ((64, 64), (0, 64), 0, 16)],
)  # fmt: skip
def test_scroll_diff_rejects_bad_arguments(rows, cols, dy, tile) -> None:
    f = np.zeros((64, 64, 4), np.uint8)
    with pytest.raises(FrameError):
        _rowhash.scroll_diff(f, f.copy(), rows, cols, dy, tile=tile)


@pytest.mark.parametrize("seed", range(20))
def test_copy_runs_matches_reference(seed: int) -> None:
    """Rows to copies: runs of rows over one span, joined across blank rows in
    tile rows with a changed row, cut to changed rows (C and NumPy agree)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    moved = rng.choice([0, 1, 1, 2, 2], n).astype(np.uint8)
    spans = rng.choice([0, 0, 0, 5], n).astype(np.int32)
    starts, ends = spans, spans + rng.choice([40, 40, 40, 30], n).astype(np.int32)
    tile = int(rng.choice([16, 64]))
    got = _rowhash.copy_runs(moved, starts, ends, tile)
    assert got == copy_runs_reference(moved, starts, ends, tile)
    for y0, y1, x0, x1 in got:
        assert moved[y0] == 1 and moved[y1 - 1] == 1
        assert (starts[y0:y1] == x0).all() and (ends[y0:y1] == x1).all()
        assert (moved[y0:y1] > 0).all()


def test_copy_runs_joins_blank_rows_only_beside_a_changed_row() -> None:
    moved = np.array([1, 2, 1] + [2] * 37 + [1], np.uint8)
    starts, ends = np.zeros(41, np.int32), np.full(41, 50, np.int32)
    # Tile rows of 16: rows 16-31 hold no changed row, so the blank rows
    # there join nothing and the run is cut; rows 32-39 share a tile row
    # with row 40, but a run is cut to its changed rows.
    assert _rowhash.copy_runs(moved, starts, ends, 16) == [(0, 3, 0, 50), (40, 41, 0, 50)]
    moved[20] = 1  # now tile row 1 holds a change: one run over all of it
    assert _rowhash.copy_runs(moved, starts, ends, 16) == [(0, 41, 0, 50)]
