"""Review of ``segment_shifts`` with scratch kept between calls (SegmentTables).

One SegmentTables shared by every call of the property test, whatever the
frame, rect, rows, scan, segment width, row step and run limits: its votes
must equal those of fresh scratch and of the pixel-by-pixel reference, and
the kernel must leave the anchor index empty (all ones) after every call,
through sizes that grow and shrink from one call to the next. Then the busy
guard: a call that finds the tables in use by another thread is refused, and
a call that fails leaves them usable.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screencodec.motion import MotionStage, _rowhash
from screencodec.motion import reference as ref

Frame = npt.NDArray[np.uint8]
_EMPTY = np.iinfo(np.uint64).max

#: Shared by every example below (module-level on purpose): each call must
#: leave it as it found it.
_SHARED = _rowhash.SegmentTables()


def _content(rng: np.random.Generator, kind: int, h: int, w: int) -> Frame:
    """Noise (every segment unique), a 3-colour palette (segments repeat by
    chance), a tiled pattern (segments repeat exactly: ambiguous anchors,
    anchors found more than 3 times) or flat rows (no detail)."""
    f = np.empty((h, w, 4), np.uint8)
    if kind == 0:
        f[...] = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    elif kind == 1:
        f[...] = rng.integers(0, 3, (h, w, 4), dtype=np.uint8) * 100
    elif kind == 2:
        tile = rng.integers(0, 256, (int(rng.integers(1, 5)), int(rng.integers(2, 13)), 4))
        reps = (-(-h // tile.shape[0]), -(-w // tile.shape[1]), 1)
        f[...] = np.tile(tile.astype(np.uint8), reps)[:h, :w]
    else:
        f[...] = rng.integers(0, 256, (h, 1, 4), dtype=np.uint8)
    f[..., 3] = rng.integers(0, 256, (h, w), dtype=np.uint8)  # padding: ignored
    return f


@st.composite
def _calls(draw: st.DrawFn) -> dict[str, Any]:
    """One segment_shifts call: frames with a block moved and some noise
    changed, a rect, anchor runs (in any order), a scan rect, parameters."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    h, w = draw(st.integers(4, 40)), draw(st.integers(8, 80))
    kind = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))
    prev = _content(rng, kind, h, w)
    cur = prev.copy()
    # A large block moved (so that anchors find their places and vote).
    bh, bw = int(rng.integers((h + 1) // 2, h + 1)), int(rng.integers((w + 1) // 2, w + 1))
    sy, sx = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    dy, dx = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    cur[dy : dy + bh, dx : dx + bw] = prev[sy : sy + bh, sx : sx + bw]
    if draw(st.booleans()):
        m = rng.random((h, w)) < 0.1
        cur[m] = rng.integers(0, 256, (int(m.sum()), 4), dtype=np.uint8)
    k = draw(st.sampled_from([4, 4, 8, 8, 12, 16, 32, 64]))  # 64: wider than many rects
    if draw(st.booleans()):
        rx, ry, rw, rh = 0, 0, w, h
    else:
        rx = draw(st.integers(0, w - 1))
        rw = draw(st.integers(1, w - rx))
        ry = draw(st.integers(0, h - 1))
        rh = draw(st.integers(1, h - ry))
    row_step = draw(st.sampled_from([1, 1, 2, 3, 4, 5, 64]))  # 64: past every frame
    run = draw(st.sampled_from([None, None, 1, 2, 3, 4, 6]))
    r = row_step if run is None else run
    # Runs may be cut short by the rect's bottom (they still count as runs:
    # test_a_run_cut_by_the_rect_bottom_counts).
    grid = list(range(ry, ry + rh, r))
    # Mostly runs that meet the moved block (the others find nothing).
    near = [g for g in grid if dy - r < g < dy + bh]
    if near and draw(st.integers(0, 3)) > 0:
        grid = near
    rows: list[int] = []
    if grid:
        rows = draw(st.lists(st.sampled_from(grid), min_size=1, max_size=5, unique=True))
    scan = None
    if draw(st.integers(0, 2)) == 0:  # (drawn after k: scans mostly k wide or more)
        qx = draw(st.integers(0, w - 1))
        qy = draw(st.integers(0, h - 1))
        sw = draw(st.integers(min(k, w - qx), w - qx))
        scan = (qx, qy, sw, draw(st.integers(min(8, h - qy), h - qy)))
    opts = {
        "scan": scan,
        "k": k,
        "min_detail": draw(st.sampled_from([3, 0, 1, 4])),
        "row_step": row_step,
        "run": run,
        "max_runs": draw(st.sampled_from([None, None, 0, 1, 2, 3, 5])),
        # At most 1: with more, runs that fall short still insert anchors,
        # which the kernel's table is not sized for
        # (test_runs_short_of_min_anchors_do_not_overflow_the_index).
        "min_anchors": draw(st.integers(0, 1)),
        "max_out": draw(st.sampled_from([8, 8, 3, 1, 10, 0])),
    }
    return {"prev": prev, "cur": cur, "rect": (rx, ry, rw, rh), "rows": rows, "opts": opts}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_calls(), min_size=1, max_size=4))
def test_kept_tables_vote_as_fresh_ones_and_the_reference(calls: list[dict[str, Any]]) -> None:
    """Calls of any size in a row through one SegmentTables: the votes equal
    fresh scratch's and the reference's, and the index is empty after each."""
    for c in calls:
        args = (c["prev"], c["cur"], c["rect"], c["rows"])
        kept = _rowhash.segment_shifts(*args, tables=_SHARED, **c["opts"])
        fresh = _rowhash.segment_shifts(*args, **c["opts"])
        want = ref.segment_shifts_reference(*args, **c["opts"])
        assert np.array_equal(kept, fresh)
        assert np.array_equal(kept, want)
        if _SHARED.cap:
            assert (_SHARED.index == _EMPTY).all()
            assert len(_SHARED.index) == 2 * _SHARED.cap
        assert not _SHARED.busy


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.tuples(st.integers(8, 40), st.integers(32, 90)),
    k=st.sampled_from([4, 8, 16, 32]),
    row_step=st.integers(1, 4),
    dup=st.booleans(),
)
def test_kept_tables_on_moves_that_vote(
    seed: int, size: tuple[int, int], k: int, row_step: int, dup: bool
) -> None:
    """Noise with a block moved, anchor runs over its new place: votes are
    cast (so the index is filled, looked up and emptied), equal to fresh
    scratch's and the reference's; ``dup`` copies a piece of the block
    elsewhere (anchors seen twice, places found twice)."""
    rng = np.random.default_rng(seed)
    h, w = size
    k = min(k, w // 4 // 4 * 4)  # the block is 2 k wide at least
    prev = _content(rng, 0, h, w)
    cur = prev.copy()
    bh, bw = h // 2, w // 2
    sy, sx, dy, dx = (int(v) for v in rng.integers(0, [h - bh + 1, w - bw + 1] * 2))
    cur[dy : dy + bh, dx : dx + bw] = prev[sy : sy + bh, sx : sx + bw]
    if dup:
        cur[:2, :k] = cur[dy : dy + 2, dx : dx + k]
        prev[-2:, -k:] = prev[sy : sy + 2, sx : sx + k]
    rows = list(range(dy, min(dy + bh, h - row_step + 1), row_step))
    rng.shuffle(rows)
    plan: list[dict[str, Any]] = [{"k": k, "row_step": row_step}, {"k": k, "max_runs": 2}]
    for opts in plan:
        opts["row_step"] = row_step
        args = (prev, cur, (0, 0, w, h), rows[:6])
        kept = _rowhash.segment_shifts(*args, tables=_SHARED, **opts)
        assert np.array_equal(kept, _rowhash.segment_shifts(*args, **opts))
        assert np.array_equal(kept, ref.segment_shifts_reference(*args, **opts))
        assert (_SHARED.index == _EMPTY).all()
        if (sx, sy) != (dx, dy):
            assert len(kept)


def test_tables_grow_then_shrink_and_a_full_index_is_left_empty() -> None:
    """A large call (anchors up to the index's half-full limit: every column
    of noise is an anchor), then small ones on the larger index, then a large
    one again: same votes as fresh scratch and the reference, index empty."""
    rng = np.random.default_rng(3)
    tables = _rowhash.SegmentTables()
    big = rng.integers(0, 256, (48, 120, 4), dtype=np.uint8)
    moved = np.roll(big, (5, -7), axis=(0, 1))
    small_a = big[:12, :20].copy()
    small_b = moved[:12, :20].copy()
    plan: list[tuple[Frame, Frame, tuple[int, int, int, int], list[int], dict[str, Any]]] = [
        (big, moved, (0, 0, 120, 48), list(range(0, 48, 4)), {"k": 8, "run": 4}),
        (small_a, small_b, (0, 0, 20, 12), [0, 6], {"k": 4, "run": 3}),
        (small_a, small_b, (2, 1, 8, 10), [1], {"k": 8, "run": 1}),  # w == k
        (big, moved, (0, 0, 120, 48), list(range(0, 48, 2)), {"k": 4, "run": 2}),
        (small_a, small_b, (0, 0, 20, 12), [3], {"k": 32}),  # w < k: no call
    ]
    caps = []
    for prev, cur, rect, rows, opts in plan:
        got = _rowhash.segment_shifts(prev, cur, rect, rows, tables=tables, **opts)
        assert np.array_equal(got, _rowhash.segment_shifts(prev, cur, rect, rows, **opts))
        assert np.array_equal(got, ref.segment_shifts_reference(prev, cur, rect, rows, **opts))
        assert (tables.index == _EMPTY).all()
        caps.append(tables.cap)
    assert caps == sorted(caps) and caps[0] > 16  # grows, never shrinks


def test_a_run_cut_by_the_rect_bottom_counts() -> None:
    """A run whose last rows fall below the rect is still a run: with
    max_runs=1 and a first run (rows 10-11 of 12) full of anchors, the
    second run (rows 0-3) is not tried. The kernel tries it and its anchors
    vote (0, -9) as well."""
    rng = np.random.default_rng(7)
    prev = rng.integers(0, 256, (12, 24, 4), dtype=np.uint8)
    cur = np.roll(prev, 3, axis=0)
    opts: dict[str, Any] = {"k": 4, "run": 4, "max_runs": 1, "min_anchors": 1}
    want = ref.segment_shifts_reference(prev, cur, (0, 0, 24, 12), [10, 0], **opts)
    assert want.tolist() == [[0, 3, 72]]
    got = _rowhash.segment_shifts(prev, cur, (0, 0, 24, 12), [10, 0], **opts)
    assert got.tolist() == want.tolist()


def test_runs_short_of_min_anchors_do_not_overflow_the_index() -> None:
    """One anchor per row (w == k), min_anchors=2: no run is ever productive,
    so all 35 are tried and each inserts its anchor. The index (16 slots,
    8 anchors) keeps 8 of the 35: 48 votes instead of 210."""
    rng = np.random.default_rng(7)
    rng.integers(0, 256, (12, 24, 4), dtype=np.uint8)  # (same stream as the repro)
    prev = rng.integers(0, 256, (40, 8, 4), dtype=np.uint8)
    cur = np.roll(prev, 5, axis=0)
    opts: dict[str, Any] = {"k": 8, "run": 1, "max_runs": 1, "min_anchors": 2}
    rows = list(range(5, 40))
    want = ref.segment_shifts_reference(prev, cur, (0, 0, 8, 40), rows, **opts)
    assert want.tolist() == [[0, 5, 210]]
    got = _rowhash.segment_shifts(prev, cur, (0, 0, 8, 40), rows, **opts)
    assert got.tolist() == want.tolist()


def test_a_large_min_anchors_sizes_the_index_by_the_frame() -> None:
    """min_anchors far above what a run can give: the index is still sized
    by what the rows can hold, so the call returns (an int32 ``cap`` doubled
    past 2**31 would loop forever, holding the GIL: hence a subprocess)."""
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # no 16 GB index\n"
        "import numpy as np\n"
        "from screencodec.motion import _rowhash\n"
        "f = np.zeros((4096, 64, 4), np.uint8)\n"
        "r = _rowhash.segment_shifts(f, f, (0, 0, 64, 4096), list(range(4096)), k=8, run=1,\n"
        "                            min_anchors=1 << 20)\n"
        "print(r.shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(0, 3)"


def test_a_stage_and_its_tables_deep_copy() -> None:
    """benchmarks/test_bench_motion.py times each frame on deep copies of a
    stage (same state each run): its SegmentTables must copy too, into
    tables of their own (fresh ones will do), not busy."""
    f = np.random.default_rng(4).integers(0, 256, (32, 64, 4), dtype=np.uint8)
    g = np.roll(f, (2, 5), axis=(0, 1))
    stage = MotionStage()
    tables = stage._segments
    _rowhash.segment_shifts(f, g, (0, 0, 64, 32), [0, 8], k=8, run=4, tables=tables)
    twin = copy.deepcopy(stage)._segments
    assert twin is not tables and not twin.busy
    got = _rowhash.segment_shifts(f, g, (0, 0, 64, 32), [0, 8], k=8, run=4, tables=twin)
    assert np.array_equal(
        got, ref.segment_shifts_reference(f, g, (0, 0, 64, 32), [0, 8], k=8, run=4)
    )
    assert twin.index is not tables.index
    assert (twin.index == _EMPTY).all() and (tables.index == _EMPTY).all()


class _NumpyHeldIn:
    """numpy for ``_rowhash``, except that ``np.full`` (what reserve calls
    when the tables grow) runs ``hook`` first."""

    def __init__(self, hook: Any) -> None:
        self._hook = hook

    def full(self, *args: Any, **kw: Any) -> Any:
        self._hook()
        return np.full(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def test_a_call_while_another_grows_the_tables_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thread A's call has passed the busy check and is growing the tables
    (np.full, Python code: the GIL can pass to another thread there). A
    second call on the same tables in that window must be refused; it is
    not, because busy is set only after reserve() -- so both calls can go on
    into the kernel (nogil) with one index and one anchor array."""
    f = np.random.default_rng(1).integers(0, 256, (64, 256, 4), dtype=np.uint8)
    g = np.roll(f, 3, axis=1)
    tables = _rowhash.SegmentTables()
    in_reserve, second_done = threading.Event(), threading.Event()
    a_thread: list[threading.Thread] = []

    def hold() -> None:
        if threading.current_thread() in a_thread:
            in_reserve.set()
            assert second_done.wait(10)

    monkeypatch.setattr(_rowhash, "np", _NumpyHeldIn(hold))
    a_result: list[object] = []

    def call_a() -> None:
        try:
            a_result.append(_rowhash.segment_shifts(f, g, (0, 0, 256, 64), [0, 8], k=8,
                                                    run=4, tables=tables))  # fmt: skip
        except Exception as e:  # reported below
            a_result.append(e)

    a = threading.Thread(target=call_a)
    a_thread.append(a)
    a.start()
    try:
        assert in_reserve.wait(10)
        second: object
        try:
            second = _rowhash.segment_shifts(f, g, (0, 0, 256, 64), [16], k=8, tables=tables)
        except RuntimeError as e:
            second = e
    finally:
        second_done.set()
        a.join(10)
    assert isinstance(a_result[0], np.ndarray)  # the first call completes
    assert (tables.index == _EMPTY).all() and not tables.busy
    assert isinstance(second, RuntimeError), "a second call ran while the first was in progress"


def test_a_call_that_fails_growing_the_tables_leaves_them_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MemoryError while the tables grow: raised to the caller; the tables
    are not left busy, and the next call works and leaves the index empty."""
    f = np.random.default_rng(2).integers(0, 256, (32, 64, 4), dtype=np.uint8)
    g = np.roll(f, (2, 5), axis=(0, 1))
    tables = _rowhash.SegmentTables()
    fail = SimpleNamespace(now=True)

    def boom() -> None:
        if fail.now:
            fail.now = False
            raise MemoryError("test: no room for the index")

    monkeypatch.setattr(_rowhash, "np", _NumpyHeldIn(boom))
    with pytest.raises(MemoryError):
        _rowhash.segment_shifts(f, g, (0, 0, 64, 32), [0, 8], k=8, run=4, tables=tables)
    assert not tables.busy
    got = _rowhash.segment_shifts(f, g, (0, 0, 64, 32), [0, 8], k=8, run=4, tables=tables)
    want = ref.segment_shifts_reference(f, g, (0, 0, 64, 32), [0, 8], k=8, run=4)
    assert np.array_equal(got, want)
    assert (tables.index == _EMPTY).all()
