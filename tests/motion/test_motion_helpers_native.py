"""The motion stage's native bookkeeping helpers against plain NumPy versions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.motion import _rowhash

from .motion_helpers import noise


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 80), st.integers(0, 2**32 - 1), st.integers(1, 30))
def test_vertical_votes_match_numpy(n: int, h: int, seed: int, min_rows: int) -> None:
    rng = np.random.default_rng(seed)
    hp = rng.integers(0, 4 + h // 2, (n, h)).astype(np.uint64)
    hc = np.roll(hp, int(rng.integers(-6, 7)), axis=1)
    hc[rng.random((n, h)) < 0.2] = np.uint64(99)
    changed = hc != hp
    rows, tops = _rowhash.vertical_votes(hp, hc, min_rows, 2)
    assert np.array_equal(rows, np.flatnonzero(changed.any(axis=0)))
    votes = _rowhash.row_votes(hp, hc, changed & (changed.sum(axis=1) >= min_rows)[:, None])
    voters = votes.sum(axis=1)
    expected = [
        (d, int(votes[s, d]))
        for s in np.flatnonzero(voters).tolist()
        for d in np.argsort(-votes[s], kind="stable")[:2].tolist()
        if votes[s, d] >= max(2, voters[s] // 4)
    ]
    assert tops == expected


def test_cache_rows_gather_scatter_refresh_and_clear() -> None:
    rng = np.random.default_rng(0)
    frame = noise(rng, 40, 70)
    hashes = np.zeros((3, 40), np.uint64)
    valid = np.zeros((3, 40), np.bool_)
    strips, cols = [(0, 32), (64, 70)], [0, 2]
    assert _rowhash.gather_rows(hashes, valid, cols, 5, 30) is None
    # Rows 10..19 known: only the span of missing rows around them is hashed.
    valid[:, 10:20] = True
    assert _rowhash.refresh_rows(frame, hashes, valid, strips, cols, 5, 30) == 32 * 25 + 6 * 25
    got = _rowhash.gather_rows(hashes, valid, cols, 5, 30)
    assert got is not None
    for i, (x0, x1) in enumerate(strips):
        expected = _rowhash.row_hashes(frame, (x0, 5, x1 - x0, 25))
        assert np.array_equal(got[i, :5], expected[:5])
        assert np.array_equal(got[i, 15:], expected[15:])
    _rowhash.clear_rects(valid, np.array([[33, 7, 40, 3]], np.int32), 32)
    assert not valid[1:3, 7:10].any() and valid[0, 7:10].all() and valid[1:3, 10].all()
    rows = np.arange(8, dtype=np.uint64).reshape(2, 4)
    _rowhash.scatter_rows(hashes, valid, [1, 2], 7, rows)
    assert np.array_equal(hashes[1:, 7:11], rows) and valid[1:, 7:11].all()
