"""Attack on scroll prediction (screencodec.motion.predict): seeded random
frame sequences built to fool the guess (speed and direction changes, two
panes with different dy, a pane replaced, a cursor and a scroll-bar thumb in
the scroll's columns, dy past the pane or near the frame's height, tiny
frames, size changes, keyframe requests), on tile sizes 16/64/256, with
hints exact, late, missing or huge, keep=True with take_spare, and a rate
switched on and off. Every update decodes bit-exact in B, G, R where the
encoder is lossless for it; an exact hint gives the same bytes as none; after
hints that missed changes, one unhinted update makes the picture exact (no
kept frame holds changes never sent)."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.damage import tile_diff
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.motion import _rowhash

SIZES = [(1, 1), (1, 40), (40, 1), (17, 33), (100, 70), (200, 150), (480, 300), (250, 513)]
TILES = [16, 64, 256]
STEPS = 14


def _page(rng: np.random.Generator, rows: int, w: int) -> np.ndarray:
    """Text-like rows: a few colours in runs on a flat background, blank lines."""
    page = np.full((rows, w, 4), 24, np.uint8)
    for y in range(0, rows, 8):
        if rng.random() < 0.25:
            continue
        n = int(rng.integers(1, w + 1))
        page[y : y + 6, :n, :3] = rng.choice([24, 230, 128, 60], size=(min(6, rows - y), n, 3))
    return page


class _Pane:
    """A scrolling pane of the scene: a rect of the frame showing a page at an
    offset, with a scroll-bar thumb in its last columns."""

    def __init__(self, rng: np.random.Generator, w: int, h: int) -> None:
        self.rng = rng
        x = int(rng.integers(0, max(1, w // 3)))
        y = int(rng.integers(0, max(1, h // 3)))
        self.x, self.y = x, y
        self.w = int(rng.integers(1, w - x + 1))
        self.h = int(rng.integers(1, h - y + 1))
        self.new_page()
        self.speed = 0

    def new_page(self) -> None:
        self.page = _page(self.rng, 3 * self.h + 64, self.w)
        self.off = int(self.rng.integers(0, len(self.page) - self.h + 1))

    def step(self, frame_h: int) -> None:
        r = self.rng
        u = r.random()
        if u < 0.08:
            self.new_page()  # replaced by other content
            return
        if u < 0.4:  # the speed or direction changes
            self.speed = int(
                r.choice([0, 1, -1, 3, -3, 8, -8, 16, -16, self.h + 5, -self.h - 5,
                          frame_h - 1, 1 - frame_h, frame_h // 2])
            )  # fmt: skip
        top = len(self.page) - self.h
        self.off = min(max(self.off + self.speed, 0), top)
        if self.off in (0, top):
            self.speed = -self.speed

    def draw(self, f: np.ndarray, cursor: bool) -> None:
        rows = self.page[self.off : self.off + self.h]
        f[self.y : self.y + self.h, self.x : self.x + self.w] = rows
        if self.w > 4:  # the thumb, in the pane's own columns
            top = len(self.page) - self.h
            ty = (self.off * max(self.h - 4, 0)) // max(top, 1)
            f[self.y : self.y + self.h, self.x + self.w - 3 : self.x + self.w, :3] = 90
            f[self.y + ty : self.y + ty + 4, self.x + self.w - 3 : self.x + self.w, :3] = 200
        if cursor:
            cy = self.y + int(self.rng.integers(0, self.h))
            cx = self.x + int(self.rng.integers(0, self.w))
            f[cy : cy + 7, cx : cx + 2, :3] = 255


class _Scene:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.resize()

    def resize(self) -> None:
        self.w, self.h = SIZES[int(self.rng.integers(len(SIZES)))]
        self.bg = np.full((self.h, self.w, 4), 70, np.uint8)
        self.bg[::5, :, 1] = 110
        self.panes = [_Pane(self.rng, self.w, self.h) for _ in range(int(self.rng.integers(1, 3)))]

    def frame(self) -> np.ndarray:
        for p in self.panes:
            p.step(self.h)
        f = self.bg.copy()
        for p in self.panes:
            p.draw(f, cursor=self.rng.random() < 0.5)
        f[..., 3] = self.rng.integers(0, 256, size=f.shape[:2], dtype=np.uint8)  # X: ignored
        return f


def _encoder(w: int, h: int, tile: int, **kw: object) -> ScreenEncoder:
    enc = ScreenEncoder(w, h, threads=1, history=True, tile_size=tile, **kw)  # type: ignore[arg-type]
    ms = enc.motion_stage
    assert ms is not None
    # Small thresholds so tiny frames scroll too; budget large: deterministic.
    ms.budget = 60.0
    ms.min_area, ms.min_rows, ms.min_run, ms.min_copy_area = 256, 4, 4, 64
    return enc


def _sequence(seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Frames and, per frame, an event: '' or 'key' (keyframe request) or
    'rate' (toggle the rate)."""
    rng = np.random.default_rng(seed)
    scene = _Scene(rng)
    frames, events = [], []
    for _ in range(STEPS):
        u = rng.random()
        if u < 0.06:
            scene.resize()
        frames.append(scene.frame())
        events.append("key" if u > 0.94 else "rate" if 0.8 < u <= 0.94 else "")
    return frames, events


def _exact(pic: np.ndarray, f: np.ndarray) -> bool:
    # A channel at a time: array_equal of the strided [..., :3] views copies
    # them (8 s of this file's 42 s; this way under 1 s).
    return pic.shape[:2] == f.shape[:2] and all(
        np.array_equal(pic[..., c], f[..., c]) for c in range(3)
    )


def _predicted(enc: ScreenEncoder) -> int:
    assert enc.motion_stage is not None
    return enc.motion_stage.last.predicted


SEEDS = range(40)


@pytest.mark.parametrize("tile", TILES)
def test_random_scrolls_decode_exact_and_exact_hints_give_the_same_bytes(tile: int) -> None:
    predicted = 0
    for seed in SEEDS:
        frames, events = _sequence(seed * 7 + tile)
        h0, w0 = frames[0].shape[:2]
        plain, hinted = _encoder(w0, h0, tile), _encoder(w0, h0, tile)
        d1, d2 = ScreenDecoder(), ScreenDecoder()
        prev = None
        for i, (f, ev) in enumerate(zip(frames, events, strict=True)):
            if ev == "key":
                plain.request_keyframe()
                hinted.request_keyframe()
            hint = None
            if prev is not None and prev.shape == f.shape:
                hint = tile_diff(prev, f, 16)
            a = plain.encode(f.copy())
            b = hinted.encode(f.copy(), keep=True, hint=hint)
            assert a == b, (seed, i)
            assert _exact(d1.decode(a), f), (seed, i)
            assert _exact(d2.decode(b), f), (seed, i)
            predicted += _predicted(plain)
            prev = f
    assert predicted > 0  # the prediction was exercised


@pytest.mark.parametrize("mode", ["late", "missing", "huge"])
def test_random_scrolls_with_wrong_hints_become_exact_after_an_unhinted_update(
    mode: str,
) -> None:
    predicted = 0
    for seed in SEEDS:
        frames, events = _sequence(1000 + seed)
        tile = TILES[seed % 3]
        h0, w0 = frames[0].shape[:2]
        enc, dec = _encoder(w0, h0, tile), ScreenDecoder()
        prev, last_hint = None, None
        spare = None
        for i, (f, ev) in enumerate(zip(frames, events, strict=True)):
            if ev == "key":
                enc.request_keyframe()
            exact = None if prev is None or prev.shape != f.shape else tile_diff(prev, f, 16)
            if mode == "late":  # this update's changes are hinted one update late
                hint, last_hint = last_hint, exact
                if hint is None and exact is not None:
                    hint = np.empty((0, 4), np.int64)
            elif mode == "missing":  # the hint leaves out some changes
                hint = None if exact is None else exact[: len(exact) // 2]
            else:  # a hint far past the frame
                hint = np.array([[-(2**40), -(2**40), 2**41, 2**41]], np.int64)
            # keep=True into the buffer the encoder handed back, when it fits
            buf = spare if spare is not None and spare.shape == f.shape else np.empty_like(f)
            buf[...] = f
            data = enc.encode(buf, keep=True, hint=hint)
            pic = dec.decode(data)
            if mode == "huge" or hint is None:
                assert _exact(pic, f), (seed, i)
            spare = enc.take_spare()
            predicted += _predicted(enc)
            prev = f
        buf = np.empty_like(frames[-1])
        buf[...] = frames[-1]
        assert _exact(dec.decode(enc.encode(buf, keep=True)), frames[-1]), seed
    assert predicted > 0


def test_random_scrolls_under_a_rate_switched_on_and_off_keep_text_exact() -> None:
    predicted = 0
    for seed in SEEDS:
        frames, events = _sequence(5000 + seed)
        tile = TILES[seed % 3]
        h0, w0 = frames[0].shape[:2]
        enc, dec = _encoder(w0, h0, tile, lossy=True), ScreenDecoder()
        rate = seed % 2 == 0
        if rate:
            enc.set_rate(2_000_000)
        spare = None
        for i, (f, ev) in enumerate(zip(frames, events, strict=True)):
            if ev == "key":
                enc.request_keyframe()
            if ev == "rate":
                rate = not rate
                enc.set_rate(2_000_000 if rate else None)
            buf = spare if spare is not None and spare.shape == f.shape else np.empty_like(f)
            buf[...] = f
            pic = dec.decode(enc.encode(buf, keep=True, now=i / 30))
            assert _exact(pic, f), (seed, i, rate)
            spare = enc.take_spare()
            predicted += _predicted(enc)
    assert predicted > 0


def test_a_kept_frame_gives_the_same_bytes_as_a_copied_one_after_predicted_copies() -> None:
    """keep=True lets the encoder adopt the frame as the reference, and then
    copies are not written into the old one (apply=False); the damage left
    by found copies must not grow where merged damage overlaps a predicted
    copy (it did: extra bytes, and from then on other choices)."""
    differ = 0
    for seed in SEEDS:
        frames, events = _sequence(seed * 7 + 64)
        h0, w0 = frames[0].shape[:2]
        copied, kept = _encoder(w0, h0, 64), _encoder(w0, h0, 64)
        dec = ScreenDecoder()
        for i, (f, ev) in enumerate(zip(frames, events, strict=True)):
            if ev == "key":
                copied.request_keyframe()
                kept.request_keyframe()
            a = copied.encode(f.copy())
            b = kept.encode(f.copy(), keep=True)
            assert _exact(dec.decode(b), f), (seed, i)
            differ += a != b
    assert differ == 0


def _stale_cached_rows(enc: ScreenEncoder) -> int:
    """Rows the motion stage's hash cache holds as valid whose hash is not
    that of the encoder's reference (white box: the cache only steers the
    votes, but a stale row makes a scroll there go unseen)."""
    ms = enc.motion_stage
    assert ms is not None
    cache, ref = ms._hashes, enc.reference
    stale = 0
    for k in range(cache._valid.shape[0]):
        ys = np.flatnonzero(cache._valid[k])
        if len(ys):
            x0, x1 = k * cache.strip, min((k + 1) * cache.strip, ref.shape[1])
            now = _rowhash.row_hashes(ref, (x0, 0, x1 - x0, ref.shape[0]))
            stale += int((now[ys] != cache._hashes[k, ys]).sum())
    return stale


def test_late_hints_leave_no_stale_row_hashes_in_the_cache() -> None:
    """predict hashes the frame over the last scroll's rows and the cache took
    those hashes as the reference's after the update, even for rows outside
    the compared bands (a late hint), whose changes are not sent yet."""
    stale = 0
    for seed in SEEDS:
        frames, _ = _sequence(1000 + seed)
        h0, w0 = frames[0].shape[:2]
        enc = _encoder(w0, h0, TILES[seed % 3])
        prev, last_hint = None, None
        for f in frames:
            exact = None if prev is None or prev.shape != f.shape else tile_diff(prev, f, 16)
            hint, last_hint = last_hint, exact
            if hint is None and exact is not None:
                hint = np.empty((0, 4), np.int64)
            enc.encode(f.copy(), hint=hint)
            stale += _stale_cached_rows(enc)
            prev = f
    assert stale == 0


def test_under_a_rate_an_exact_hint_gives_the_same_bytes_as_none() -> None:
    """Under a rate the compare runs on the shadow and the copies are not
    applied there (apply=False): hinted (kept) and unhinted encoders must
    still agree byte for byte, the rate switched on and off. (Fails when the
    hinted encoder skips the prediction.)"""
    differ = 0
    for seed in range(30):
        frames, events = _sequence(3000 + seed)
        h0, w0 = frames[0].shape[:2]
        tile = TILES[seed % 3]
        plain, hinted = _encoder(w0, h0, tile, lossy=True), _encoder(w0, h0, tile, lossy=True)
        rate = True
        for enc in (plain, hinted):
            enc.set_rate(2_000_000)
        prev = None
        for i, (f, ev) in enumerate(zip(frames, events, strict=True)):
            if ev == "rate":
                rate = not rate
                for enc in (plain, hinted):
                    enc.set_rate(2_000_000 if rate else None)
            hint = tile_diff(prev, f, 16) if prev is not None and prev.shape == f.shape else None
            a = plain.encode(f.copy(), now=i / 30)
            b = hinted.encode(f.copy(), keep=True, hint=hint, now=i / 30)
            differ += a != b
            prev = f
    assert differ == 0


def test_two_panes_stacked_in_the_same_columns_both_keep_their_copies() -> None:
    """One pane scrolls up by 8, the one below it down by 16, over the same
    columns: after the first updates, every update copies in both (the
    prediction takes one; the search must still find the other)."""
    w, h = 480, 400
    rng = np.random.default_rng(5)
    top, bottom = _page(rng, 3000, 400), _page(rng, 3000, 400)
    enc, dec = ScreenEncoder(w, h, threads=1, history=True), ScreenDecoder()
    ms = enc.motion_stage
    assert ms is not None
    ms.budget = 60.0
    both = 0
    for i in range(30):
        f = np.full((h, w, 4), 40, np.uint8)
        f[10:190, 40:440] = top[1000 + 8 * i : 1000 + 8 * i + 180]
        f[210:390, 40:440] = bottom[1000 - 16 * i : 1000 - 16 * i + 180]
        assert _exact(dec.decode(enc.encode(f)), f), i
        if i >= 3:
            predicted = ms.last.predicted
            both += predicted > 0 and ms.last.copies > predicted
    assert both >= 20, both
