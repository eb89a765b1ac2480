"""Attacks on the dragged window's guessed step (MotionStage._guess_move,
_move_explains) and on the predicted scroll's growing box (predict).

Through a real encoder and decoder (``roundtrip``: every picture exact,
every COPY exact against the viewer's picture before it): repeating and
blank content, windows clipped at the screen's edges, steps near zero and
steps whose double leaves the screen, a window that stops, two windows at
once, a drag beside a scrolling pane, a drag that turns every update,
keyframes and size changes in a drag, the move limits, vertical drags
across the whole screen. And the cost: a guess that explains a region must
not leave what the 2-D search would have copied (compared with the same
encoder with the guess disabled).
"""

from __future__ import annotations

import numpy as np
import pytest

from screencodec import ScreenEncoder
from screencodec.motion import MotionStage

from .motion_helpers import (
    Frame,
    copies_in,
    make_pair,
    noise,
    photo,
    roundtrip,
    same_bgr,
    stripes,
    textish,
)

W, H = 800, 520


def _no_guess(enc: ScreenEncoder) -> None:
    """The behaviour before the guess: every dragged region is searched."""
    stage = enc.motion_stage
    assert stage is not None
    stage._guess_move = lambda *a, **k: []  # type: ignore[method-assign]


def _place(wall: Frame, wins: list[tuple[Frame, int, int]]) -> Frame:
    """``wall`` with each window drawn at (x, y), clipped to the screen."""
    f = wall.copy()
    h, w = f.shape[:2]
    for win, x, y in wins:
        wh, ww = win.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + ww, w), min(y + wh, h)
        if x0 < x1 and y0 < y1:
            f[y0:y1, x0:x1] = win[y0 - y : y1 - y, x0 - x : x1 - x]
    return f


def _window(rng: np.random.Generator, h: int, w: int, kind: str) -> Frame:
    if kind == "noise":
        win = noise(rng, h, w)
    elif kind == "text":
        win = textish(rng, h, w)  # mostly blank lines
    elif kind == "stripes":
        win = stripes(h, w, 4)
    elif kind == "blank":
        win = np.full((h, w, 4), 255, np.uint8)
    else:
        raise AssertionError(kind)
    win[:16] = (60, 60, 60, 255)  # a title bar
    return win


def _drag(
    enc: ScreenEncoder, wall: Frame, win: Frame, start: tuple[int, int],
    steps: list[tuple[int, int]],
) -> list[tuple[int, int, int, int]]:  # fmt: skip
    """Drag ``win`` from ``start`` by ``steps`` (roundtrip-checked); per update
    after the first: (COPY ops, changed pixels, guessed regions, searches)."""
    dec = make_pair(*enc.size)[1]
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0  # what is found, not how fast a loaded machine finds it
    x, y = start
    roundtrip(enc, dec, _place(wall, [(win, x, y)]))
    out = []
    for dx, dy in steps:
        x, y = x + dx, y + dy
        n, _ = roundtrip(enc, dec, _place(wall, [(win, x, y)]))
        m = stage.last
        out.append((n, enc.last.changed_pixels, m.guessed, m.searches))
    return out


# -- correctness ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["noise", "text", "stripes", "blank"])
@pytest.mark.parametrize("wallpaper", ["photo", "white"])
def test_repeating_content_and_tiny_steps_stay_exact(kind: str, wallpaper: str) -> None:
    """Stripes, blank lines, a white window on a white wallpaper, moved by
    steps whose neighbours include (0, 0) and steps that reverse: every
    guessed copy is exact, and for content with detail the guess is used."""
    rng = np.random.default_rng(11)
    wall = photo(rng, H, W) if wallpaper == "photo" else np.full((H, W, 4), 255, np.uint8)
    win = _window(rng, 200, 300, kind)
    steps = [(1, 0)] * 3 + [(0, 1)] * 2 + [(1, 1)] * 3 + [(-1, -1), (2, 2), (24, 16), (24, 16)]
    result = _drag(make_pair(W, H)[0], wall, win, (200, 150), steps)
    if kind == "noise":
        assert sum(r[2] for r in result) >= 5, result


@pytest.mark.parametrize(
    ("start", "step"),
    [((600, 100), (20, 6)), ((100, 380), (-6, 20)), ((-20, 100), (-20, -6)), ((300, 10), (5, -12))],
)
def test_a_window_dragged_off_the_screen_edge_stays_exact(
    start: tuple[int, int], step: tuple[int, int]
) -> None:
    """The window leaves the screen: the guessed step's source and its double's
    lie partly (then wholly) outside the frame; copies stay exact."""
    rng = np.random.default_rng(4)
    wall = photo(rng, H, W)
    win = _window(rng, 170, 260, "noise")
    result = _drag(make_pair(W, H)[0], wall, win, start, [step] * 8)
    assert sum(r[2] for r in result) >= 3, result  # the guess ran while it was on screen
    assert result[1][0] == 1 and result[1][2] == 1, result


def test_steps_whose_double_leaves_the_screen_stay_exact() -> None:
    """A window thrown across the screen and back: twice the step is larger
    than the screen, and the next step reverses it."""
    rng = np.random.default_rng(5)
    wall = photo(rng, H, W)
    win = _window(rng, 120, 200, "noise")
    steps = [(450, 300), (-450, -300), (450, 300), (450 - 900, 0), (580, -290)]
    result = _drag(make_pair(W, H)[0], wall, win, (50, 50), steps)
    assert all(r[0] == 1 for r in result), result


def test_a_window_that_stops_and_goes_on_stays_exact() -> None:
    """A window stops (no damage), then is dragged on by another step, then
    by the old one: the step kept for one update only, never a stale copy."""
    rng = np.random.default_rng(6)
    wall = photo(rng, H, W)
    win = _window(rng, 170, 260, "noise")
    steps = [(20, 10), (20, 10), (0, 0), (0, 0), (-15, 8), (-15, 8), (20, 10)]
    result = _drag(make_pair(W, H)[0], wall, win, (200, 150), steps)
    assert result[2][:3] == (0, 0, 0) and result[3][:3] == (0, 0, 0), result
    assert result[4][2] == 0, result  # nothing moved in the last update: no guess
    assert [r[0] for r in result] == [1, 1, 0, 0, 1, 1, 1], result


def test_two_windows_dragged_with_different_steps_each_keep_their_own() -> None:
    """Two windows far apart, dragged at once by different steps: each region
    guesses its own step; both are one COPY every update."""
    rng = np.random.default_rng(7)
    wall = photo(rng, H, W)
    a, b = _window(rng, 150, 220, "noise"), _window(rng, 150, 220, "text")
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0
    pa, pb = (40, 40), (520, 330)
    roundtrip(enc, dec, _place(wall, [(a, *pa), (b, *pb)]))
    for k in range(6):
        pa, pb = (pa[0] + 12, pa[1] + 9), (pb[0] - 10, pb[1] - 14)
        f = _place(wall, [(a, *pa), (b, *pb)])
        data = enc.encode(f)
        shifts = sorted((x - sx, y - sy) for sx, sy, x, y, _, _ in copies_in(data))
        assert shifts == [(-10, -14), (12, 9)], (k, shifts)
        if k:
            assert (stage.last.guessed, stage.last.searches) == (2, 0), k
        assert same_bgr(dec.decode(data), f)


def test_a_drag_that_turns_every_update_stays_exact_and_copied() -> None:
    """Every step is a right angle from the last: no guess matches, the
    search finds each move, one COPY per update."""
    rng = np.random.default_rng(8)
    wall = photo(rng, H, W)
    win = _window(rng, 170, 260, "noise")
    steps = [(30, 0), (0, 30), (-30, 0), (0, -30)] * 2
    result = _drag(make_pair(W, H)[0], wall, win, (250, 150), steps)
    assert all(r[0] == 1 for r in result), result


def test_a_drag_beside_a_scrolling_pane_copies_both() -> None:
    """A terminal pane scrolls on the left while a window is dragged on the
    right: every update copies the pane's scroll and the window's move."""
    rng = np.random.default_rng(9)
    wall = photo(rng, H, W)
    page = textish(rng, 3000, 300)
    win = _window(rng, 150, 220, "noise")
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0
    x, y, top = 420, 60, 0
    for k in range(8):
        f = _place(wall, [(page[top : top + H], 0, 0), (win, x, y)])
        data = enc.encode(f)
        if k:
            shifts = {(cx - sx, cy - sy) for sx, sy, cx, cy, _, _ in copies_in(data)}
            assert {(0, -24), (14, 10)} <= shifts, (k, shifts)
        assert same_bgr(dec.decode(data), f)
        x, y, top = x + 14, y + 10, top + 24


@pytest.mark.parametrize("how", ["keyframe", "resize"])
def test_a_keyframe_or_size_change_mid_drag_forgets_the_step(how: str) -> None:
    """After a keyframe (or a new screen size) the next update has no step to
    guess from: it searches, and every update stays exact."""
    rng = np.random.default_rng(10)
    wall = photo(rng, H + 40, W + 40)
    win = _window(rng, 170, 260, "noise")
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0
    size = (W, H)
    x, y = 100, 100
    for k in range(8):
        if k == 4:
            if how == "keyframe":
                enc.request_keyframe()
            else:
                size = (W + 40, H + 40)
        f = _place(wall[: size[1], : size[0]], [(win, x, y)])
        roundtrip(enc, dec, f)
        if k in (2, 3):
            assert stage.last.guessed == 1, k
        if k == 5:
            assert (stage.last.guessed, stage.last.searches) == (0, 1), k
        x, y = x + 22, y + 14


def test_guesses_respect_max_move() -> None:
    """max_move=20: a drag at (12, 8) that doubles to (24, 16) must not be
    copied by the doubled guess (nor anything past the limit)."""
    rng = np.random.default_rng(12)
    wall = photo(rng, H, W)
    win = _window(rng, 170, 260, "noise")
    enc, dec = make_pair(W, H)
    enc.motion_stage = MotionStage(max_move=20, max_hscroll=40, budget_ms=60)
    x, y = 150, 120
    roundtrip(enc, dec, _place(wall, [(win, x, y)]))
    for dx, dy in [(12, 8), (12, 8), (24, 16), (12, 8), (20, 0), (40, 0), (21, 0)]:
        x, y = x + dx, y + dy
        f = _place(wall, [(win, x, y)])
        data = enc.encode(f)
        for sx, sy, cx, cy, _, _ in copies_in(data):
            mx, my = cx - sx, cy - sy
            assert max(abs(mx), abs(my)) <= (20 if my else 40), (dx, dy, mx, my)
        assert same_bgr(dec.decode(data), f)


# -- the vertical drag: a predicted scroll whose box grows ---------------------


@pytest.mark.parametrize("kind", ["noise", "text"])
def test_a_window_dragged_down_and_up_across_the_screen_stays_one_copy(kind: str) -> None:
    """From the top edge to the bottom and back, 24 px an update: one COPY
    every update, only what the move reveals sent."""
    rng = np.random.default_rng(13)
    wall = photo(rng, H, W)
    win = _window(rng, 150, 260, kind)
    steps = [(0, 24)] * 15 + [(0, -24)] * 15
    result = _drag(make_pair(W, H)[0], wall, win, (270, 0), steps)
    for k, (n, changed, _, _) in enumerate(result):
        assert n == 1, (k, result[k])
        if kind == "noise" and k not in (0, 15):  # the first, and the turn, are searched
            assert changed <= 1.1 * 24 * 260, (k, result[k])


def test_a_terminal_whose_copies_reach_the_pane_below_keeps_both_scrolls() -> None:
    """Two panes one above the other in the same columns: the top one always
    scrolls by a line; the bottom one scrolls with it on some updates (the
    predicted box grows over it) and by three lines on others. Each update
    copies each pane's scroll."""
    rng = np.random.default_rng(14)
    wall = photo(rng, H, W)
    top_page, low_page = textish(rng, 4000, 500), textish(rng, 4000, 500)
    pattern = [1, 1, 3, 1, 3, 3, 1, 1, 3, 1]
    enc, dec = make_pair(W, H)
    assert enc.motion_stage is not None
    enc.motion_stage.budget = 60.0  # what is found, not how fast a loaded machine finds it
    a = b = 0
    for k in range(len(pattern) + 1):
        f = _place(wall, [(top_page[a : a + 260], 0, 0), (low_page[b : b + 240], 0, 270)])
        data = enc.encode(f)
        shifts = {(cx - sx, cy - sy) for sx, sy, cx, cy, _, _ in copies_in(data)}
        if k:
            assert (0, -12) in shifts and (0, -12 * pattern[k - 1]) in shifts, (k, shifts)
        assert same_bgr(dec.decode(data), f)
        if k < len(pattern):
            a, b = a + 12, b + 12 * pattern[k]


# -- cost: what the guess leaves ------------------------------------------------


def _two_windows(guess: bool) -> list[tuple[int, int]]:
    """A large window dragged by (24, 16) and a small one 20 px to its right
    (one damage region) dragged by (30, 16); per update after the first:
    (COPY ops, changed pixels)."""
    w, h = 1280, 800
    rng = np.random.default_rng(1)
    wall = photo(rng, h, w)
    big, small = noise(rng, 400, 600), noise(rng, 90, 90)
    enc, dec = make_pair(w, h)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0
    if not guess:
        _no_guess(enc)
    (x, y), (x2, y2) = (100, 100), (720, 200)
    roundtrip(enc, dec, _place(wall, [(big, x, y), (small, x2, y2)]))
    out = []
    for _ in range(5):
        x, y, x2, y2 = x + 24, y + 16, x2 + 30, y2 + 16
        n, _ = roundtrip(enc, dec, _place(wall, [(big, x, y), (small, x2, y2)]))
        out.append((n, enc.last.changed_pixels))
    return out


def test_a_second_window_in_the_drag_region_is_copied_as_without_the_guess() -> None:
    """The guess explains the large window; the small one (8,100 px) moved by
    another step. Without the guess the search copies both every update;
    with it, the small window must not be sent as pixels instead."""
    searched = _two_windows(guess=False)
    assert all(n == 2 for n, _ in searched), searched  # the search alone copies both
    guessed = _two_windows(guess=True)
    for k, ((n, changed), (_, base)) in enumerate(zip(guessed, searched, strict=True)):
        assert n == 2 and changed <= base + 1024, (k, guessed, searched)
