"""Refinement sends each picked rect cut to the bounding box of its pixels
that differ (``quality.controller._differing``): exactly that box, per rect,
at odd sizes, at the screen's edges, with differences in one channel and in
the 4th byte (which the frame does not set: no difference)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from screencodec.quality.controller import _differing


def boxes(ref: np.ndarray, frame: np.ndarray, rects: list[tuple[int, int, int, int]]) -> list:
    """Per rect, the bounding box of its pixels differing in B, G or R."""
    diff = (ref[..., :3] != frame[..., :3]).any(axis=2)
    out = []
    for x, y, w, h in rects:
        ys, xs = np.nonzero(diff[y : y + h, x : x + w])
        if len(ys):
            x0, y0 = x + int(xs.min()), y + int(ys.min())
            out.append((x0, y0, x + int(xs.max()) + 1 - x0, y + int(ys.max()) + 1 - y0))
    return sorted(out)


@pytest.mark.parametrize("seed", range(4))
def test_each_rect_is_cut_to_its_differing_pixels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        h, w = int(rng.integers(1, 70)), int(rng.integers(1, 70))
        ref = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        frame = ref.copy()
        spots = [(h - 1, w - 1), (0, 0), (h - 1, 0), (0, w - 1)][: int(rng.integers(0, 5))]
        spots += [(int(rng.integers(0, h)), int(rng.integers(0, w))) for _ in range(3)]
        for y, x in spots:
            frame[y, x, int(rng.integers(0, 4))] ^= np.uint8(rng.integers(1, 256))
        # Disjoint rects: some cells of a grid over the whole picture.
        xs = sorted({0, w, *rng.integers(0, w, 2).tolist()})
        ys = sorted({0, h, *rng.integers(0, h, 2).tolist()})
        rects = [
            (x0, y0, x1 - x0, y1 - y0)
            for x0, x1 in itertools.pairwise(xs)
            for y0, y1 in itertools.pairwise(ys)
            if rng.random() < 0.75
        ]
        got = _differing(ref, frame, np.array(rects, np.int32).reshape(-1, 4))
        assert got.dtype == np.int32
        assert sorted(map(tuple, got.tolist())) == boxes(ref, frame, rects), (h, w, rects)
