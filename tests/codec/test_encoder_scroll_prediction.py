"""Scroll prediction (screencodec.motion.predict): once the encoder has seen a
scroll, the next updates compare with it going on. Every update decodes
bit-exact, whatever the guess; a hint covering every change gives the same
bytes as none; and the guess shows in the stats (predicted COPY ops)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from screencodec.damage import tile_diff
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect

W, H = 480, 320
#: The scrolling pane: a terminal with a border column that never scrolls.
PANE = Rect(24, 40, 400, 240)


def _lines(rng: np.random.Generator, n: int, w: int) -> np.ndarray:
    """A 'page' of n text lines (8 rows each, blank lines between)."""
    page = np.full((n * 8, w, 4), 20, np.uint8)
    for k in range(n):
        if rng.random() < 0.25:
            continue  # a blank line
        length = int(rng.integers(8, w))
        glyphs = rng.choice([20, 220, 120], size=(6, length, 3)).astype(np.uint8)
        page[k * 8 : k * 8 + 6, :length, :3] = glyphs
    return page


def _frames(offsets: list[int], *, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    page = _lines(rng, 200, PANE.w)
    base = np.full((H, W, 4), 60, np.uint8)
    base[:, PANE.x - 4 : PANE.x, :3] = 200  # the border, beside the pane
    out = []
    for i, y in enumerate(offsets):
        f = base.copy()
        f[PANE.slices()] = page[y : y + PANE.h]
        f[300:310, 10 + 8 * i : 18 + 8 * i, :3] = 255  # something typed below
        f[..., 3] = 255
        out.append(f)
    return out


def _encoder() -> ScreenEncoder:
    enc = ScreenEncoder(W, H, threads=1, history=True, tile_size=32)
    assert enc.motion_stage is not None
    enc.motion_stage.budget = 60.0  # both runs of a comparison find the same moves
    return enc


def _run(frames: list[np.ndarray], hints: list | None = None) -> tuple[list[bytes], list[int]]:
    enc, dec = _encoder(), ScreenDecoder()
    data, predicted = [], []
    for i, f in enumerate(frames):
        hint = None if hints is None else hints[i]
        d = enc.encode(f.copy(), keep=True, hint=hint)
        assert np.array_equal(dec.decode(d)[..., :3], f[..., :3]), i
        data.append(d)
        assert enc.motion_stage is not None
        predicted.append(enc.motion_stage.last.predicted)
    return data, predicted


@pytest.mark.parametrize("step", [8, 24, -16, 3])
def test_a_steady_scroll_is_predicted_and_exact(step: int) -> None:
    frames = _frames([400 + step * k for k in range(8)])
    data, predicted = _run(frames)
    # The first scroll is found by the search; every one after it, predicted.
    assert predicted[:2] == [0, 0]
    assert all(p >= 1 for p in predicted[2:]), predicted
    # A scrolled update costs a fraction of the keyframe.
    assert max(len(d) for d in data[2:]) < len(data[0]) / 4


def test_wrong_guesses_stay_exact() -> None:
    """The scroll changes speed, reverses, stops, jumps a page, and the pane is
    replaced by other content: every update exact; the guess is dropped when
    nothing moved the way it said."""
    offsets = [400, 408, 416, 440, 432, 432, 432, 900, 908, 916]
    frames = _frames(offsets)
    other = _frames([0], seed=9)[0]
    frames.insert(8, other)  # a new picture in the pane for one update
    _, predicted = _run(frames)
    assert predicted[5] == 0 and predicted[6] == 0  # stopped: nothing to copy


def test_a_hint_covering_every_change_gives_the_same_bytes() -> None:
    frames = _frames([400 + 8 * k for k in range(10)] + [500 - 8 * k for k in range(6)])
    hints: list = [None] + [tile_diff(a, b, 16) for a, b in itertools.pairwise(frames)]
    plain, predicted = _run(frames)
    hinted, predicted_hinted = _run(frames, hints)
    assert plain == hinted
    assert predicted == predicted_hinted and sum(predicted) > 0


def test_under_a_rate_text_stays_exact() -> None:
    """Under a rate the encoder compares against its last frame (the shadow):
    the prediction's copies must reach it too, or the next compare is wrong."""
    frames = _frames([400 + 8 * k for k in range(10)])
    enc, dec = ScreenEncoder(W, H, threads=1, history=True, lossy=True), ScreenDecoder()
    enc.set_rate(50_000_000)
    seen = 0
    for i, f in enumerate(frames):
        pic = dec.decode(enc.encode(f.copy(), now=i / 20))
        assert np.array_equal(pic[..., :3], f[..., :3]), i
        assert enc.motion_stage is not None
        seen += enc.motion_stage.last.predicted
    assert seen > 0
