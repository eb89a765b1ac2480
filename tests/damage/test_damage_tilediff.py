"""tile_diff and any_change against the NumPy oracle."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from damage_frames import random_frame, strided_view
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.damage import any_change, tile_diff
from screencodec.damage.reference import tile_diff_numpy_fast, tile_diff_reference

pytestmark = pytest.mark.usefixtures("impl")


def check(prev: np.ndarray, cur: np.ndarray, tile: int) -> np.ndarray:
    got: np.ndarray = tile_diff(prev, cur, tile)
    want = tile_diff_reference(prev, cur, tile)
    assert got.dtype == np.int32
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(tile_diff_numpy_fast(prev, cur, tile), want)
    assert any_change(prev, cur) == (len(want) > 0)
    return got


def sprinkle(rng: np.random.Generator, frame: np.ndarray, count: int) -> np.ndarray:
    cur: np.ndarray = frame.copy()
    h, w = frame.shape[:2]
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    chans = rng.integers(0, 3, count)
    cur[ys, xs, chans] ^= rng.integers(1, 256, count, dtype=np.uint8)
    return cur


def test_equal_frames_report_nothing() -> None:
    prev = random_frame(np.random.default_rng(1), 100, 130)
    got = tile_diff(prev, prev.copy())
    assert got.shape == (0, 4)
    assert got.dtype == np.int32
    assert not any_change(prev, prev.copy())


def test_changes_in_x_byte_are_ignored() -> None:
    rng = np.random.default_rng(2)
    prev = random_frame(rng, 120, 257)
    cur = prev.copy()
    cur[..., 3] = rng.integers(0, 256, cur.shape[:2], dtype=np.uint8)
    assert tile_diff(prev, cur, 16).shape == (0, 4)
    assert not any_change(prev, cur)


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_each_colour_byte_counts(channel: int) -> None:
    prev = random_frame(np.random.default_rng(3), 40, 70)
    cur = prev.copy()
    cur[33, 65, channel] ^= 1
    np.testing.assert_array_equal(tile_diff(prev, cur, 16), [[65, 33, 1, 1]])


@pytest.mark.parametrize(("height", "width"), [(1, 1), (5, 17), (17, 5), (33, 65), (1081, 1921)])
def test_partial_last_tiles(height: int, width: int) -> None:
    rng = np.random.default_rng(height * 7919 + width)
    prev = random_frame(rng, height, width)
    cur = sprinkle(rng, prev, max(1, height * width // 500))
    for tile in (16, 64, 100):
        check(prev, cur, tile)


@pytest.mark.parametrize(("height", "width"), [(64, 128), (70, 131), (1080, 1920)])
def test_corners_and_edges(height: int, width: int) -> None:
    prev = random_frame(np.random.default_rng(4), height, width)
    for y in (0, height // 2, height - 1):
        for x in (0, width // 2, width - 1):
            cur = prev.copy()
            cur[y, x, 1] ^= 0x80
            np.testing.assert_array_equal(tile_diff(prev, cur, 64), [[x, y, 1, 1]])
    cur = prev.copy()
    cur[0, :, 0] ^= 1
    cur[-1, :, 0] ^= 1
    cur[:, 0, 2] ^= 1
    cur[:, -1, 2] ^= 1
    check(prev, cur, 64)


def test_every_tile_size() -> None:
    rng = np.random.default_rng(5)
    prev = random_frame(rng, 300, 517)
    cur = sprinkle(rng, prev, 60)
    cur[100:140, 200:380, :3] = 0
    for tile in range(16, 257):
        check(prev, cur, tile)


def test_single_pixel_everywhere() -> None:
    # 77 px wide exercises the 32-pixel blocks, the 8-pixel vectors and the tail.
    prev = random_frame(np.random.default_rng(6), 19, 77)
    for y in range(prev.shape[0]):
        for x in range(prev.shape[1]):
            cur = prev.copy()
            cur[y, x, (x + y) % 3] ^= 0x01
            np.testing.assert_array_equal(tile_diff(prev, cur, 16), [[x, y, 1, 1]])


def test_two_pixels_give_their_bounding_box() -> None:
    prev = random_frame(np.random.default_rng(7), 64, 64)
    cur = prev.copy()
    cur[3, 50, 0] ^= 1
    cur[40, 5, 2] ^= 1
    np.testing.assert_array_equal(tile_diff(prev, cur, 64), [[5, 3, 46, 38]])


@pytest.mark.parametrize("pad", [1, 7, 64])
def test_row_strided_current_frame(pad: int) -> None:
    rng = np.random.default_rng(8)
    prev = random_frame(rng, 97, 203)
    cur = strided_view(sprinkle(rng, prev, 40), pad)
    assert cur.strides[0] > 4 * cur.shape[1]
    check(prev, cur, 32)


def test_readonly_frames_are_fine() -> None:
    rng = np.random.default_rng(9)
    prev = random_frame(rng, 40, 40)
    cur = sprinkle(rng, prev, 5)
    prev.flags.writeable = False
    cur.flags.writeable = False
    check(prev, cur, 16)


def test_threads_share_frames() -> None:
    # The scan runs without the GIL: concurrent calls must not disturb each other.
    rng = np.random.default_rng(10)
    prev = random_frame(rng, 300, 400)
    curs = [sprinkle(rng, prev, 30) for _ in range(8)]
    wants = [tile_diff_reference(prev, cur, 32) for cur in curs]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            gots = list(pool.map(lambda cur: tile_diff(prev, cur, 32), curs))
            for got, want in zip(gots, wants, strict=True):
                np.testing.assert_array_equal(got, want)


def test_empty_frames() -> None:
    for shape in [(0, 10, 4), (10, 0, 4)]:
        z = np.zeros(shape, np.uint8)
        assert tile_diff(z, z.copy()).shape == (0, 4)
        assert not any_change(z, z.copy())


def test_totally_changed_frame_gives_every_full_tile() -> None:
    prev = np.zeros((100, 150, 4), np.uint8)
    cur = np.full((100, 150, 4), 9, np.uint8)
    got = check(prev, cur, 64)
    assert len(got) == 2 * 3
    assert int((got[:, 2] * got[:, 3]).sum()) == 100 * 150


@settings(max_examples=60, deadline=None)
@given(
    size=st.tuples(st.integers(1, 150), st.integers(1, 300)),
    tile=st.integers(16, 256),
    count=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
    strided=st.booleans(),
)
def test_matches_reference_fuzzing(
    size: tuple[int, int], tile: int, count: int, seed: int, strided: bool
) -> None:
    rng = np.random.default_rng(seed)
    prev = random_frame(rng, *size)
    cur = sprinkle(rng, prev, count)
    cur[..., 3] = rng.integers(0, 256, cur.shape[:2], dtype=np.uint8)  # noise to ignore
    if strided:
        cur = strided_view(cur)
    check(prev, cur, tile)
