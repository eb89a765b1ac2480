"""merge_rects: coverage, bounds, cost, full frame, and equality with its Python twin."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from damage_frames import random_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.damage import DEFAULT_RECT_COST, merge_rects, tile_diff
from screencodec.damage.reference import merge_rects_reference
from screencodec.errors import FrameError

Boxes = npt.NDArray[np.int32]


def cost(rects: Boxes, rect_cost: int) -> int:
    r = np.asarray(rects, np.int64).reshape(-1, 4)
    return len(r) * rect_cost + int((r[:, 2] * r[:, 3]).sum())


def covered(rects: Boxes, width: int, height: int) -> npt.NDArray[np.int32]:
    """How many rects cover each pixel."""
    count = np.zeros((height, width), np.int32)
    for x, y, w, h in rects:
        count[y : y + h, x : x + w] += 1
    return count


def check(boxes: Boxes, width: int, height: int, rect_cost: int = DEFAULT_RECT_COST) -> Boxes:
    got = merge_rects(boxes, width, height, rect_cost=rect_cost)
    assert got.dtype == np.int32
    assert got.ndim == 2
    assert got.shape[1] == 4
    np.testing.assert_array_equal(
        got, merge_rects_reference(boxes, width, height, rect_cost=rect_cost)
    )
    x, y, w, h = got.T
    assert (w > 0).all()
    assert (h > 0).all()
    assert (x >= 0).all()
    assert (y >= 0).all()
    assert (x + w <= width).all()
    assert (y + h <= height).all()
    assert len(got) <= max(1, len(boxes))
    assert cost(got, rect_cost) <= cost(boxes, rect_cost)
    out_cover = covered(got, width, height) > 0
    assert out_cover[covered(boxes, width, height) > 0].all()
    return got


def tile_boxes(seed: int, height: int, width: int, tile: int, count: int) -> Boxes:
    rng = np.random.default_rng(seed)
    prev = random_frame(rng, height, width)
    cur = prev.copy()
    for _ in range(count):  # small "glyphs" and the odd larger block
        w, h = rng.integers(1, 40), rng.integers(1, 30)
        x, y = rng.integers(0, width), rng.integers(0, height)
        cur[y : y + h, x : x + w, 0] ^= 0x5A
    return tile_diff(prev, cur, tile)


def test_empty_input() -> None:
    empties: list[npt.ArrayLike] = [[], np.empty((0, 4), np.int32)]
    for empty in empties:
        got = merge_rects(empty, 1920, 1080)
        assert got.shape == (0, 4)
        assert got.dtype == np.int32


def test_single_box_is_kept() -> None:
    np.testing.assert_array_equal(check(np.array([[5, 6, 7, 8]]), 100, 100), [[5, 6, 7, 8]])


def test_near_boxes_merge_far_boxes_do_not() -> None:
    boxes = np.array([[0, 0, 10, 10], [12, 0, 10, 10], [500, 500, 10, 10]], np.int32)
    got = check(boxes, 1000, 1000)
    np.testing.assert_array_equal(got, [[0, 0, 22, 10], [500, 500, 10, 10]])


def test_rows_of_tiles_merge_vertically() -> None:
    boxes = np.array([[64 * i, 64 * j, 64, 64] for j in range(2) for i in range(3)], np.int32)
    np.testing.assert_array_equal(check(boxes, 1920, 1080), [[0, 0, 192, 128]])


def test_everything_changed_gives_the_full_frame() -> None:
    prev = np.zeros((1080, 1920, 4), np.uint8)
    cur = np.ones_like(prev)
    boxes = tile_diff(prev, cur, 16)
    assert len(boxes) == 120 * 68
    np.testing.assert_array_equal(check(boxes, 1920, 1080), [[0, 0, 1920, 1080]])


def test_mostly_changed_gives_the_full_frame() -> None:
    boxes = np.array([[0, 0, 100, 45], [0, 55, 100, 45]], np.int32)
    np.testing.assert_array_equal(check(boxes, 100, 100, 5000), [[0, 0, 100, 100]])


def test_zero_rect_cost_never_adds_area() -> None:
    boxes = tile_boxes(1, 300, 400, 16, 30)
    got = check(boxes, 400, 300, 0)
    assert cost(got, 0) == cost(boxes, 0)


def test_eight_thousand_boxes() -> None:
    # Every 16-px tile of a 1080p frame holds one small box: 8160 boxes.
    rng = np.random.default_rng(2)
    ys, xs = np.mgrid[0:1080:16, 0:1920:16]
    n = ys.size
    ox, oy = rng.integers(0, 8, n), rng.integers(0, 8, n)
    boxes = np.stack([xs.ravel() + ox, ys.ravel() + oy, 8 - ox, 8 - oy], axis=1)
    got = check(boxes.astype(np.int32), 1920, 1080)
    assert len(got) < n


@pytest.mark.parametrize("tile", [16, 64])
def test_tile_diff_output_gives_disjoint_rects(tile: int) -> None:
    boxes = tile_boxes(3, 400, 640, tile, 60)
    got = check(boxes, 640, 400, 256)
    assert covered(got, 640, 400).max() <= 1


@pytest.mark.parametrize(
    "boxes",
    [
        [[0, 0, 0, 5]],
        [[0, 0, 5, -1]],
        [[-1, 0, 5, 5]],
        [[0, -1, 5, 5]],
        [[96, 0, 5, 5]],
        [[0, 96, 5, 5]],
        [[1, 2, 3]],
        [[[1, 2, 3, 4]]],
        [[0.5, 0, 1, 1]],
    ],
)
def test_bad_boxes_raise(boxes: list[object]) -> None:
    with pytest.raises(FrameError):
        merge_rects(boxes, 100, 100)  # type: ignore[arg-type]


def test_negative_cost_or_size_raise() -> None:
    with pytest.raises(FrameError):
        merge_rects([[0, 0, 1, 1]], 10, 10, rect_cost=-1)
    with pytest.raises(FrameError):
        merge_rects([[0, 0, 1, 1]], -10, 10)
    with pytest.raises(FrameError):
        merge_rects([[0, 0, 1, 1]], 10, 10, rect_cost=1.5)  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    tile=st.sampled_from([16, 32, 64, 100]),
    count=st.integers(1, 50),
    rect_cost=st.sampled_from([0, 64, 256, 1024, 4096]),
)
def test_tile_boxes_fuzzing(seed: int, tile: int, count: int, rect_cost: int) -> None:
    boxes = tile_boxes(seed, 200, 333, tile, count)
    got = check(boxes, 333, 200, rect_cost)
    assert covered(got, 333, 200).max() <= 1


box = st.tuples(st.integers(0, 99), st.integers(0, 79), st.integers(1, 40), st.integers(1, 40))


@settings(max_examples=150, deadline=None)
@given(
    boxes=st.lists(box, max_size=40),
    rect_cost=st.sampled_from([0, 16, 256, 1024]),
)
def test_arbitrary_boxes_fuzzing(boxes: list[tuple[int, int, int, int]], rect_cost: int) -> None:
    # Arbitrary (possibly overlapping) boxes: outputs may overlap, all else holds.
    arr = np.array(boxes, np.int64).reshape(-1, 4)
    arr[:, 2] = np.minimum(arr[:, 2], 100 - arr[:, 0])
    arr[:, 3] = np.minimum(arr[:, 3], 80 - arr[:, 1])
    if len(arr) == 0:
        assert merge_rects(arr, 100, 80).shape == (0, 4)
        return
    check(arr.astype(np.int32), 100, 80, rect_cost)


@pytest.mark.parametrize(
    "box",
    [
        (0, 0, 0, 4),
        (0, 0, 4, -1),
        (-1, 0, 4, 4),
        (60, 0, 5, 4),
        (0, 30, 4, 3),
        (0, 0, 2**31 - 1, 1),
    ],
)
def test_bad_int32_boxes_raise(box: tuple[int, int, int, int]) -> None:
    # Contiguous int32 boxes (what tile_diff gives) are checked in one compiled loop.
    boxes = np.array([(0, 0, 8, 8), box], np.int32)
    with pytest.raises(FrameError, match=r"boxes\[1\]"):
        merge_rects(boxes, 64, 32)


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_box_order_and_dtype_do_not_matter(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = random_frame(rng, 96, 160)
    b = a.copy()
    for _ in range(6):  # a few changed patches: boxes in several bands
        x, y = int(rng.integers(0, 150)), int(rng.integers(0, 90))
        b[y : y + int(rng.integers(1, 30)), x : x + int(rng.integers(1, 40)), 0] ^= 0x40
    boxes = tile_diff(a, b, 16)
    want = merge_rects(boxes.astype(np.int64), 160, 96)
    shuffled = np.ascontiguousarray(boxes[rng.permutation(len(boxes))])
    np.testing.assert_array_equal(merge_rects(shuffled, 160, 96), want)
    np.testing.assert_array_equal(merge_rects(boxes, 160, 96), want)
