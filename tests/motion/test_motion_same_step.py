"""Windows side by side moved by the same step, and the cost of a failed drag guess.

Two windows in one band of rows moved by one shift (dragged together, or
moving by the same offset): verification keeps every run a row has, not
only its longest (``match_runs(most=...)``), so each window is its own COPY,
whole. Through a real encoder and decoder (``roundtrip``: every picture
exact, every COPY exact against the viewer's picture before it), with the
exact rectangles asserted.

A dragged window's guessed steps are screened in one kernel pass
(``screen_shifts``); when every guess fails (the drag turned), that pass is
all they cost: no verification, then the search as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from screencodec.motion import _rowhash
from screencodec.motion import reference as ref

from .motion_helpers import (
    Frame,
    checked_update,
    copies_in,
    make_pair,
    noise,
    photo,
    roundtrip,
    textish,
)

W, H = 1400, 640
#: (height, width) of the two windows
A, B = (200, 260), (180, 220)


def _window(rng: np.random.Generator, size: tuple[int, int], kind: str) -> Frame:
    h, w = size
    if kind == "noise":
        win = noise(rng, h, w)
    else:
        win = textish(rng, h, w)
        win[..., :3] = 255 - win[..., :3]  # a dark terminal
    win[:16] = (60, 60, 60, 255)  # a title bar
    return win


def _scene(
    wall: Frame, a: Frame, b: Frame, at: tuple[int, int], *, gap: int, drop: int
) -> tuple[Frame, tuple[int, int], tuple[int, int]]:
    """``a`` at ``at`` and ``b`` ``gap`` px to its right, ``drop`` px lower;
    the frame and both corners."""
    x, y = at
    bx, by = x + a.shape[1] + gap, y + drop
    f = wall.copy()
    f[y : y + a.shape[0], x : x + a.shape[1]] = a
    f[by : by + b.shape[0], bx : bx + b.shape[1]] = b
    return f, (x, y), (bx, by)


def _drag_together(
    step: tuple[int, int], gap: int, drop: int, *, kinds: tuple[str, str] = ("noise", "text"),
    background: str = "photo", updates: int = 5,
) -> list[tuple[list[tuple[int, int, int, int, int, int]], Any]]:  # fmt: skip
    """Drag both windows by ``step`` each update; per update: its COPYs as
    (dx, dy, x, y, w, h) sorted, the MotionStats, and asserts that they are
    exactly the two windows' moves."""
    rng = np.random.default_rng(1)
    wall = photo(rng, H, W) if background == "photo" else noise(rng, H, W)
    a, b = _window(rng, A, kinds[0]), _window(rng, B, kinds[1])
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0  # what is found, not how fast a loaded machine finds it
    at = (100, 150) if step[1] >= 0 else (100, 330)
    roundtrip(enc, dec, _scene(wall, a, b, at, gap=gap, drop=drop)[0])
    out = []
    for _ in range(updates):
        at = (at[0] + step[0], at[1] + step[1])
        f, (ax, ay), (bx, by) = _scene(wall, a, b, at, gap=gap, drop=drop)
        data = checked_update(enc, dec, f)
        got = sorted((x - sx, y - sy, x, y, w, h) for sx, sy, x, y, w, h in copies_in(data))
        want = sorted([(*step, ax, ay, A[1], A[0]), (*step, bx, by, B[1], B[0])])
        assert got == want, (len(out), got, want)
        out.append((got, stage.last))
    return out


@pytest.mark.parametrize("step", [(24, 16), (30, 0), (-20, 12), (17, -17), (48, 16)])
@pytest.mark.parametrize(("gap", "drop"), [(30, 20), (30, -50), (300, 40), (8, 0)])
def test_two_windows_dragged_together_are_two_whole_copies(
    step: tuple[int, int], gap: int, drop: int
) -> None:
    """Side by side in the same rows (a gap of 8 to 300 px, the second one
    higher or lower), dragged by one 2-D step: each window is one COPY of
    its whole rectangle every update, and after the first update the step
    is guessed, with no 2-D search."""
    result = _drag_together(step, gap, drop)
    for k, (_, stats) in enumerate(result[1:], 1):
        assert (stats.guessed, stats.searches) == (1, 0), (k, stats)


@pytest.mark.parametrize("step", [(0, 24), (0, -30)])
@pytest.mark.parametrize(("gap", "drop"), [(30, 20), (30, -50), (300, 40)])
def test_two_windows_dragged_up_or_down_together_are_two_whole_copies(
    step: tuple[int, int], gap: int, drop: int
) -> None:
    """A vertical drag is a scroll to the stage, then predicted: the window
    the prediction does not cover (beside its columns) is still searched
    and copied whole, and never copied twice over the predicted one."""
    result = _drag_together(step, gap, drop)
    for k, (_, stats) in enumerate(result[1:], 1):
        assert stats.predicted == 1, (k, stats)


@pytest.mark.parametrize("kinds", [("text", "text"), ("noise", "noise")])
def test_two_windows_with_the_same_content_kind_over_noise(kinds: tuple[str, str]) -> None:
    """Two terminals (blank rows in both) or two noisy windows over a noise
    wallpaper: still two whole COPYs."""
    _drag_together((22, 14), 40, 10, kinds=kinds, background="noise")


def test_a_band_of_three_windows_moving_by_one_offset() -> None:
    """Three windows in one band of rows moving by the same offset: three COPYs."""
    rng = np.random.default_rng(2)
    wall = photo(rng, H, W)
    wins = [_window(rng, (150, 200), "noise"), _window(rng, (170, 180), "text"),
            _window(rng, (140, 240), "noise")]  # fmt: skip
    xs, ys = [60, 330, 580], [200, 220, 190]
    enc, dec = make_pair(W, H)
    assert enc.motion_stage is not None
    enc.motion_stage.budget = 60.0

    def frame(dx: int, dy: int) -> Frame:
        f = wall.copy()
        for w, x, y in zip(wins, xs, ys, strict=True):
            f[y + dy : y + dy + w.shape[0], x + dx : x + dx + w.shape[1]] = w
        return f

    roundtrip(enc, dec, frame(0, 0))
    for k in range(1, 5):
        f = frame(26 * k, 10 * k)
        data = checked_update(enc, dec, f)
        got = sorted((x - sx, y - sy, x, y, w, h) for sx, sy, x, y, w, h in copies_in(data))
        want = sorted(
            (26, 10, x + 26 * k, y + 10 * k, w.shape[1], w.shape[0])
            for w, x, y in zip(wins, xs, ys, strict=True)
        )
        assert got == want, (k, got)


# -- the kernels ------------------------------------------------------------------


@pytest.mark.parametrize("most", [1, 2, 3, 4, 16])
@pytest.mark.parametrize("seed", range(40))
def test_match_runs_most_matches_reference(most: int, seed: int) -> None:
    """Several runs a row (few colours: many runs, ties), any shift, masks."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 20)), int(rng.integers(1, 90))
    prev = rng.integers(0, 2, (h, w, 4), dtype=np.uint8)
    cur = prev.copy()
    cur[rng.random((h, w)) < 0.08] ^= 1
    dx, dy = int(rng.integers(-3, 4)), int(rng.integers(-3, 4))
    cur = np.roll(cur, (dy, dx), axis=(0, 1)) if seed % 2 else cur
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    rect = (x, y, int(rng.integers(1, w - x + 1)), int(rng.integers(1, h - y + 1)))
    mask = rng.random(rect[3]) < 0.8 if seed % 3 == 0 else None
    min_run = int(rng.integers(1, 6))
    got = _rowhash.match_runs(prev, cur, rect, dx, dy, min_run=min_run, row_mask=mask, most=most)
    want = ref.match_runs_reference(
        prev, cur, rect, dx, dy, min_run=min_run, row_mask=mask, most=most
    )
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("seed", range(30))
def test_screen_shifts_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 70)), int(rng.integers(1, 90))
    prev = rng.integers(0, 2, (h, w, 4), dtype=np.uint8)
    cur = np.roll(prev, (2, 3), axis=(0, 1))
    cur[rng.random((h, w)) < 0.05] ^= 1
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    rect = (x, y, int(rng.integers(1, w - x + 1)), int(rng.integers(1, h - y + 1)))
    shifts = [(3, 2), (2, 2), (0, 1), (-w - 1, 0), (1, h + 2), (6, 4)]
    step, min_run = int(rng.integers(1, 17)), int(rng.integers(1, 5))
    got = _rowhash.screen_shifts(prev, cur, rect, shifts, row_step=step, min_run=min_run)
    want = ref.screen_shifts_reference(prev, cur, rect, shifts, row_step=step, min_run=min_run)
    assert np.array_equal(got, want)


def test_runs_to_boxes_keeps_side_by_side_runs_apart() -> None:
    """Two runs a row: two boxes, each continuing its own run; one run a row
    gives what the 1-D form gives."""
    s = np.array([[10, 200]] * 6 + [[10, 0]] * 3 + [[10, 200]] * 2, np.int32)
    e = np.array([[110, 300]] * 6 + [[110, 0]] * 3 + [[110, 300]] * 2, np.int32)
    boxes = sorted(_rowhash.runs_to_boxes(s, e, 50, 32, 64, 0.9))
    assert boxes == [(10, 50, 100, 11), (200, 50, 100, 6), (200, 59, 100, 2)]
    one = _rowhash.runs_to_boxes(s[:, :1], e[:, :1], 50, 32, 64, 0.9)
    assert one == _rowhash.runs_to_boxes(s[:, 0], e[:, 0], 50, 32, 64, 0.9)


# -- the cost of a failed guess -------------------------------------------------


def _count_guess_kernels(monkeypatch: pytest.MonkeyPatch, kind: str) -> list[tuple[int, int]]:
    """Drag a window by (24, 16) three updates, then turn it by a right
    angle, (-16, 24): per update, the kernel calls that screened and
    verified guesses (match_runs and screen_shifts made inside
    ``_guess_move``) and the regions guessed. ``kind``: noise or text,
    "noise with a title bar" (rows that match a wrong step)."""
    rng = np.random.default_rng(5)
    wall = photo(rng, H, W)
    win = _window(rng, (420, 620), kind.split(maxsplit=1)[0])
    if kind == "noise":
        win[:16] = noise(rng, 16, 620)  # no title bar: nothing repeats
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0
    calls = [0]
    inside = [False]
    guess_move = stage._guess_move

    def counting_guess(*a: Any, **kw: Any) -> Any:
        inside[0] = True
        try:
            return guess_move(*a, **kw)
        finally:
            inside[0] = False

    def counted(fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            calls[0] += inside[0]
            return fn(*a, **kw)

        return wrapper

    monkeypatch.setattr(stage, "_guess_move", counting_guess)
    monkeypatch.setattr(_rowhash, "match_runs", counted(_rowhash.match_runs))
    if hasattr(_rowhash, "screen_shifts"):
        monkeypatch.setattr(_rowhash, "screen_shifts", counted(_rowhash.screen_shifts))
    x, y = 200, 80
    roundtrip(enc, dec, _place(wall, win, x, y))
    out = []
    for dx, dy in [(24, 16)] * 3 + [(-16, 24), (-16, 24)]:
        x, y = x + dx, y + dy
        calls[0] = 0
        n, _ = roundtrip(enc, dec, _place(wall, win, x, y))
        assert n == 1
        out.append((calls[0], stage.last.guessed))
    return out


def _place(wall: Frame, win: Frame, x: int, y: int) -> Frame:
    f = wall.copy()
    f[y : y + win.shape[0], x : x + win.shape[1]] = win
    return f


@pytest.mark.parametrize("kind", ["noise", "text", "noise with a title bar"])
def test_a_failed_guess_costs_one_screening_pass(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The turn: all 11 guesses fail. They cost one screening call (the old
    code made 11, one per guess, and verified the best of any that matched a
    pixel run), plus a verification only where a guess matched a copy's
    worth of the sampled rows (a title bar or blank terminal rows match a
    wrong step); a held guess costs the screening and one verification."""
    result = _count_guess_kernels(monkeypatch, kind)
    calls = [c for c, _ in result]
    assert result[0] == (0, 0)  # the first move: no step to guess from
    assert calls[1] == calls[2] == 2, result  # screened, verified
    if kind == "noise":
        assert calls[3] == 1, result  # the turn: screened, nothing verified
    else:
        assert calls[3] <= 2, result
    assert result[3][1] == 1, result


@pytest.mark.parametrize(
    "call",
    [
        lambda f: _rowhash.match_runs(f, f, (0, 0, 10, 10), 1, 0, most=0),
        lambda f: _rowhash.match_runs(f, f, (0, 0, 10, 10), 1, 0, most=_rowhash.MAX_ROW_RUNS + 1),
        lambda f: _rowhash.screen_shifts(f, f, (0, 0, 10, 10), [(1, 0)], row_step=0),
        lambda f: _rowhash.screen_shifts(f, f, (0, 0, 10, 10), [(1, 0)], row_step=4, min_run=0),
        lambda f: _rowhash.screen_shifts(f, f, (0, 0, 10, 10), [1, 0], row_step=4),
        lambda f: _rowhash.screen_shifts(f, f, (0, 0, 10, 10), [(1.5, 0)], row_step=4),
        lambda f: _rowhash.screen_shifts(f, f, (0, 0, 10, 10), [(2**40, 0)], row_step=4),
        lambda f: _rowhash.screen_shifts(f, f, (5, 0, 10, 10), [(1, 0)], row_step=4),
        lambda f: _rowhash.screen_shifts(f, f[:, :9], (0, 0, 9, 10), [(1, 0)], row_step=4),
        lambda f: _rowhash.runs_to_boxes(np.zeros((3, 17)), np.zeros((3, 17)), 0, 1, 1, 0.9),
    ],
)
def test_new_entry_points_refuse_bad_input(call: Any) -> None:
    from screencodec.errors import FrameError

    with pytest.raises(FrameError):
        call(np.zeros((10, 10, 4), np.uint8))


def test_screen_shifts_of_no_shifts_is_empty() -> None:
    f = np.zeros((10, 10, 4), np.uint8)
    out = _rowhash.screen_shifts(f, f, (0, 0, 10, 10), np.empty((0, 2), np.int32), row_step=4)
    assert out.shape == (0,)
