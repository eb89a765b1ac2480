"""Attack on the scroll-prediction kernels (``_rowhash.scroll_diff`` and
``copy_runs``, csrc/motion.c): seeded fuzzing against their NumPy references
(tiny and odd sizes, dy up to and past the frame's height, every tile of every
row changed, row-strided frames, any tile size), and hostile arguments, which
must raise FrameError and never crash or read out of bounds."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.errors import FrameError
from screencodec.motion import _rowhash
from screencodec.motion.reference import copy_runs_reference, scroll_diff_reference


def _frame(rng: np.random.Generator, h: int, w: int, colours: int) -> np.ndarray:
    f = rng.integers(0, colours, (h, w, 4), dtype=np.uint8) * (255 // max(colours - 1, 1))
    f[..., 3] = rng.integers(0, 256, (h, w), dtype=np.uint8)  # X: never compared
    return f


def _case(rng: np.random.Generator) -> tuple:
    h, w = int(rng.choice([1, 2, 7, 16, 33, 64, 100, 257])), int(rng.choice([1, 3, 16, 65, 130]))
    pad = int(rng.choice([0, 0, 5]))  # row-strided frames: a column range of wider ones
    colours = int(rng.choice([2, 3, 256]))  # few colours: long runs, blank rows
    big_prev = _frame(rng, h, w + pad, colours)
    prev = big_prev[:, pad:] if pad else big_prev
    dy = int(rng.choice([0, 1, -1, 3, -7, h - 1, 1 - h, h, -h, h + 5, 2 * h]))
    cur = np.roll(prev, dy, axis=0).copy()
    noise = rng.random((h, w)) < rng.choice([0.0, 0.01, 0.3, 1.0])  # 1.0: every tile changes
    cur[noise, :3] = rng.integers(0, 256, (int(noise.sum()), 3), dtype=np.uint8)
    cur[..., 3] = rng.integers(0, 256, (h, w), dtype=np.uint8)
    if pad and rng.random() < 0.5:
        wide = np.zeros((h, w + pad, 4), np.uint8)
        wide[:, :w] = cur
        cur = wide[:, :w]
    tile = int(rng.choice([16, 17, 64, 100, 256]))
    y0 = int(rng.integers(0, -(-h // tile))) * tile
    y1 = h if rng.random() < 0.5 else min(h, y0 + tile * int(rng.integers(1, 3)))
    x0 = int(rng.integers(0, w))
    x1 = int(rng.integers(x0 + 1, w + 1))
    min_run = int(rng.choice([1, 2, 4, 32, w, w + 10]))
    return prev, cur, (y0, y1), (x0, x1), dy, min_run, tile


def test_scroll_diff_agrees_with_its_reference_on_random_inputs() -> None:
    rng = np.random.default_rng(2026)
    for case in range(1500):
        prev, cur, rows, cols, dy, min_run, tile = _case(rng)
        got = _rowhash.scroll_diff(prev, cur, rows, cols, dy, min_run=min_run, tile=tile)
        want = scroll_diff_reference(prev, cur, rows, cols, dy, min_run=min_run, tile=tile)
        for a, b in zip(got, want, strict=True):
            assert a.tolist() == b.tolist(), (case, prev.shape, rows, cols, dy, min_run, tile)
        # The promise: with the moved runs copied, the boxes hold every change.
        moved, starts, ends, boxes = got
        seen = prev.copy()
        for i in np.flatnonzero(moved):
            y = rows[0] + i
            seen[y, starts[i] : ends[i]] = prev[y - dy, starts[i] : ends[i]]
        for x, y, bw, bh in boxes.tolist():
            seen[y : y + bh, x : x + bw] = cur[y : y + bh, x : x + bw]
        assert np.array_equal(seen[rows[0] : rows[1], :, :3], cur[rows[0] : rows[1], :, :3])


def test_scroll_diff_has_room_for_every_tile_of_every_row() -> None:
    """All pixels change, tile 16 on a frame of odd size: every tile is a box."""
    rng = np.random.default_rng(1)
    prev = rng.integers(0, 256, (97, 161, 4), dtype=np.uint8)
    cur = prev ^ np.uint8(0xFF)
    moved, _, _, boxes = _rowhash.scroll_diff(prev, cur, (0, 97), (0, 161), 3, tile=16)
    assert not moved.any() and len(boxes) == 7 * 11


def test_copy_runs_agrees_with_its_reference_on_random_inputs() -> None:
    rng = np.random.default_rng(7)
    for case in range(1500):
        n = int(rng.integers(0, 400))
        moved = rng.choice([0, 1, 2, 1, 2, 2], n).astype(np.uint8)
        starts = rng.choice([0, 0, 3], n).astype(np.int32)
        ends = starts + rng.choice([10, 10, 10, 9], n).astype(np.int32)
        tile = int(rng.choice([1, 2, 16, 17, 64, 256, 1000]))
        got = _rowhash.copy_runs(moved, starts, ends, tile)
        assert got == copy_runs_reference(moved, starts, ends, tile), case


def _base() -> np.ndarray:
    return np.zeros((64, 64, 4), np.uint8)


HOSTILE_FRAMES = [
    np.zeros((64, 64, 4), np.float32),
    np.zeros((64, 64, 3), np.uint8),
    np.zeros((64, 64), np.uint8),
    np.zeros((64, 64, 4), np.uint16),
    np.asfortranarray(np.zeros((64, 64, 4), np.uint8)),
    np.zeros((64, 128, 4), np.uint8)[:, ::2],  # a column step: not row-strided
    np.zeros((64, 64, 4), np.uint8)[::-1],  # negative row stride
    np.zeros((64, 64, 8), np.uint8)[:, :, ::2],
    np.zeros((0, 64, 4), np.uint8),
    np.zeros((32, 64, 4), np.uint8),  # another size
    None,
    "frame",
]


@pytest.mark.parametrize("which", ["prev", "cur"])
@pytest.mark.parametrize("bad", range(len(HOSTILE_FRAMES)))
def test_scroll_diff_rejects_hostile_frames_with_frame_error(which: str, bad: int) -> None:
    frames = {"prev": _base(), "cur": _base(), which: HOSTILE_FRAMES[bad]}
    with pytest.raises(FrameError):
        _rowhash.scroll_diff(frames["prev"], frames["cur"], (0, 64), (0, 64), 1)


HUGE = [2**31, 2**40, -(2**31) - 1, 2**63, -(2**70)]

#: Known defect, not fixed here (a .pyx change needs a rebuild): the wrapper
#: converts dy, min_run and tile with `cdef int32_t x = operator.index(v)`
#: before checking them, so a value past int32 raises OverflowError, not
#: FrameError (match_runs does the same).
@pytest.mark.parametrize(
    "kwargs",
    [{"rows": (0, v)} for v in HUGE] + [{"rows": (v, 64)} for v in HUGE]
    + [{"cols": (0, v)} for v in HUGE] + [{"cols": (v, 64)} for v in HUGE]
    + [{"dy": v} for v in HUGE]
    + [{"min_run": v} for v in HUGE] + [{"min_run": v} for v in [0, -1]]
    + [{"tile": v} for v in HUGE] + [{"tile": v} for v in [0, -16, 15, 257]]
    + [{"rows": (-64, 0)}, {"rows": (32, 16)}, {"cols": (-1, 64)}, {"cols": (10, 10)},
       {"dy": 1 << 21}, {"dy": -(1 << 21)}],
)  # fmt: skip
def test_scroll_diff_rejects_hostile_numbers_with_frame_error(kwargs: dict) -> None:
    args = {"rows": (0, 64), "cols": (0, 64), "dy": 1, "min_run": 1, "tile": 16} | kwargs
    f = _base()
    with pytest.raises(FrameError):
        _rowhash.scroll_diff(
            f, f.copy(), args["rows"], args["cols"], args["dy"],
            min_run=args["min_run"], tile=args["tile"],
        )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        (np.zeros((4, 4), np.uint8), np.zeros(4, np.int32), np.zeros(4, np.int32), 16),
        (np.zeros(4, np.uint8), np.zeros(3, np.int32), np.zeros(4, np.int32), 16),
        (np.zeros(4, np.uint8), np.zeros(4, np.int32), np.zeros(5, np.int32), 16),
        (np.zeros(4, np.uint8), np.zeros(4, np.int32), np.zeros(4, np.int32), 0),
        (np.zeros(4, np.uint8), np.zeros(4, np.int32), np.zeros(4, np.int32), -3),
        (np.zeros(4, np.uint8), np.zeros(4, np.int32), np.zeros(4, np.int32), 2**40),
        # Starts past int32 would wrap in a cast; a float tile is no size.
        (np.ones(4, np.uint8), np.full(4, 2**40), np.zeros(4, np.int32), 16),
        (np.ones(4, np.uint8), np.zeros(4, np.float64), np.zeros(4, np.int32), 16),
        (np.ones(4, np.uint8), np.zeros(4, np.int32), np.zeros(4, np.int32), 2.5),
    ],
)
def test_copy_runs_rejects_hostile_arguments_with_frame_error(args: tuple) -> None:
    with pytest.raises(FrameError):
        _rowhash.copy_runs(*args)
