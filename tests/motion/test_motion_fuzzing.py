"""Property: for any sequence of scrolls, moves and repaints, every decoded
framebuffer equals its source frame, and every COPY is exact on its own."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .motion_helpers import make_pair, noise, roundtrip, stripes, textish

W, H = 192, 144

# One step of desktop activity: (kind, x, y, w, h, dx, dy). Rects are clipped
# to the screen; shifts include 0, +-1 and long scrolls.
shift = st.one_of(st.sampled_from([0, 1, -1, 2, -2]), st.integers(-70, 70))
step = st.tuples(
    st.sampled_from(["scroll", "move", "paint", "still"]),
    st.integers(0, W - 16), st.integers(0, H - 16),
    st.integers(16, W), st.integers(16, H),
    shift, shift,
)  # fmt: skip


def _content(kind: int, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    if kind == 0:
        return noise(rng, h, w)
    if kind == 1:
        return textish(rng, h, w, line=8)
    period = int(rng.integers(1, 6))
    return stripes(h, w, period, vertical=bool(rng.integers(0, 2)))


def _apply(frame: np.ndarray, s: tuple, rng: np.random.Generator, kind: int) -> np.ndarray:
    what, x, y, w, h, dx, dy = s
    w, h = min(w, W - x), min(h, H - y)
    out = frame.copy()
    if what == "scroll":
        # The content of the viewport moves by (dx, dy); what it reveals is new.
        view = out[y : y + h, x : x + w]
        fresh = _content(kind, rng, h, w)
        src = frame[y : y + h, x : x + w]
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        view[...] = fresh
        if abs(dy) < h and abs(dx) < w:
            view[yd, xd] = src[ys, xs]
    elif what == "move":
        # A window (the rect's content) moves by (dx, dy), clipped; the
        # background it uncovers is new texture.
        win = frame[y : y + h, x : x + w].copy()
        out[y : y + h, x : x + w] = _content(kind, rng, h, w)
        nx, ny = x + dx, y + dy
        x0, y0, x1, y1 = max(nx, 0), max(ny, 0), min(nx + w, W), min(ny + h, H)
        if x0 < x1 and y0 < y1:
            out[y0:y1, x0:x1] = win[y0 - ny : y1 - ny, x0 - nx : x1 - nx]
    elif what == "paint":
        out[y : y + h, x : x + w] = _content(kind, rng, h, w)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=6), st.integers(0, 2), st.integers(0, 2**32 - 1),
       st.booleans())  # fmt: skip
def test_random_scrolls_and_moves_decode_exactly(
    steps: list[tuple], kind: int, seed: int, eager: bool
) -> None:
    rng = np.random.default_rng(seed)
    enc, dec = make_pair(W, H, eager=eager)
    frame = _content(kind, rng, H, W)
    roundtrip(enc, dec, frame)
    for s in steps:
        frame = _apply(frame, s, rng, kind)
        roundtrip(enc, dec, frame)
