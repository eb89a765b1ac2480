"""The C kernels against their NumPy references, and their input validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.errors import FrameError
from screencodec.motion import _rowhash
from screencodec.motion import reference as ref

from .motion_helpers import noise


def _strided(frame: np.ndarray, pad: int = 5) -> np.ndarray:
    h, w = frame.shape[:2]
    big = np.zeros((h + 2, w + pad + 3, 4), np.uint8)
    view = big[1 : 1 + h, pad : pad + w]
    view[...] = frame
    return view


@pytest.mark.parametrize("width", [1, 2, 3, 7, 8, 9, 16, 17, 33, 100])
def test_row_hashes_match_reference(width: int) -> None:
    rng = np.random.default_rng(width)
    f = noise(rng, 12, width + 4)
    rect = (2, 1, width, 10)
    expected = ref.row_hashes_reference(f, rect)
    assert np.array_equal(_rowhash.row_hashes(f, rect), expected)
    assert np.array_equal(_rowhash.row_hashes(_strided(f), rect), expected)


def test_row_hashes_ignore_x_and_see_every_bgr_byte() -> None:
    rng = np.random.default_rng(1)
    f = noise(rng, 4, 37)
    junk = f.copy()
    junk[..., 3] = rng.integers(0, 256, junk.shape[:2], dtype=np.uint8)
    base = _rowhash.row_hashes(f, (0, 0, 37, 4))
    assert np.array_equal(_rowhash.row_hashes(junk, (0, 0, 37, 4)), base)
    for x in (0, 17, 36):
        for c in range(3):
            g = f.copy()
            g[2, x, c] ^= 1
            h = _rowhash.row_hashes(g, (0, 0, 37, 4))
            assert h[2] != base[2] and np.array_equal(np.delete(h, 2), np.delete(base, 2))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 24), st.integers(1, 40), st.integers(0, 2**32 - 1),
    st.integers(-6, 6), st.integers(-6, 6), st.integers(1, 6), st.booleans(), st.booleans(),
)  # fmt: skip
def test_match_runs_match_reference(  # noqa: PLR0917 (hypothesis passes them by name)
    h: int, w: int, seed: int, dx: int, dy: int, min_run: int, same: bool, masked: bool
) -> None:
    rng = np.random.default_rng(seed)
    # Few colours: long and short runs, ties between equally long ones.
    prev = rng.integers(0, 2, (h, w, 4), dtype=np.uint8)
    cur = prev.copy() if same else rng.integers(0, 2, (h, w, 4), dtype=np.uint8)
    if same:
        cur[rng.random((h, w)) < 0.1] ^= 1
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    rect = (x, y, int(rng.integers(1, w - x + 1)), int(rng.integers(1, h - y + 1)))
    mask = rng.random(rect[3]) < 0.7 if masked else None
    got = _rowhash.match_runs(prev, _strided(cur), rect, dx, dy, min_run=min_run, row_mask=mask)
    want = ref.match_runs_reference(prev, cur, rect, dx, dy, min_run=min_run, row_mask=mask)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("shift", [(0, 1), (0, -1), (1, 0), (-1, 0), (3, -2), (-5, 4), (0, 0)])
def test_move_rect_matches_reference(shift: tuple[int, int]) -> None:
    rng = np.random.default_rng(2)
    a = noise(rng, 30, 30)
    b = a.copy()
    _rowhash.move_rect(a, (8, 8, 12, 10), *shift)
    ref.move_rect_reference(b, (8, 8, 12, 10), *shift)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("rect", [(0, 0, 70, 50), (5, 3, 33, 17), (69, 49, 1, 1)])
def test_rect_tile_diff_matches_reference(rect: tuple[int, int, int, int]) -> None:
    rng = np.random.default_rng(3)
    a = noise(rng, 50, 70)
    b = a.copy()
    b[rng.random((50, 70)) < 0.01, 1] ^= 0x40
    got = _rowhash.rect_tile_diff(a, _strided(b), rect, 16)
    assert np.array_equal(got, ref.rect_tile_diff_reference(a, b, rect, 16))


def test_rects_tile_diff_is_rect_tile_diff_of_each() -> None:
    rng = np.random.default_rng(4)
    a = noise(rng, 50, 70)
    b = a.copy()
    b[rng.random((50, 70)) < 0.02, 0] ^= 0x11
    rects = [(0, 0, 70, 50), (5, 3, 33, 17), (69, 49, 1, 1), (40, 10, 20, 30)]
    got = _rowhash.rects_tile_diff(a, _strided(b), np.array(rects, np.int32), 16)
    want = [ref.rect_tile_diff_reference(a, b, r, 16) for r in rects]
    assert np.array_equal(got, np.concatenate(want))
    assert _rowhash.rects_tile_diff(a, b, np.zeros((0, 4), np.int32)).shape == (0, 4)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_apply_copies_matches_reference(n: int) -> None:
    rng = np.random.default_rng(n)
    a = noise(rng, 40, 50)
    b = a.copy()
    w, h = rng.integers(1, 20, (2, n))
    ops = np.column_stack(
        [rng.integers(0, 50 - w), rng.integers(0, 40 - h), rng.integers(0, 50 - w),
         rng.integers(0, 40 - h), w, h]
    )  # fmt: skip
    view = _strided(a)
    _rowhash.apply_copies(view, ops)
    ref.apply_copies_reference(b, ops)
    assert np.array_equal(view, b)


#: One scratch for every call of the test below, whatever its sizes: the
#: kernel must leave its index empty for the next call.
_TABLES = _rowhash.SegmentTables()


@pytest.mark.parametrize("seed", range(8))
def test_segment_shifts_match_reference(seed: int) -> None:
    """A window moved anywhere over noise or text: the kernel's votes equal
    the pixel-by-pixel reference's, at any row step and segment width, with
    fresh scratch or scratch kept from earlier calls."""
    from .motion_helpers import textish

    rng = np.random.default_rng(seed)
    h, w = 90, 150
    wall = noise(rng, h, w) if seed % 2 else textish(rng, h, w)
    win = textish(rng, 30, 50, line=8) if seed % 3 else noise(rng, 30, 50)
    win[12:16] = noise(rng, 4, 50)  # some detail, whatever the text
    a, b = wall.copy(), wall.copy()
    x0, y0, x1, y1 = (int(v) for v in rng.integers(0, [w - 50, h - 30, w - 50, h - 30]))
    a[y0 : y0 + 30, x0 : x0 + 50] = win
    b[y1 : y1 + 30, x1 : x1 + 50] = win
    rows = rng.choice(np.arange(0, h, 4), 6, replace=False).tolist()  # runs apart
    k, step = int(rng.choice([8, 16, 32])), int(rng.integers(1, 5))
    rect, scan = (0, 0, w, h), (5, 3, w - 9, h - 7)
    for sc, runs, least in ((None, None, 1), (scan, 2, 1), (None, 3, 20)):
        opts = {"scan": sc, "k": k, "row_step": step, "max_runs": runs, "min_anchors": least}
        got = _rowhash.segment_shifts(_strided(a), b, rect, rows, **opts)  # type: ignore[arg-type]
        want = ref.segment_shifts_reference(a, b, rect, rows, **opts)  # type: ignore[arg-type]
        assert np.array_equal(got, want)
        kept = _rowhash.segment_shifts(a, b, rect, rows, tables=_TABLES, **opts)  # type: ignore[arg-type]
        assert np.array_equal(kept, want)
        assert (_TABLES.index == np.iinfo(np.uint64).max).all()  # left empty
    if (x0, y0) != (x1, y1):
        # The move itself has the most votes when an anchor row crosses the window.
        full = _rowhash.segment_shifts(a, b, rect, list(range(y1, y1 + 30)), k=8)
        assert full[0, :2].tolist() == [x1 - x0, y1 - y0]
        # A run over the window is found after runs over rows at rest, which
        # give no anchors and do not count.
        lo, hi = min(y0, y1), max(y0, y1) + 30
        rest = [r for r in range(0, h - 4, 4) if r + 4 <= lo or r >= hi][:3]
        full = _rowhash.segment_shifts(
            a, b, rect, [*rest, y1 + 12], k=8, row_step=2, run=4, max_runs=1, min_anchors=5
        )
        assert full[0, :2].tolist() == [x1 - x0, y1 - y0]


def test_segment_tables_refuse_a_second_concurrent_call() -> None:
    """Scratch in use (another thread inside the kernel) is refused, not shared."""
    f = np.zeros((40, 64, 4), np.uint8)
    tables = _rowhash.SegmentTables()
    with tables.lock:  # as a call on another thread holds it
        assert tables.busy
        with pytest.raises(RuntimeError, match="in use"):
            _rowhash.segment_shifts(f, f, (0, 0, 64, 40), [0], k=8, tables=tables)
    assert not tables.busy
    assert _rowhash.segment_shifts(f, f, (0, 0, 64, 40), [0], k=8, tables=tables).shape == (0, 3)


def test_validation() -> None:
    f = np.zeros((10, 10, 4), np.uint8)
    with pytest.raises(FrameError):
        _rowhash.row_hashes(f, (5, 0, 6, 1))
    with pytest.raises(FrameError):
        _rowhash.row_hashes(f[..., :3], (0, 0, 1, 1))
    with pytest.raises(FrameError):
        _rowhash.row_hashes(f.astype(np.uint16), (0, 0, 1, 1))
    with pytest.raises(FrameError):
        _rowhash.match_runs(f, np.zeros((10, 11, 4), np.uint8), (0, 0, 1, 1), 0, 0)
    with pytest.raises(FrameError):
        _rowhash.match_runs(f, f, (0, 0, 10, 10), 0, 1, row_mask=np.ones(3, bool))
    with pytest.raises(FrameError):
        _rowhash.move_rect(f, (0, 0, 5, 5), 6, 0)
    ro = f.copy()
    ro.flags.writeable = False
    with pytest.raises(FrameError):
        _rowhash.move_rect(ro, (0, 0, 5, 5), 1, 0)
    with pytest.raises(FrameError):
        _rowhash.rect_tile_diff(f, f, (0, 0, 5, 5), 8)
    with pytest.raises(FrameError):
        _rowhash.rects_tile_diff(f, f, [(0, 0, 5, 0)], 16)
    with pytest.raises(FrameError):
        _rowhash.apply_copies(f, [(0, 0, 6, 0, 5, 5)])
    with pytest.raises(FrameError):
        _rowhash.apply_copies(f, [(0, 0, 0, 0, 5, 5, 1)])
    with pytest.raises(FrameError):
        _rowhash.apply_copies(ro, [(0, 0, 1, 0, 5, 5)])
    with pytest.raises(FrameError):
        _rowhash.segment_shifts(f, f, (0, 0, 10, 10), [3], k=6)
    with pytest.raises(FrameError):
        _rowhash.segment_shifts(f, f, (0, 0, 10, 5), [7], k=4)
    with pytest.raises(FrameError):
        _rowhash.segment_shifts(f, f, (0, 0, 10, 10), [3], k=4, scan=(5, 5, 6, 6))
    with pytest.raises(FrameError, match="overlap"):
        _rowhash.segment_shifts(f, f, (0, 0, 10, 10), [3, 4], k=4, row_step=2)
    assert _rowhash.segment_shifts(f, f, (0, 0, 3, 10), [3], k=4).shape == (0, 3)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 60), st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_row_votes_match_reference(n: int, h: int, seed: int, alphabet: int) -> None:
    rng = np.random.default_rng(seed)
    # A small alphabet of hashes: repeated rows, like blank lines.
    hp = rng.integers(0, alphabet + h // 2, (n, h)).astype(np.uint64) * np.uint64(0x9E3779B1)
    hc = np.roll(hp, int(rng.integers(-5, 6)), axis=1)
    hc[rng.random((n, h)) < 0.2] = np.uint64(12345)
    changed = rng.random((n, h)) < 0.8
    got = _rowhash.row_votes(hp, hc, changed)
    assert np.array_equal(got, ref.row_votes_reference(hp, hc, changed))


@pytest.mark.parametrize("damage", ["zeros", "noise", "small", "dtype"])
def test_segment_tables_written_by_the_caller_stay_safe(damage: str) -> None:
    """Scratch a caller wrote into (every slot naming anchor 0, random words)
    or replaced (a short array, another dtype) is neither trusted nor fatal:
    the call returns the reference's votes, and the next call too."""
    from .motion_helpers import textish

    rng = np.random.default_rng(3)
    a = textish(rng, 90, 150)
    b = a.copy()
    b[30:60, 40:100] = a[20:50, 30:90]  # a block moved by (10, 10)
    opts = {"k": 8, "row_step": 2}
    rows = [30, 40, 50]
    want = ref.segment_shifts_reference(a, b, (0, 0, 150, 90), rows, **opts)  # type: ignore[arg-type]
    tables = _rowhash.SegmentTables()
    _rowhash.segment_shifts(a, b, (0, 0, 150, 90), rows, tables=tables, **opts)  # type: ignore[arg-type]
    if damage == "zeros":
        tables.index[:] = 0  # every slot: key 0, anchor 0
    elif damage == "noise":
        tables.index[:] = rng.integers(0, 2**63, tables.index.shape, dtype=np.uint64)
    elif damage == "small":
        tables.index = np.full(8, np.iinfo(np.uint64).max, np.uint64)
        tables.anchor = np.zeros(4, np.int32)
    else:
        tables.index = tables.index.astype(np.int64)
        tables.skeys = np.zeros(3, np.int64)
    for _ in range(2):
        got = _rowhash.segment_shifts(a, b, (0, 0, 150, 90), rows, tables=tables, **opts)  # type: ignore[arg-type]
        assert np.array_equal(got, want)
