"""Moves found in many pieces: bit-exact through the whole encoder and
decoder, COPY ops applied on the host exactly as a decoder applies them, and
per-frame bookkeeping that does not grow with the pieces pairwise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from screencodec import ScreenDecoder, ScreenEncoder
from screencodec.codecs.copy import copy_op
from screencodec.damage.subtract import subtract_rects_indexed
from screencodec.errors import FrameError
from screencodec.geometry import Rect
from screencodec.motion import MotionStage, _rowhash, detect
from screencodec.motion._regions import Copy, apply_copies
from screencodec.wire import build_update

from .motion_helpers import Frame, make_pair, noise, photo, roundtrip, textish

W, H = 640, 400


def _blinking_window(seed: int = 0) -> tuple[Frame, Frame, list[tuple[int, int]]]:
    """Noise wallpaper, a text window, and spots of it that change every frame
    (a terminal's output): the rows through a spot match the move only beside
    it, so the move is verified in many pieces."""
    rng = np.random.default_rng(seed)
    wall = noise(rng, H, W)
    win = textish(rng, 240, 300, line=10)
    spots = [(int(rng.integers(0, 228)), int(rng.integers(10, 280))) for _ in range(12)]
    return wall, win, spots


def _frame(
    wall: Frame, win: Frame, spots: list[tuple[int, int]], at: tuple[int, int], k: int
) -> Frame:
    x, y = at
    f: Frame = wall.copy()
    w = win.copy()
    for i, (sy, sx) in enumerate(spots):
        w[sy : sy + 12, sx : sx + 8, :3] = (37 * k + 11 * i) % 256
    f[y : y + w.shape[0], x : x + w.shape[1]] = w
    return f


@pytest.mark.parametrize("eager", [False, True])
def test_window_moved_diagonally_in_many_pieces(eager: bool) -> None:
    wall, win, spots = _blinking_window()
    enc, dec = make_pair(W, H, eager=eager)
    counts = []
    for k in range(10):
        n, _ = roundtrip(enc, dec, _frame(wall, win, spots, (20 + 17 * k, 15 + 9 * k), k))
        counts.append(n)
    assert counts[0] == 0  # the keyframe
    assert all(2 <= c <= detect.MAX_COPIES for c in counts[1:]), counts


def test_several_windows_moving_over_noise() -> None:
    rng = np.random.default_rng(3)
    wall = noise(rng, H, W)
    wins = [
        (noise(rng, 120, 160), (20, 20), (9, 6)),
        (textish(rng, 140, 180), (400, 30), (-7, 8)),
        (noise(rng, 100, 200), (200, 280), (6, -9)),
    ]
    enc, dec = make_pair(W, H)
    assert enc.motion_stage is not None
    # Detection, not the CPU budget: under load the 2-D search of the third
    # window could be cut off by the default 3 ms.
    enc.motion_stage.budget = 60.0
    counts = []
    for k in range(8):
        f = wall.copy()
        for w, (x, y), (dx, dy) in wins:
            f[y + k * dy : y + k * dy + w.shape[0], x + k * dx : x + k * dx + w.shape[1]] = w
        counts.append(roundtrip(enc, dec, f)[0])
    assert counts[1] >= 3 and all(c >= 1 for c in counts[1:]), counts


def test_copies_are_capped_per_update() -> None:
    """Eager thresholds on the blinking window find more pieces than the cap
    allows when the cap is small: the largest are kept, the rest is sent as
    pixels, and the result stays exact."""
    wall, win, spots = _blinking_window(1)
    enc, dec = make_pair(W, H, eager=True)
    old = detect.MAX_COPIES
    detect.MAX_COPIES = 3
    try:
        for k in range(4):
            n, _ = roundtrip(enc, dec, _frame(wall, win, spots, (30 + 11 * k, 20 + 13 * k), k))
            assert n <= 3
    finally:
        detect.MAX_COPIES = old


@pytest.mark.parametrize("background", ["noise", "photo"])
@pytest.mark.parametrize(
    "step",
    [(24, 24), (-30, 17), (150, 0), (0, -120), (-200, 90), (230, -140), (3, 1), (300, 0),
     (-260, 170)],  # the last two: further than its size (old and new place apart)
)  # fmt: skip
def test_moved_window_is_one_copy_plus_what_it_reveals(
    background: str, step: tuple[int, int]
) -> None:
    """Any offset, horizontal, vertical or diagonal, near or beyond the
    window's own size: one COPY, and only the uncovered background is sent."""
    rng = np.random.default_rng(11)
    wall = noise(rng, H, W) if background == "noise" else photo(rng, H, W)
    win = textish(rng, 150, 240, line=12)
    win[..., :3] = 255 - win[..., :3]  # a dark terminal
    win[:18] = (70, 70, 70, 255)  # its title bar
    x, y = (W - 240) // 2 - step[0] // 2, (H - 150) // 2 - step[1] // 2
    revealed = 240 * 150 - max(0, 240 - abs(step[0])) * max(0, 150 - abs(step[1]))
    enc, dec = make_pair(W, H)
    for k in range(3):
        wx, wy = x + k * step[0], y + k * step[1]
        if not (0 <= wx <= W - 240 and 0 <= wy <= H - 150):
            break
        f = wall.copy()
        f[wy : wy + 150, wx : wx + 240] = win
        n, _ = roundtrip(enc, dec, f)
        if k:
            assert n == 1, (k, n)
            # What is left is the uncovered background (as tile-trimmed rects).
            assert revealed <= enc.last.changed_pixels <= 1.1 * revealed


def test_window_dragged_by_changing_steps_skips_the_row_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hand drag changes its step every update: each update is still one
    COPY plus what it reveals, and once a region moved in 2-D the next update
    goes straight to the 2-D search (which finds vertical steps too) instead
    of hashing rows for a vertical shift first."""
    rng = np.random.default_rng(5)
    wall = photo(rng, H, W)
    win = textish(rng, 150, 240, line=12)
    win[:18] = (70, 70, 70, 255)
    hashed: list[int] = []
    strip_hashes = _rowhash.strip_hashes

    def counting(*args: Any, **kw: Any) -> Any:
        hashed[-1] += 1
        return strip_hashes(*args, **kw)

    monkeypatch.setattr(_rowhash, "strip_hashes", counting)
    enc, dec = make_pair(W, H)
    x, y = 200, 150
    steps = [(0, 0), (24, 24), (31, -7), (0, -40), (-18, 0), (5, 33), (-27, -12)]
    for k, (dx, dy) in enumerate(steps):
        x, y = x + dx, y + dy
        f = wall.copy()
        f[y : y + 150, x : x + 240] = win
        hashed.append(0)
        n, _ = roundtrip(enc, dec, f)
        if k:
            revealed = 240 * 150 - (240 - abs(dx)) * (150 - abs(dy))
            assert n == 1, (k, n)
            assert revealed <= enc.last.changed_pixels <= 1.1 * revealed, k
    # The first move is looked for with row hashes, and so is the update
    # after the straight (0, -40) step; every other one right after a 2-D move
    # skips them.
    assert hashed[1] > 0 and hashed[4] > 0
    assert hashed[2] == hashed[3] == hashed[5] == hashed[6] == 0


# -- COPY ops: the host's application equals the decoder's ----------------------

SW, SH = 48, 40
copy_st = st.tuples(
    st.integers(1, SW), st.integers(1, SH), st.integers(0, SW), st.integers(0, SH),
    st.integers(0, SW), st.integers(0, SH),
).map(
    lambda t: (min(t[2], SW - t[0]), min(t[3], SH - t[1]), min(t[4], SW - t[0]),
               min(t[5], SH - t[1]), t[0], t[1])
)  # fmt: skip


def _decoded(before: Frame, ops: list[tuple[int, int, int, int, int, int]]) -> Frame:
    """What ScreenDecoder shows after a keyframe of ``before`` and an update
    of these COPY ops."""
    enc = ScreenEncoder(SW, SH, threads=1, motion=False)
    dec = ScreenDecoder()
    dec.decode(enc.encode(before))
    update = [copy_op(sx, sy, Rect(x, y, w, h)) for sx, sy, x, y, w, h in ops]
    out: Frame = dec.decode(build_update(1, SW, SH, update)).copy()
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(copy_st, min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_host_applies_overlapping_copies_as_the_decoder(
    ops: list[tuple[int, int, int, int, int, int]], seed: int
) -> None:
    """Random COPY sets: chains, swaps, cycles, sources overlapping their own
    or others' destinations, destinations overlapping each other (a later op
    wins)."""
    assume(sum(w * h for *_, w, h in ops) <= 4 * SW * SH)  # the decoder's limit
    before = noise(np.random.default_rng(seed), SH, SW)
    ref = before.copy()
    copies = [Copy(sx, sy, Rect(x, y, w, h)) for sx, sy, x, y, w, h in ops]
    scratch = apply_copies(ref, copies)
    assert np.array_equal(ref, _decoded(before, ops))
    # A scratch buffer passed again (larger or smaller than needed) changes nothing.
    again = before.copy()
    apply_copies(again, copies, scratch)
    assert np.array_equal(again, ref)
    small = before.copy()
    apply_copies(small, copies, np.zeros(1, np.uint8))
    assert np.array_equal(small, ref)


def test_swap_and_cycle_of_copies() -> None:
    before = noise(np.random.default_rng(4), SH, SW)
    swap = [(0, 0, 20, 0, 10, 10), (20, 0, 0, 0, 10, 10)]
    cycle = [(0, 0, 10, 5, 12, 12), (10, 5, 20, 10, 12, 12), (20, 10, 0, 0, 12, 12)]
    for ops in (swap, cycle):
        ref = before.copy()
        apply_copies(ref, [Copy(sx, sy, Rect(x, y, w, h)) for sx, sy, x, y, w, h in ops])
        assert np.array_equal(ref, _decoded(before, ops))


def test_copies_outside_the_frame_are_refused_before_any_write() -> None:
    before = noise(np.random.default_rng(5), SH, SW)
    ref = before.copy()
    bad = [Copy(0, 0, Rect(0, 0, 4, 4)), Copy(SW - 2, 0, Rect(0, 10, 4, 4))]
    with pytest.raises(FrameError):
        apply_copies(ref, bad)
    assert np.array_equal(ref, before)


# -- rect subtraction -----------------------------------------------------------

box_st = st.tuples(st.integers(-5, 60), st.integers(-5, 60), st.integers(-2, 40),
                   st.integers(-2, 40))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(box_st, max_size=6), st.lists(box_st, max_size=12))
def test_subtract_rects_covers_each_rect_minus_the_holes(
    rects: list[tuple[int, int, int, int]], holes: list[tuple[int, int, int, int]]
) -> None:
    res = subtract_rects_indexed(rects, holes)
    off = 10
    for i, (x, y, w, h) in enumerate(rects):
        want = np.zeros((120, 120), np.int32)
        if w > 0 and h > 0:
            want[y + off : y + h + off, x + off : x + w + off] = 1
        hit = False
        for hx, hy, hw, hh in holes:
            if hw > 0 and hh > 0:
                y0, x0 = max(hy + off, 0), max(hx + off, 0)
                hit |= bool(want[y0 : hy + hh + off, x0 : hx + hw + off].any())
                want[y0 : hy + hh + off, x0 : hx + hw + off] = 0
        got = np.zeros((120, 120), np.int32)
        for px, py, pw, ph in res.pieces[res.owner == i].tolist():
            assert pw > 0 and ph > 0
            got[py + off : py + ph + off, px + off : px + pw + off] += 1
        assert np.array_equal(got, want)  # each pixel once, nothing else
        assert bool(res.cut[i]) == hit


# -- structural guards: counts, not times --------------------------------------


def test_bookkeeping_does_not_compare_pieces_pairwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per frame, the stage's pure-Python rect operations stay a small constant
    however many pieces the move is found in (they were cubic in the pieces:
    600,000 intersections over 80 frames of a real drag)."""
    calls = 0
    real = Rect.intersection

    def counting(self: Rect, other: Rect) -> Rect:
        nonlocal calls
        calls += 1
        return real(self, other)

    wall, win, spots = _blinking_window(2)
    stage = MotionStage(min_area=1024, min_rows=4, min_run=8, min_copy_area=64, budget_ms=50)
    enc = ScreenEncoder(W, H, threads=1)
    enc.motion_stage = stage
    enc.encode(_frame(wall, win, spots, (20, 15), 0))
    monkeypatch.setattr(Rect, "intersection", counting)
    per_frame = []
    for k in range(1, 6):
        calls = 0
        enc.encode(_frame(wall, win, spots, (20 + 17 * k, 15 + 9 * k), k))
        assert stage.last.copies >= 10
        per_frame.append((calls, stage.last.copies))
    # MissBackoff compares each examined region with its <= 16 entries.
    assert all(c <= 2 * 16 * max(1, stage.last.groups) for c, _ in per_frame), per_frame


def test_subtraction_calls_per_frame_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """One vectorised subtraction per verified candidate and one for the
    re-diff, whatever the number of pieces."""
    calls = 0
    real = detect.subtract_rects  # type: ignore[attr-defined]

    def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(detect, "subtract_rects", counting)
    wall, win, spots = _blinking_window(3)
    enc, _ = make_pair(W, H, eager=True)
    enc.encode(_frame(wall, win, spots, (20, 15), 0))
    for k in range(1, 5):
        calls = 0
        enc.encode(_frame(wall, win, spots, (20 + 17 * k, 15 + 9 * k), k))
        stage = enc.motion_stage
        assert stage is not None and stage.last.copies >= 10
        assert calls <= stage.last.candidates
