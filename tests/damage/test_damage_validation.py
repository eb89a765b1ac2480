"""Bad input is a FrameError (a ValueError), never a crash; the public surface is pinned."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from screencodec import damage
from screencodec.damage import any_change, memcmp_equal, tile_diff
from screencodec.errors import FrameError

H, W = 20, 30
GOOD = np.zeros((H, W, 4), np.uint8)
BIG = np.zeros((H, 2 * W, 8), np.uint8)

BAD_FRAMES = {
    "list": GOOD.tolist(),
    "int32": np.zeros((H, W, 4), np.int32),
    "float": np.zeros((H, W, 4), np.float32),
    "three channels": np.zeros((H, W, 3), np.uint8),
    "two dims": np.zeros((H, W * 4), np.uint8),
    "four dims": np.zeros((1, H, W, 4), np.uint8),
    "other size": np.zeros((H + 1, W, 4), np.uint8),
    "negative row stride": GOOD[::-1],
    "negative pixel stride": GOOD[:, ::-1],
    "reversed channels": GOOD[..., ::-1],
    "strided channels": BIG[:, :W, ::2],
    "strided pixels": BIG[:, ::2, :4],
    "overlapping rows": np.lib.stride_tricks.as_strided(GOOD, strides=(8, 4, 1)),
}

CHECKS: list[Callable[[np.ndarray, np.ndarray], object]] = [tile_diff, any_change]


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
@pytest.mark.parametrize("func", CHECKS)
def test_bad_current_frame(func: Callable[[object, object], object], name: str) -> None:
    with pytest.raises(FrameError):
        func(GOOD, BAD_FRAMES[name])


@pytest.mark.parametrize("name", [*sorted(BAD_FRAMES), "row strided"])
@pytest.mark.parametrize("func", CHECKS)
def test_bad_previous_frame(func: Callable[[object, object], object], name: str) -> None:
    bad = BAD_FRAMES.get(name, BIG[:, :W, :4])
    with pytest.raises(FrameError):
        func(bad, GOOD)


@pytest.mark.parametrize("tile", [15, 257, 0, -64, 64.0, "64", None])
def test_bad_tile(tile: object) -> None:
    with pytest.raises(FrameError):
        tile_diff(GOOD, GOOD, tile)  # type: ignore[arg-type]


def test_frame_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="dtype"):
        tile_diff(GOOD, np.zeros((H, W, 4), np.int16))


def test_memcmp_equal() -> None:
    a = np.arange(4000, dtype=np.uint32)
    b = a.copy()
    assert memcmp_equal(a, b)
    b[-1] += 1
    assert not memcmp_equal(a, b)
    assert memcmp_equal(b"abc", bytearray(b"abc"))
    assert memcmp_equal(b"", b"")
    with pytest.raises(FrameError):
        memcmp_equal(a, a[:-1])
    with pytest.raises(FrameError):
        memcmp_equal(a[::2], a[1::2])
    with pytest.raises(FrameError):
        memcmp_equal(a, 5)  # type: ignore[arg-type]


def test_public_api() -> None:
    assert sorted(damage.__all__) == [
        "DEFAULT_RECT_COST",
        "MAX_TILE",
        "MIN_TILE",
        "Subtraction",
        "any_change",
        "copy_rects",
        "memcmp_equal",
        "merge_rects",
        "subtract_rects",
        "subtract_rects_indexed",
        "tile_diff",
    ]
    assert (damage.MIN_TILE, damage.MAX_TILE) == (16, 256)
