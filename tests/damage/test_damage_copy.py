"""copy_rects: copies B, G, R, forces X to 255, validates before writing."""

from __future__ import annotations

import numpy as np
import pytest
from damage_frames import random_frame, strided_view

from screencodec.damage import copy_rects
from screencodec.errors import FrameError


def test_copies_rects_and_forces_x() -> None:
    rng = np.random.default_rng(1)
    dst = random_frame(rng, 50, 70)
    src = rng.integers(0, 256, (50, 70, 4), dtype=np.uint8)
    before = dst.copy()
    rects = np.array([[0, 0, 3, 2], [10, 20, 60, 30], [69, 49, 1, 1]], np.int32)
    copy_rects(dst, src, rects)
    want = before.copy()
    for x, y, w, h in rects:
        want[y : y + h, x : x + w, :3] = src[y : y + h, x : x + w, :3]
        want[y : y + h, x : x + w, 3] = 255
    np.testing.assert_array_equal(dst, want)


def test_row_strided_source() -> None:
    rng = np.random.default_rng(2)
    dst = np.zeros((33, 41, 4), np.uint8)
    src = strided_view(rng.integers(0, 256, (33, 41, 4), dtype=np.uint8), 5)
    copy_rects(dst, src, [[0, 0, 41, 33]])
    np.testing.assert_array_equal(dst[..., :3], src[..., :3])
    assert (dst[..., 3] == 255).all()


def test_empty_rect_list_and_empty_rects_are_noops() -> None:
    dst = np.zeros((4, 4, 4), np.uint8)
    copy_rects(dst, np.ones_like(dst), [])
    copy_rects(dst, np.ones_like(dst), [[1, 1, 0, 2]])
    assert not dst.any()


@pytest.mark.parametrize(
    "rect",
    [[-1, 0, 2, 2], [0, -1, 2, 2], [9, 0, 2, 2], [0, 9, 2, 2], [0, 0, -1, 2], [0, 0, 11, 1]],
)
def test_bad_rects_raise_before_writing(rect: list[int]) -> None:
    dst = np.zeros((10, 10, 4), np.uint8)
    with pytest.raises(FrameError):
        copy_rects(dst, np.ones_like(dst), [[0, 0, 1, 1], rect])
    assert not dst.any()


def test_rect_must_fit_both_frames() -> None:
    dst = np.zeros((10, 10, 4), np.uint8)
    with pytest.raises(FrameError):
        copy_rects(dst, np.ones((5, 10, 4), np.uint8), [[0, 4, 2, 2]])
    copy_rects(dst, np.ones((5, 10, 4), np.uint8), [[0, 3, 2, 2]])
    assert dst[3:5, 0:2, 0].all()


def test_bad_destination_raises() -> None:
    src = np.ones((8, 8, 4), np.uint8)
    readonly = np.zeros_like(src)
    readonly.flags.writeable = False
    for dst in (readonly, strided_view(np.zeros_like(src))):
        with pytest.raises(FrameError):
            copy_rects(dst, src, [[0, 0, 1, 1]])
