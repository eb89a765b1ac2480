"""The stage's bookkeeping: grouping, copy rectangles, application order, the
row-hash cache, the time budget and its fallback."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.damage import merge_rects, subtract_rects, tile_diff
from screencodec.geometry import Rect
from screencodec.motion import MotionStage
from screencodec.motion._regions import Copy, apply_copies, groups, runs_to_rects

from .motion_helpers import noise, same_bgr

rect_st = st.builds(
    Rect, st.integers(0, 60), st.integers(0, 60), st.integers(1, 40), st.integers(1, 40)
)


@settings(max_examples=200, deadline=None)
@given(rect_st, st.lists(rect_st, max_size=5))
def test_subtract_covers_exactly_the_difference(rect: Rect, holes: list[Rect]) -> None:
    want = np.zeros((100, 100), bool)
    want[rect.slices()] = True
    for h in holes:
        want[h.slices()] = False
    got = np.zeros((100, 100), np.int32)
    for x, y, w, h in subtract_rects([rect], holes).tolist():
        assert w > 0 and h > 0
        got[y : y + h, x : x + w] += 1
    assert np.array_equal(got, want.astype(np.int32))  # covered once, nothing else


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 80), st.integers(0, 80), st.integers(1, 30), st.integers(1, 30)),
        min_size=1,
        max_size=12,
    )
)
def test_groups_partition_rects_into_disjoint_boxes(raw: list[tuple[int, int, int, int]]) -> None:
    rects = np.array(raw, np.int32)
    out = groups(rects)
    assert sum(len(m) for _, m in out) == len(rects)
    for i, (box, members) in enumerate(out):
        for r in members.tolist():
            assert box.contains(Rect(*r))
        for other, _ in out[i + 1 :]:
            assert box.intersection(other).is_empty()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=40),
       st.integers(1, 10), st.integers(1, 60))  # fmt: skip
def test_runs_to_rects_stay_inside_every_rows_run(
    raw: list[tuple[int, int]], min_run: int, min_area: int
) -> None:
    starts = np.array([min(a, b) for a, b in raw], np.int32)
    ends = np.array([max(a, b) for a, b in raw], np.int32)
    for r in runs_to_rects(starts, ends, 7, min_run, min_area):
        assert r.w >= min_run and r.area >= min_area
        for y in range(r.y, r.bottom):
            assert starts[y - 7] <= r.x and r.right <= ends[y - 7]


def test_apply_copies_reads_every_source_before_writing() -> None:
    """Copies that chain (one's source is another's destination) and copies
    overlapping themselves, applied as the decoder does."""
    rng = np.random.default_rng(0)
    ref = noise(rng, 60, 80)
    copies = [
        Copy(0, 0, Rect(10, 5, 20, 20)),  # writes where the next one reads
        Copy(10, 5, Rect(40, 30, 20, 20)),
        Copy(50, 0, Rect(52, 3, 25, 20)),  # overlaps itself
    ]
    want = ref.copy()
    sources = [ref[c.src.slices()].copy() for c in copies]
    for c, s in zip(copies, sources, strict=True):
        want[c.dest.slices()] = s
    apply_copies(ref, copies)
    assert np.array_equal(ref, want)


def _scroll_pair(seed: int = 0, dy: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    page = noise(rng, 700, 300)
    a = np.zeros((400, 320, 4), np.uint8)
    a[..., 3] = 255
    b = a.copy()
    a[50:350, 10:310] = page[100:400]
    b[50:350, 10:310] = page[100 + dy : 400 + dy]
    rects = merge_rects(tile_diff(a, b, 64), 320, 400)
    return a, b, rects


def test_process_leaves_the_reference_equal_to_the_frame_after_the_rest() -> None:
    a, b, rects = _scroll_pair()
    stage = MotionStage()
    ref = a.copy()
    ops, left = stage.process(ref, b, rects)
    assert len(ops) == 1 and stage.last.copies == 1
    for x, y, w, h in left.tolist():
        ref[y : y + h, x : x + w] = b[y : y + h, x : x + w]
    assert same_bgr(ref, b)
    assert sum(w * h for _, _, w, h in left.tolist()) <= 300 * 9 + 64 * 64


def test_row_hashes_of_the_reference_are_reused() -> None:
    rng = np.random.default_rng(1)
    page = noise(rng, 900, 300)
    stage = MotionStage()
    ref = np.zeros((400, 320, 4), np.uint8)
    ref[..., 3] = 255
    hashed = []
    for k in range(5):
        frame = ref.copy()
        frame[50:350, 10:310] = page[100 + 7 * k : 400 + 7 * k]
        rects = merge_rects(tile_diff(ref, frame, 64), 320, 400)
        _, left = stage.process(ref, frame, rects)
        for x, y, w, h in left.tolist():
            ref[y : y + h, x : x + w] = frame[y : y + h, x : x + w]
        hashed.append(stage.last.ref_pixels_hashed)
    # Frame 0 paints the page over black (the reference is hashed once); from
    # then on the previous frame's hashes serve.
    assert hashed[0] > 0 and hashed[1:] == [0, 0, 0, 0], hashed


def test_keyframe_and_small_damage_pass_through() -> None:
    a, b, rects = _scroll_pair()
    stage = MotionStage()
    assert stage.process(a.copy(), b, rects, keyframe=True) == ([], rects)
    tiny = np.array([[0, 0, 8, 8]], np.int32)
    assert stage.process(a.copy(), b, tiny)[0] == []
    assert stage.last.groups == 0


def test_budget_exhausted_falls_back_cleanly() -> None:
    """With no budget the first candidate is still tried; further regions are
    not, and their damage goes to the lossless coder unchanged."""
    rng = np.random.default_rng(2)
    page = noise(rng, 800, 140)
    a = np.zeros((400, 320, 4), np.uint8)
    a[..., 3] = 255
    b = a.copy()
    a[20:380, 0:140] = page[100:460]
    b[20:380, 0:140] = page[105:465]
    a[20:380, 180:320] = page[300:660]
    b[20:380, 180:320] = page[290:650]
    rects = merge_rects(tile_diff(a, b, 64), 320, 400)
    stage = MotionStage(budget_ms=0)
    ref = a.copy()
    ops, left = stage.process(ref, b, rects)
    assert stage.last.over_budget and len(ops) >= 1
    for x, y, w, h in left.tolist():
        ref[y : y + h, x : x + w] = b[y : y + h, x : x + w]
    assert same_bgr(ref, b)
    generous = MotionStage(budget_ms=1000)
    ops2, _ = generous.process(a.copy(), b, rects)
    assert len(ops2) >= 2 and not generous.last.over_budget


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="positive"):
        MotionStage(min_run=0)
    with pytest.raises(ValueError, match="max_move"):
        MotionStage(max_move=-1)
    with pytest.raises(ValueError, match="max_hscroll"):
        MotionStage(max_move=100, max_hscroll=50)
    with pytest.raises(ValueError, match="segment"):
        MotionStage(segment=30)


def test_skipped_areas_are_not_searched_and_pass_through() -> None:
    """``skip`` (the encoder's video regions): damage inside is returned as it
    came and costs no search; damage outside is still searched."""
    a, b, rects = _scroll_pair()
    h, w = b.shape[:2]
    stage = MotionStage()
    ref = a.copy()
    assert stage.process(ref, b, rects, skip=[Rect(0, 0, w, h)]) == ([], rects)
    assert np.array_equal(ref, a)
    assert (stage.last.groups, stage.last.candidates) == (0, 0)
    # A skipped strip beside the scroll leaves the scroll found.
    ops, _ = stage.process(a.copy(), b, rects, skip=[Rect(0, 0, 4, 4)])
    assert len(ops) == 1 and stage.last.copies == 1
