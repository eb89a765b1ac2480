"""Each scenario changes the screen the way its real counterpart does, and its
ground truth (``last_motion``, ``last_damage``, ``layout``) is exact."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture import SyntheticDesktop, scenario_names
from screencodec.geometry import Rect

Frame = npt.NDArray[np.uint8]


def frames(src: SyntheticDesktop, n: int) -> list[Frame]:
    return [src.grab().copy() for _ in range(n)]


def changed(a: Frame, b: Frame) -> npt.NDArray[np.bool_]:
    """Pixels whose colour differs (the padding byte never counts)."""
    # As little-endian 32-bit words a BGRX pixel is 0xXXRRGGBB: mask the X out.
    xor = a.view("<u4")[..., 0] ^ b.view("<u4")[..., 0]
    return (xor & 0x00FFFFFF) != 0


def bbox(mask: npt.NDArray[np.bool_]) -> Rect | None:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    return Rect(
        int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
    )


def mask_of(rects: list[Rect], shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    m = np.zeros(shape[:2], bool)
    for r in rects:
        m[r.slices()] = True
    return m


@pytest.mark.parametrize("scenario", scenario_names())
def test_truth_is_exact(scenario: str) -> None:
    """Nothing changes outside ``last_damage``, and ``last_motion`` moves pixels
    exactly: the generic contract the damage and motion engines can test against."""
    src = SyntheticDesktop(640, 400, scenario=scenario, seed=11)
    prev = src.grab().copy()
    motions = 0
    for _ in range(75):
        cur = src.grab().copy()
        outside = changed(prev, cur) & ~mask_of(src.last_damage, cur.shape)
        assert not outside.any(), f"frame {src.frame_index - 1}: change outside damage"
        m = src.last_motion
        if m is not None:
            motions += 1
            assert Rect(0, 0, 640, 400).contains(m.src)
            assert Rect(0, 0, 640, 400).contains(m.dst)
            assert np.array_equal(cur[m.dst.slices()][..., :3], prev[m.src.slices()][..., :3])
        prev = cur
    if scenario in ("terminal", "browser", "drag"):
        assert motions > 30


def test_typing_changes_a_small_area_at_the_caret() -> None:
    src = SyntheticDesktop(1024, 576, scenario="typing", seed=2)
    text = src.layout["text"].union(src.layout["gutter"])
    fs = frames(src, 61)
    typed = 0
    for a, b in pairwise(fs):
        diff = changed(a, b) & ~mask_of([src.layout["clock"]], a.shape)
        box = bbox(diff)
        if box is None:
            continue
        assert text.contains(box)
        # A character or three: a few hundred pixels (a wrap or a view scroll
        # changes more, now and then).
        if diff.sum() < 0.002 * 1024 * 576:
            typed += 1
    assert typed > 30


def test_typing_text_is_antialiased_and_coloured() -> None:
    src = SyntheticDesktop(1280, 720, scenario="typing", seed=2)
    area = src.frame_at(900)[src.layout["text"].slices()][..., :3]
    # Distinct colours counted as packed 24-bit ints: np.unique(..., axis=0)
    # of the (N, 3) rows counts the same, sorting them as records (slow).
    packed = area[..., 0].astype(np.uint32) | area[..., 1].astype(np.uint32) << 8
    packed |= area[..., 2].astype(np.uint32) << 16
    colours = np.unique(packed)
    assert len(colours) > 50  # smooth glyph edges in several syntax colours
    grey = area.astype(int).sum(axis=-1) // 3
    assert len(np.unique(grey)) > 30
    # Syntax colours: some pixels are clearly not grey.
    spread = area.max(axis=-1).astype(int) - area.min(axis=-1)
    assert (spread > 100).sum() > 100


def row_keys(img: Frame) -> list[int]:
    return [hash(row.tobytes()) for row in img]


def test_terminal_scrolls_a_whole_line_up() -> None:
    src = SyntheticDesktop(1024, 576, scenario="terminal", seed=4)
    text = src.layout["text"]
    window = src.layout["window"]
    title = Rect(window.x, window.y, window.w, text.y - window.y)
    fs = frames(src, 30)
    scrolled = 0
    for a, b in pairwise(fs):
        ta, tb = a[text.slices()][..., :3], b[text.slices()][..., :3]
        assert np.array_equal(a[title.slices()], b[title.slices()])
        if np.array_equal(ta, tb):
            continue
        # Find the shift from the pixels alone: the rows above the new line (and
        # the cursor line below it) are the old ones moved up by one line height.
        ka, kb = row_keys(ta), row_keys(tb)
        shifts = [d for d in range(1, 60) if kb[: -2 * d] == ka[d:-d]]
        assert len(shifts) == 1
        lh = shifts[0]
        assert np.array_equal(tb[: -2 * lh], ta[lh:-lh])
        assert 10 <= lh <= 40
        assert kb[-2 * lh : -lh] != ka[-2 * lh : -lh]  # a new line of output
        scrolled += 1
    assert scrolled >= 20
    area = fs[-1][text.slices()][..., :3]
    assert len(np.unique(area.reshape(-1, 3), axis=0)) > 50
    # Error lines: bright red on the dark background (BGR order).
    red = (area[..., 2] > 200) & (area[..., 1] < 110) & (area[..., 0] < 110)
    assert red.sum() > 50


def test_browser_scrolls_content_only() -> None:
    src = SyntheticDesktop(1024, 576, scenario="browser", seed=6)
    content, header, bar = src.layout["content"], src.layout["header"], src.layout["scrollbar"]
    prev = src.grab().copy()
    scrolled = 0
    for _ in range(60):
        cur = src.grab().copy()
        assert np.array_equal(prev[header.slices()], cur[header.slices()])
        ca, cb = prev[content.slices()][..., :3], cur[content.slices()][..., :3]
        m = src.last_motion
        if m is None:
            assert np.array_equal(ca, cb)
            assert np.array_equal(prev[bar.slices()], cur[bar.slices()])
        else:
            d = -m.dy  # > 0: the page moved up (the reader scrolls down)
            assert d != 0
            if d > 0:
                assert np.array_equal(cb[:-d], ca[d:])
            else:
                assert np.array_equal(cb[-d:], ca[:d])
            assert not np.array_equal(ca, cb)
            scrolled += 1
        prev = cur
    assert scrolled > 20
    # The scroll speeds over a minute, from the truth alone (no rendering).
    speeds = [m.dy if m else 0 for m, _ in map(src.truth_at, range(1, 1800))]
    moving = [abs(s) for s in speeds if s]
    assert all(3 <= s <= 12 for s in moving)
    assert len(set(moving)) >= 5
    assert any(s > 0 for s in speeds)  # the odd scroll back up
    assert speeds.count(0) > 100  # reading pauses
    assert len(moving) > 900


def test_drag_moves_the_window_and_reveals_the_wallpaper() -> None:
    src = SyntheticDesktop(1024, 576, scenario="drag", seed=8)
    prev = src.grab().copy()
    start = src.layout["window"]
    window_px = prev[start.slices()].copy()
    steps = []
    for _ in range(60):
        cur = src.grab().copy()
        m = src.last_motion
        if m is not None:
            assert m.kind == "move"
            assert (m.src.w, m.src.h) == (start.w, start.h)
            assert np.array_equal(cur[m.dst.slices()], window_px)
            # Where the window was and is no longer, the wallpaper shows.
            gone = np.ones((m.src.h, m.src.w), bool)
            overlap = m.src.intersection(m.dst)
            if not overlap.is_empty():
                gone[
                    overlap.y - m.src.y : overlap.bottom - m.src.y,
                    overlap.x - m.src.x : overlap.right - m.src.x,
                ] = False
            assert changed(prev[m.src.slices()], cur[m.src.slices()])[gone].mean() > 0.5
            pointer = src.cursor()
            assert m.dst.contains(Rect(pointer.x, pointer.y, 1, 1))
            steps.append(max(abs(m.dx), abs(m.dy)))
        prev = cur
    assert len(steps) > 45
    assert max(steps) >= 8
    assert min(steps) < max(steps) / 2  # it speeds up and slows down


def test_video_region_changes_every_frame_rest_is_still() -> None:
    src = SyntheticDesktop(1024, 576, scenario="video", seed=9)
    video = src.layout["video"]
    assert 0.2 < video.area / (1024 * 576) < 0.45
    still = ~mask_of([video, src.layout["controls"], src.layout["clock"]], (576, 1024))
    fs = frames(src, 30)
    for a, b in pairwise(fs):
        diff = changed(a, b)
        assert diff[video.slices()].mean() > 0.5
        assert not diff[still].any()
    pic = fs[0][video.slices()][..., :3].reshape(-1, 3)
    # Photo-like, not text-like: a broad spread of colours, no dominant one.
    colours, counts = np.unique(pic, axis=0, return_counts=True)
    assert len(colours) > 5000
    assert counts.max() < 0.01 * len(pic)


def test_idle_is_nearly_static() -> None:
    src = SyntheticDesktop(1024, 576, scenario="idle", seed=10)
    fs = frames(src, 61)
    caret, clock = src.layout["caret"], src.layout["clock"]
    elsewhere = ~mask_of([caret, clock], fs[0].shape)
    diffs = [changed(a, b) for a, b in pairwise(fs)]
    for diff in diffs:
        assert not diff[elsewhere].any()
    sums = [int(d.sum()) for d in diffs]
    assert max(sums) < 0.005 * 1024 * 576
    assert sum(1 for s in sums if s == 0) > 45
    assert sum(1 for d in diffs if d[caret.slices()].any()) >= 3  # the caret blinks
    assert changed(fs[0], fs[60])[clock.slices()].any()  # two seconds later
