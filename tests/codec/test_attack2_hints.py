"""attack2: damage hints (``encode(hint=)``) attacked. Hints whose x + w or
y + h wrap int64, empty arrays of a wrong shape, NumPy scalars, views and
byte orders; and seeded random streams mixing exact, late, partial, missing
and malformed hints with keyframe requests, rate changes, size changes and
``keep``: the viewer's picture is never wrong for longer than SCAN_UPDATES
updates, and a refused hint leaves the encoder as it was."""

from __future__ import annotations

import random

import numpy as np
import pytest

from screencodec.damage.hints import SCAN_UPDATES, HintedDiff, hint_rects
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import FrameError

W, H = 640, 360
BIG = 2**63 - 1


def _one_change(hint: object) -> tuple[bool, int]:
    """A change at rows 100-110 outside the scan's band, encoded with
    ``hint``: (the viewer exact at once, rows compared)."""
    enc, dec = ScreenEncoder(W, H, threads=1, motion=False), ScreenDecoder()
    f = np.full((H, W, 4), 40, np.uint8)
    dec.decode(enc.encode(f.copy()))
    enc._hinted._scan = 3  # the band at rows 192-256
    g = f.copy()
    g[100:110, 200:260, :3] = 9
    pic = dec.decode(enc.encode(g.copy(), hint=hint))
    return bool(np.array_equal(pic[..., :3], g[..., :3])), enc.last.compared_rows


@pytest.mark.parametrize(("hint", "rows"), [
    # x + w (or y + h) wrapped negative: the rect was ignored, the change
    # waited for the scan (not sent in this update).
    ([(1, 1, BIG, BIG)], H),
    ([(200, 100, BIG, 10)], 128),
    ([(200, 100, 60, BIG)], H - 64),
    (np.array([[200, 100, 2**63 - 1, 10]], np.uint64), 128),
    # already right: rects reaching the change from far away
    ([(-BIG, -BIG, BIG, BIG), (0, 0, BIG, BIG)], H),
    ([(-(2**62), 100, 2**62 + 201, 1)], 128),
])  # fmt: skip
def test_a_hint_whose_end_would_wrap_still_names_the_change(hint: object, rows: int) -> None:
    # rows: the hinted tile rows and the scan band (192-256)
    assert _one_change(hint) == (True, rows)


@pytest.mark.parametrize("hint", [
    [(-BIG, 0, BIG, H)],  # ends at x = 0: left of the frame
    [(-(2**63), 0, BIG, H)],  # ends at x = -1
    [(W, 0, BIG, H)],
])  # fmt: skip
def test_rects_that_end_outside_the_frame_name_nothing(hint: object) -> None:
    exact, compared = _one_change(hint)
    assert not exact and compared == 64  # the scan band alone


@pytest.mark.parametrize("hint", [
    [(np.int64(200), np.int64(100), np.int32(60), np.uint8(10))],
    np.array([[200, 100, 60, 10]], ">i8"),
    np.array([[0, 10, 0, 60, 0, 100, 0, 200]], np.int16)[:, ::-2],
    np.array([[200, 100, 60, 10]], np.uint16),
])  # fmt: skip
def test_numpy_scalars_views_and_byte_orders_are_hints(hint: object) -> None:
    assert _one_change(hint) == (True, 128)


@pytest.mark.parametrize("hint", [
    np.empty((3, 0), np.int64),  # was taken for "no rects"
    np.empty((0, 7)),
    np.empty((0, 4, 2), np.int32),
    np.zeros((1, 4), bool),
    np.array([[200, 100, 60, 10]], object),
    [[200, 100, 60, 10], [2**70, 0, 1, 1]],
    iter([(200, 100, 60, 10)]),
    np.array([[200.0, 100, 60, 10]]),
])  # fmt: skip
def test_malformed_hints_are_refused_and_change_nothing(hint: object) -> None:
    fs = [np.full((H, W, 4), v, np.uint8) for v in (40, 41)]
    enc, other = ScreenEncoder(W, H, threads=1), ScreenEncoder(W, H, threads=1)
    enc.encode(fs[0])
    other.encode(fs[0])
    scan = enc._hinted._scan
    with pytest.raises(FrameError):
        enc.encode(fs[1], hint=hint)
    assert enc._hinted._scan == scan
    assert enc.encode(fs[1], hint=[]) == other.encode(fs[1], hint=[])


def test_empty_hints_of_the_right_shape_are_no_rects() -> None:
    hints: list[object] = [[], (), np.empty((0, 4), np.uint32), np.empty((0,))]
    for hint in hints:
        assert hint_rects(hint).shape == (0, 4)


def test_the_most_rects_give_the_bands_a_full_compare_gives() -> None:
    # 2**20 rects (the limit) of which one is in the last tile row.
    rng = np.random.default_rng(3)
    n = 1 << 20
    rects = np.column_stack([rng.integers(0, 1920, n), rng.integers(0, 500, n),
                             rng.integers(0, 40, n), rng.integers(0, 40, n)])  # fmt: skip
    rects[-1] = (5, 1070, 1, 1)
    bands = HintedDiff(64).bands(hint_rects(rects), 1920, 1080)
    assert bands == [(0, 576), (1024, 1080)], bands
    with pytest.raises(FrameError, match="more than"):
        hint_rects(np.zeros((n + 1, 4), np.int32))


def _stream(seed: int, updates: int) -> None:
    """A random hinted stream; every pixel the viewer has wrong must have
    changed on screen within the last SCAN_UPDATES updates."""
    rng = random.Random(seed)
    sizes = [(160, 120), (200, 130), (97, 61)]
    w, h = sizes[0]
    enc, dec = ScreenEncoder(w, h, threads=1), ScreenDecoder()
    f = np.full((h, w, 4), 30, np.uint8)
    history: list[np.ndarray] = []
    pending: list[tuple[int, int, int, int]] = []  # drawn, not hinted yet
    t = 0.0
    for i in range(updates):
        t += 1 / 30
        g = f.copy()
        drawn = []
        for _ in range(rng.choice([0, 0, 1, 2, 5])):
            x, y = rng.randrange(w), rng.randrange(h)
            dx, dy = rng.randint(1, 40), rng.randint(1, 30)
            g[y : y + dy, x : x + dx, :3] = rng.randrange(256)
            drawn.append((x, y, dx, dy))
        if rng.random() < 0.05:  # a scroll: motion's COPY
            g[10 : h - 5] = f[15:h]
            drawn.append((0, 0, w, h))
        mode = rng.choice(["exact", "exact", "late", "none", "empty", "partial", "huge", "bad"])
        hint: object
        if mode == "exact":
            hint, pending = pending + drawn, []
        elif mode == "late":  # drawn between the take and the grab
            hint, pending = pending, drawn
        elif mode == "none":
            hint, pending = None, []
        elif mode == "empty":  # a platform that drew without telling
            hint, pending = [], pending + drawn
        elif mode == "partial":
            hint, pending = drawn[:1], pending + drawn[1:]
        elif mode == "huge":
            hint, pending = [(1, 0, BIG, BIG)], []
        else:
            hint = rng.choice([[(1, 2, 3)], np.zeros((1, 4), bool), [(0, 0, -1, 1)],
                               np.empty((2, 0), np.int32)])  # fmt: skip
        r = rng.random()
        if r < 0.03:
            enc.request_keyframe()
        elif r < 0.06:  # lossless under a rate (lossy=False): still exact
            enc.set_rate(rng.choice([None, 300_000, 50_000_000]), interval=1 / 30)
        elif r < 0.08:
            w, h = rng.choice(sizes)
            g = np.full((h, w, 4), rng.randrange(256), np.uint8)
            history, pending, hint, mode = [], [], None, "none"
        if mode == "bad":
            with pytest.raises(FrameError):
                enc.encode(g.copy(), now=t, hint=hint)
            hint, pending = None, []
        pic = dec.decode(enc.encode(g.copy(), now=t, keep=rng.random() < 0.5, hint=hint))
        history.append(g)
        wrong = (pic[..., :3] != g[..., :3]).any(axis=2)
        if wrong.any():
            changed = np.zeros_like(wrong)
            for old in history[-SCAN_UPDATES - 1 : -1]:
                changed |= (old[..., :3] != g[..., :3]).any(axis=2)
            stale = wrong & ~changed
            assert not stale.any(), (seed, i, mode, int(stale.sum()))
        f = g


@pytest.mark.parametrize("seed", range(6))
def test_random_hinted_streams_are_never_stale_for_long(seed: int) -> None:
    _stream(seed, 250)



@pytest.mark.parametrize("scenario", ["video", "browser", "terminal"])
def test_exact_hints_give_the_same_bytes_through_lossy_video_and_rate_changes(
        scenario: str) -> None:  # fmt: skip
    # Hints are used only where the viewer's picture is exact (never while
    # it is lossy: video regions, stills not refined without a rate): with
    # hints that name every change, every update is the one without hints,
    # byte for byte, while rates go on and off, keyframes are asked for and
    # video regions come and go.
    pytest.importorskip("av")
    from screencodec.capture.synthetic import SyntheticDesktop
    from screencodec.damage import tile_diff

    w, h = 320, 192
    rng = random.Random(11)
    src = SyntheticDesktop(w, h, scenario=scenario, seed=3)
    encs = [ScreenEncoder(w, h, threads=1, lossy=True, video=True) for _ in range(2)]
    for enc in encs:
        assert enc.motion_stage is not None
        enc.motion_stage.budget = 60.0  # no CPU-time cut: both find the same moves
    dec = ScreenDecoder()
    prev, t, lossy_updates, hinted_rows = None, 0.0, 0, 0
    for i in range(150):
        t += 1 / 30
        f = src.frame_at(i).copy()
        r = rng.random()
        for enc in encs:
            if r < 0.08:
                enc.set_rate([None, 100_000, 400_000, 5_000_000][i % 4], interval=1 / 30)
            elif r < 0.1:
                enc.request_keyframe()
        if i == 120:
            for enc in encs:
                enc.set_rate(None)
        keep = rng.random() < 0.5
        lossy_updates += encs[1].lossy_area > 0 or bool(encs[1].video_stage.regions)  # type: ignore[union-attr]
        plain = encs[0].encode(f.copy(), now=t, keep=keep)
        hint: object = None if prev is None else tile_diff(prev, f, 16)
        hinted = encs[1].encode(f.copy(), now=t, keep=keep, hint=hint)
        assert hinted == plain, i
        hinted_rows += encs[1].last.compared_rows < h
        dec.decode(hinted)
        prev = f
    assert lossy_updates > 10 and hinted_rows > 10, (lossy_updates, hinted_rows)
