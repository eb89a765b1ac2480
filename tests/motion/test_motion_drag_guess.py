"""A dragged window's next step is guessed before it is searched for.

A region the last update found moved in 2-D tries that step, its neighbours
one pixel away, twice and half it, screened on sampled rows, and verifies the
likeliest; when that leaves only what a move reveals, the 2-D search
(``segment_shifts``) does not run. Through a real encoder and decoder: every
update exact, every COPY exact against the viewer's picture before it, one
COPY for the window, and ``MotionStats`` saying which path found it.
"""

from __future__ import annotations

import numpy as np
import pytest

from .motion_helpers import Frame, copies_in, make_pair, noise, photo, roundtrip, same_bgr, textish

W, H = 800, 520
WW, WH = 260, 170


def _window(rng: np.random.Generator) -> Frame:
    win = textish(rng, WH, WW, line=12)
    win[..., :3] = 255 - win[..., :3]  # a dark terminal
    win[:18] = (70, 70, 70, 255)  # its title bar
    return win


def _drag(
    steps: list[tuple[int, int]], *, background: str = "photo", seed: int = 3
) -> list[tuple[int, int, int, int, int, int]]:
    """Drag a window by ``steps`` across the middle of the screen; per update
    after the keyframe: (COPY ops, 2-D searches, guessed regions, changed
    pixels, pixels the move revealed, COPYs from a predicted scroll).
    Asserts that each update's one COPY, when there is one, is the window's
    move."""
    rng = np.random.default_rng(seed)
    wall = photo(rng, H, W) if background == "photo" else noise(rng, H, W)
    win = _window(rng)
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0  # what is found, not how fast a loaded machine finds it
    # Centred on the screen: the whole path.
    x = (W - WW) // 2 - sum(dx for dx, _ in steps) // 2
    y = (H - WH) // 2 - sum(dy for _, dy in steps) // 2
    f = wall.copy()
    f[y : y + WH, x : x + WW] = win
    roundtrip(enc, dec, f)
    out = []
    for dx, dy in steps:
        x, y = x + dx, y + dy
        assert 0 <= x <= W - WW and 0 <= y <= H - WH, "the drag leaves the screen"
        f = wall.copy()
        f[y : y + WH, x : x + WW] = win
        data = enc.encode(f)
        copies = copies_in(data)
        n = len(copies)
        if n == 1:
            # The window's move; rows that are the same in both places (its
            # blank last lines moved over blank lines) need no copy.
            sx, sy, cx, cy, cw, ch = copies[0]
            assert (cx - sx, cy - sy) == (dx, dy), copies
            assert cx == x and cw == WW and y <= cy and cy + ch <= y + WH, copies
            assert ch >= WH - 12, copies
        fb = dec.decode(data)
        assert same_bgr(fb, f)
        revealed = WW * WH - max(0, WW - abs(dx)) * max(0, WH - abs(dy))
        m = stage.last
        out.append((n, m.searches, m.guessed, enc.last.changed_pixels, revealed, m.predicted))
    return out


def _guessed_after_the_first(result: list[tuple[int, int, int, int, int, int]]) -> None:
    first = result[0]
    assert first[0] == 1 and first[1] == 1 and first[2] == 0, first  # found by the search
    for k, (n, searches, guessed, changed, revealed, _) in enumerate(result[1:], 1):
        assert (n, searches, guessed) == (1, 0, 1), (k, result[k])
        # What is left is the uncovered background (as tile-trimmed rects).
        assert revealed <= changed <= 1.1 * revealed, (k, result[k])


@pytest.mark.parametrize("background", ["photo", "noise"])
@pytest.mark.parametrize("step", [(24, 24), (-30, 17), (40, 0), (-36, 0), (17, -17), (3, 1)])
def test_a_steady_drag_is_guessed_without_a_search(
    background: str, step: tuple[int, int]
) -> None:
    """Horizontal, diagonal, and slow: after the first update the step is
    guessed, one COPY, and no 2-D search runs."""
    _guessed_after_the_first(_drag([step] * 5, background=background))


def test_one_or_two_pointer_events_a_frame() -> None:
    """A pointer's motion events arrive one or two to a frame: the step
    doubles and halves (the real-screen drag: 24 and 48 px)."""
    _guessed_after_the_first(_drag([(24, 8), (48, 16), (24, 8), (24, 8), (48, 16), (24, 8)]))
    _guessed_after_the_first(_drag([(-17, -17), (-34, -34), (-17, -17), (-34, -34)]))


def test_a_smoothly_changing_step() -> None:
    """A hand speeds up and turns: steps one pixel apart are guessed."""
    _guessed_after_the_first(_drag([(20, 10), (21, 10), (21, 11), (22, 12), (21, 12), (21, 11)]))


@pytest.mark.parametrize("step", [(0, -36), (0, 40), (0, -70)])
def test_a_window_dragged_up_or_down_is_a_scroll_that_follows_it(step: tuple[int, int]) -> None:
    """A vertical drag is found as a scroll and then predicted as one
    (screencodec.motion.predict): the prediction's box follows the window
    and reaches the scroll's distance beyond it, so the window stays
    one whole COPY however far it goes, with only what it reveals sent."""
    result = _drag([step] * 5)
    for k, (n, searches, _, changed, revealed, predicted) in enumerate(result):
        assert n == 1, (k, result[k])
        if k:
            assert (predicted, searches) == (1, 0), (k, result[k])
        assert revealed <= changed <= 1.1 * revealed, (k, result[k])


@pytest.mark.parametrize(
    "steps",
    [[(24, 16), (-24, -16)], [(30, 0), (0, 30)], [(20, 20), (31, 9)], [(10, 10), (60, 60)]],
)
def test_a_step_not_guessed_is_searched_for(steps: list[tuple[int, int]]) -> None:
    """Reversed, turned by a right angle, changed by more than a pixel, or
    more than twice as fast: the guesses fail (screened, one verified at
    most) and the search finds the move, one COPY as before."""
    result = _drag(steps)
    assert result[0][:3] == (1, 1, 0)
    n, searches, guessed, changed, revealed, _ = result[1]
    assert (n, searches, guessed) == (1, 1, 1), result[1]
    assert revealed <= changed <= 1.1 * revealed


def test_a_window_redrawn_as_it_moves_stays_exact() -> None:
    """The window moves by the guessed step while its text changes (a
    terminal printing): the guess matches only the rows that did not change,
    each copied run verified on the pixels; whatever the copies, the viewer's
    picture is the frame (roundtrip checks every COPY against the picture
    before it)."""
    rng = np.random.default_rng(9)
    wall = photo(rng, H, W)
    enc, dec = make_pair(W, H)
    assert enc.motion_stage is not None
    enc.motion_stage.budget = 60.0  # what is found, not how fast a loaded machine finds it
    x, y = 200, 150
    win = _window(rng)
    for k in range(8):
        x, y = x + 20, y + 12
        if k >= 3:
            win[18 + 12 * k : 30 + 12 * k] = _window(rng)[18 : 30]  # a new line each update
        f = wall.copy()
        f[y : y + WH, x : x + WW] = win
        n, _ = roundtrip(enc, dec, f)
        if k:
            assert n >= 1, k


@pytest.mark.parametrize("dx", [-40, 24, -7])
def test_a_horizontal_scroll_is_guessed_too(dx: int) -> None:
    """A wide sheet scrolled sideways in a fixed viewport (a spreadsheet, a
    long line in an editor) moves in 2-D to the stage (its columns change):
    after the first update its step is guessed, one COPY of the viewport
    minus the strip it reveals, and nothing searched."""
    rng = np.random.default_rng(4)
    sheet = textish(rng, 300, 2000, line=14)
    wall = photo(rng, H, W)
    vx, vy, vw, vh = 60, 100, 640, 300
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None
    stage.budget = 60.0
    pos = 600
    for k in range(6):
        f = wall.copy()
        f[vy : vy + vh, vx : vx + vw] = sheet[:, pos : pos + vw]
        data = enc.encode(f)
        assert same_bgr(dec.decode(data), f)
        if k >= 1:
            copies = copies_in(data)
            assert len(copies) == 1, (k, copies)
            sx, sy, cx, cy, cw, ch = copies[0]
            assert (cx - sx, cy - sy) == (dx, 0) and cw == vw - abs(dx), (k, copies)
            assert vy <= cy and cy + ch <= vy + vh and ch >= vh - 28, (k, copies)
            m = stage.last
            assert (m.searches, m.guessed) == ((1, 0) if k == 1 else (0, 1)), (k, m)
            assert enc.last.changed_pixels <= 1.1 * abs(dx) * vh, k
        pos -= dx
