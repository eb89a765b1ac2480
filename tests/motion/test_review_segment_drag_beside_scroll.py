"""Review of daa2c67 (a region last found moved in 2-D skips the row search).

A pane scrolls while a window is dragged beside it, close enough that both
are one damage region. Each update the region is mostly the window's 2-D
move; before the fix, from the second update on the region went straight to
the 2-D search for as long as the drag went on, and the pane never got its
row hashes. Its rows are unique (the row search finds the scroll) but each
row repeats a 2-pixel pattern, so its 32-px segments are ambiguous and the
2-D search cannot. Every update must carry both moves, and stay exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from screencodec.motion import MotionStage

from .motion_helpers import Frame, copies_in, make_pair, same_bgr, textish

W, H = 640, 400


def _wall(h: int, w: int) -> Frame:
    yy, xx = np.mgrid[0:h, 0:w]
    f = np.empty((h, w, 4), np.uint8)
    f[..., 0] = 128 + 60 * np.sin(xx / 37) + 40 * np.cos(yy / 23)
    f[..., 1] = 100 + 80 * np.sin((xx + yy) / 60)
    f[..., 2] = 90 + 70 * np.cos(xx / 81 - yy / 29)
    f[..., 3] = 255
    return f


def _hatched_list(rng: np.random.Generator, h: int, w: int) -> Frame:
    """Rows of a 2-pixel pattern in colours of their own: every row unique,
    every segment of a row repeated along it."""
    f = np.empty((h, w, 4), np.uint8)
    f[:, 0::2, :3] = rng.integers(0, 256, (h, 1, 3), dtype=np.uint8)
    f[:, 1::2, :3] = rng.integers(0, 256, (h, 1, 3), dtype=np.uint8)
    f[..., 3] = 255
    return f


def _scene() -> tuple[np.random.Generator, Frame, Frame, Frame, Any, Any]:
    """The wallpaper, a tall hatched pane, the window and an encoder/decoder
    pair whose motion budget no machine reaches (what is found must not
    depend on timing)."""
    rng = np.random.default_rng(2)
    wall = _wall(H, W)
    pane = _hatched_list(rng, 2000, 200)
    win = textish(rng, 260, 300, line=12)
    win[:18] = (70, 70, 70, 255)
    enc, dec = make_pair(W, H)
    enc.motion_stage = MotionStage(budget_ms=1000)
    return rng, wall, pane, win, enc, dec


def test_a_pane_scrolling_beside_a_dragged_window_keeps_its_row_search() -> None:
    _, wall, pane, win, enc, dec = _scene()
    x, y, top = 250, 60, 0
    steps = [(0, 0), (6, 4), (-5, 7), (8, -3), (-4, -6), (7, 5), (-6, 3), (5, -5), (-7, 4)]
    missing = []
    for k, (dx, dy) in enumerate(steps):
        x, y, top = x + dx, y + dy, top + 20 * bool(k)
        f = wall.copy()
        f[40:360, 20:220] = pane[top : top + 320]  # scrolled by 20 rows a step
        f[y : y + 260, x : x + 300] = win  # dragged, 30 px or so to its right
        before = None if dec.framebuffer is None else dec.framebuffer.copy()
        data = enc.encode(f)
        shifts = set()
        for sx, sy, cx, cy, w, h in copies_in(data):
            assert before is not None
            assert np.array_equal(
                before[sy : sy + h, sx : sx + w, :3], f[cy : cy + h, cx : cx + w, :3]
            )
            shifts.add((cx - sx, cy - sy))
        assert same_bgr(dec.decode(data), f)  # exact either way
        if k and not {(dx, dy), (0, -20)} <= shifts:
            missing.append((k, sorted({(dx, dy), (0, -20)} - shifts)))
    assert missing == []


def test_a_pane_that_starts_scrolling_during_a_drag_is_found_within_a_few_updates() -> None:
    """The pane is repainted (not scrolled) while the drag starts, so the
    region, pane included, is recorded as moved in 2-D and skips the row
    search; when the pane starts to scroll the 2-D search cannot find it
    (ambiguous segments). Every few updates the row search runs anyway,
    finds it, and keeps running while the pane scrolls."""
    rng, wall, pane, win, enc, dec = _scene()
    x, y, top = 250, 60, 0
    steps = [(0, 0), (6, 4), (-5, 7), (8, -3), (-4, -6), (7, 5), (-6, 3), (5, -5), (-7, 4),
             (6, 2), (-5, -4), (4, 6)]  # fmt: skip
    starts = 4  # the pane scrolls from this update on
    found: list[bool] = []
    for k, (dx, dy) in enumerate(steps):
        x, y = x + dx, y + dy
        top += 20 * (k >= starts)
        f = wall.copy()
        f[40:360, 20:220] = pane[top : top + 320] if k >= starts else _hatched_list(rng, 320, 200)
        f[y : y + 260, x : x + 300] = win
        data = enc.encode(f)
        assert same_bgr(dec.decode(data), f)
        shifts = {(cx - sx, cy - sy) for sx, sy, cx, cy, _, _ in copies_in(data)}
        if k:
            assert (dx, dy) in shifts, k  # the drag itself, every update
        if k >= starts:
            found.append((0, -20) in shifts)
    assert any(found), found  # the pane's scroll was never found
    first = found.index(True)
    assert first <= 3, found  # within _ROW_SKIPS + 1 updates
    assert all(found[first:]), found  # and from then on every update
