"""Scrolls and moves through the whole encoder and decoder: bit-exact results,
COPY ops where they belong, none that is wrong."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from screencodec import ScreenEncoder
from screencodec.geometry import Rect

from .motion_helpers import Frame, make_pair, noise, roundtrip, stripes, textish

W, H = 400, 300


def _page(kind: str, h: int, w: int, seed: int = 0) -> Frame:
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return noise(rng, h, w)
    if kind == "text":
        return textish(rng, h, w)
    if kind == "stripes":
        return stripes(h, w, 4)
    if kind == "stripes+marks":  # repeating rows with a few unique ones
        page = stripes(h, w, 4)
        for y in range(0, h, 37):
            page[y, : w // 2, :3] = rng.integers(0, 256, (w // 2, 3), dtype=np.uint8)
        return page
    if kind == "blank":  # nearly every row the same
        page = np.full((h, w, 4), 255, np.uint8)
        for y in range(5, h, 90):
            page[y : y + 3, 10:60, :3] = rng.integers(0, 256, 3, dtype=np.uint8)
        return page
    raise AssertionError(kind)


#: name -> (viewport, scroll bar beside it or None). The rest of the screen is
#: fixed chrome (header, footer, sidebar) of noise.
LAYOUTS: dict[str, tuple[Rect, Rect | None]] = {
    "full-screen": (Rect(0, 0, W, H), None),
    "pane+header+footer+bar": (Rect(40, 24, 340, 250), Rect(380, 24, 16, 250)),
    "bottom-right-edge": (Rect(150, 100, W - 150, H - 100), None),
    "top-left-edge": (Rect(0, 0, 260, 200), Rect(260, 0, 14, 200)),
}


def _scroll_frame(  # noqa: PLR0917
    chrome: Frame, page: Frame, view: Rect, bar: Rect | None, x: int, y: int
) -> Frame:
    f = chrome.copy()
    f[view.slices()] = page[y : y + view.h, x : x + view.w]
    if bar is not None:  # the thumb moves with the page
        f[bar.slices()] = (200, 200, 200, 255)
        top = bar.y + (y * 3) % (bar.h - 30)
        f[top : top + 30, bar.x + 2 : bar.right - 2] = (90, 90, 90, 255)
    return f


def _run(frames: list[Frame], *, eager: bool = False) -> tuple[list[int], list[int]]:
    enc, dec = make_pair(W, H, eager=eager)
    counts, sizes = [], []
    for f in frames:
        n, size = roundtrip(enc, dec, f)
        counts.append(n)
        sizes.append(size)
    return counts, sizes


def _bytes_without_motion(frames: list[Frame]) -> list[int]:
    enc = ScreenEncoder(W, H, threads=1, motion=False)
    return [len(enc.encode(f)) for f in frames]


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dy", [1, 2, 5, 16, 47, 100, -1, -3, -30, -90])
@pytest.mark.parametrize("content", ["noise", "text"])
def test_vertical_scroll(layout: str, dy: int, content: str) -> None:
    view, bar = LAYOUTS[layout]
    chrome = noise(np.random.default_rng(99), H, W)
    page = _page(content, view.h + 800, view.w)
    frames = [_scroll_frame(chrome, page, view, bar, 0, 400 + k * dy) for k in range(4)]
    counts, sizes = _run(frames)
    assert counts[0] == 0  # the keyframe
    assert all(c >= 1 for c in counts[1:]), counts
    if content == "noise":
        # Noise costs its size: only the revealed share of the viewport is sent.
        plain = _bytes_without_motion(frames)
        revealed = abs(dy) / view.h
        assert sum(sizes[1:]) < (revealed + 0.1) * sum(plain[1:]), (sizes, plain)


@pytest.mark.parametrize("layout", ["full-screen", "pane+header+footer+bar", "bottom-right-edge"])
@pytest.mark.parametrize("dx", [1, 3, 17, 50, 120, -1, -8, -90])
@pytest.mark.parametrize("content", ["noise", "text"])
def test_horizontal_scroll(layout: str, dx: int, content: str) -> None:
    view, _ = LAYOUTS[layout]
    chrome = noise(np.random.default_rng(98), H, W)
    page = _page(content, view.h, view.w + 800, seed=1)
    frames = [_scroll_frame(chrome, page, view, None, 400 + k * dx, 0) for k in range(4)]
    counts, _ = _run(frames)
    assert all(c >= 1 for c in counts[1:]), counts


def _compose(wall: Frame, win: Frame, x: int, y: int) -> Frame:
    """The window drawn at (x, y) over the wallpaper, clipped to the screen."""
    f = wall.copy()
    h, w = win.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 < x1 and y0 < y1:
        f[y0:y1, x0:x1] = win[y0 - y : y1 - y, x0 - x : x1 - x]
    return f


@pytest.mark.parametrize(
    ("start", "step"),
    [
        ((50, 50), (1, 0)),
        ((50, 50), (0, 1)),
        ((60, 40), (5, -3)),
        ((120, 80), (-20, 15)),
        ((20, 10), (40, 40)),
        ((0, 0), (3, 2)),  # from the top-left corner
        ((W - 220, H - 150), (-6, -4)),  # from the bottom-right corner
        ((W - 150, 60), (10, 3)),  # sliding off the right edge
        ((30, -60), (2, 12)),  # coming down from above the screen
    ],
)
@pytest.mark.parametrize("window", ["text", "noise"])
def test_window_move_over_texture(
    start: tuple[int, int], step: tuple[int, int], window: str
) -> None:
    rng = np.random.default_rng(5)
    wall = noise(rng, H, W)
    win = textish(rng, 150, 220) if window == "text" else noise(rng, 150, 220)
    win[:20] = (180, 120, 60, 255)  # a title bar
    frames = [_compose(wall, win, start[0] + k * step[0], start[1] + k * step[1]) for k in range(4)]
    counts, sizes = _run(frames)
    assert all(c >= 1 for c in counts[1:]), counts
    plain = _bytes_without_motion(frames)
    assert sum(sizes[1:]) < sum(plain[1:]), (sizes, plain)


@pytest.mark.parametrize("content", ["stripes", "stripes+marks", "blank", "text"])
@pytest.mark.parametrize("dy", [1, 2, 3, 4, 5, 8, -1, -4, -7])
def test_repeating_content_scrolls_exactly(content: str, dy: int) -> None:
    view, bar = LAYOUTS["pane+header+footer+bar"]
    chrome = noise(np.random.default_rng(97), H, W)
    page = _page(content, view.h + 200, view.w, seed=3)
    frames = [_scroll_frame(chrome, page, view, bar, 0, 100 + k * dy) for k in range(5)]
    counts, _ = _run(frames)
    _run(frames, eager=True)  # eager thresholds try far more candidates
    if content in ("stripes+marks", "text"):
        assert sum(counts[1:]) >= 1


Maker = Callable[[np.random.Generator], Frame]


@pytest.mark.parametrize("step", [(1, 0), (0, 1), (2, 2), (4, 0), (3, -5)])
def test_checkerboard_window_over_checkerboard(step: tuple[int, int]) -> None:
    """Everything repeats: many shifts match locally, only exact copies may win."""
    yy, xx = np.mgrid[0:H, 0:W]
    wall = np.zeros((H, W, 4), np.uint8)
    wall[..., :3] = (((yy // 2 + xx // 2) % 2) * 255)[..., None].astype(np.uint8)
    wall[..., 3] = 255
    win = np.zeros((150, 220, 4), np.uint8)
    wy, wx = np.mgrid[0:150, 0:220]
    win[..., 1] = ((wy // 4 + wx // 4) % 2 * 200).astype(np.uint8)
    win[..., 3] = 255
    frames = [_compose(wall, win, 50 + k * step[0], 60 + k * step[1]) for k in range(5)]
    _run(frames)
    _run(frames, eager=True)


def test_motion_off_emits_no_copy() -> None:
    view, bar = LAYOUTS["full-screen"]
    page = _page("noise", view.h + 100, view.w)
    chrome = np.zeros((H, W, 4), np.uint8)
    enc = ScreenEncoder(W, H, threads=1, motion=False)
    from .motion_helpers import copies_in

    for k in range(3):
        data = enc.encode(_scroll_frame(chrome, page, view, bar, 0, 10 + 4 * k))
        assert copies_in(data) == []
    assert enc.motion_stage is None


def test_two_regions_scroll_at_once() -> None:
    """Two panes scroll by different amounts in the same frame."""
    rng = np.random.default_rng(8)
    chrome = noise(rng, H, W)
    left, right = Rect(0, 20, 190, 260), Rect(210, 20, 190, 260)
    pl, pr = noise(rng, 700, 190), textish(rng, 700, 190)
    frames = []
    for k in range(4):
        f = chrome.copy()
        f[left.slices()] = pl[100 + 7 * k : 100 + 7 * k + left.h]
        f[right.slices()] = pr[300 - 13 * k : 300 - 13 * k + right.h]
        frames.append(f)
    counts, _ = _run(frames)
    assert all(c >= 2 for c in counts[1:]), counts


@pytest.mark.parametrize("scenario", ["terminal", "browser", "drag", "typing"])
def test_synthetic_desktop_with_junk_padding(scenario: str) -> None:
    """The synthetic desktop's scenarios (X bytes that change every frame, as
    some capture APIs leave them): exact, and COPYs where things move."""
    from screencodec.capture.synthetic import SyntheticDesktop

    src = SyntheticDesktop(800, 500, scenario=scenario, junk_padding=True)
    enc, dec = make_pair(800, 500)
    total = 0
    for _ in range(8):
        frame = src.grab()
        n, _ = roundtrip(enc, dec, frame)
        total += n
    if scenario != "typing":
        assert total >= 1
