"""photo46: the photo row measure of ``split_pictures`` in C
(quality/_photorows.pyx over csrc/photorows.c) agrees exactly with its NumPy
reference (``classify._photo_rows_reference``, ``_edge_runs_reference``): on
the corpus' frames, on random and adversarial rows (counts on each side of
every limit), 1-pixel blocks, blocks at the frame's edges and strided views;
and it reads nothing outside the blocks it is given."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from test_strips46 import corpus_frame

from screencodec.errors import FrameError
from screencodec.quality import _photorows, classify
from screencodec.quality.classify import (
    SAMPLES_X,
    _edge_runs,
    _edge_runs_reference,
    _photo_rows,
    _photo_rows_reference,
    split_pictures,
)
from screencodec.quality.plan import cut_blocks

Frame = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def kernel_rows(frame: Frame, b: I64, ys: I64, n: int) -> npt.NDArray[np.bool_]:
    return _photorows.photo_rows(frame, b, ys, n, **classify._LIMITS)


def all_rows(blocks: I64) -> tuple[I64, I64]:
    """Each row of each block: its block and its y."""
    h = blocks[:, 3]
    b = np.repeat(blocks, h, axis=0)
    local = np.arange(int(h.sum())) - np.repeat(np.cumsum(h) - h, h)
    return b, b[:, 1] + local


def assert_agree(frame: Frame, blocks: I64, ns: tuple[int, ...] = (SAMPLES_X, 256)) -> int:
    """Kernel and reference agree on every row of every block at each n and
    on the edge runs of every block of 2 rows or more; the photo rows found."""
    b, ys = all_rows(blocks)
    found = 0
    for n in ns:
        want = _photo_rows_reference(frame, b, ys, n)
        got = kernel_rows(frame, b, ys, n)
        bad = np.flatnonzero(got != want)
        assert not len(bad), (n, b[bad[:5]].tolist(), ys[bad[:5]].tolist(), want[bad[:5]])
        found += int(want.sum())
    tall = blocks[blocks[:, 3] >= 2]
    lead, trail = _edge_runs(frame, tall)
    want_lead, want_trail = _edge_runs_reference(frame, tall)
    assert lead.tolist() == want_lead.tolist() and trail.tolist() == want_trail.tolist()
    return found


def unpacked(frame: Frame) -> Frame:
    """The same pixels 8 bytes apart: a view the kernel cannot read, so
    classify takes the NumPy reference for it."""
    wide = np.zeros((*frame.shape[:2], 8), np.uint8)
    wide[..., :4] = frame
    return wide[..., :4]


@pytest.mark.parametrize(
    ("clip", "frames"),
    [("browser-scroll", (0, 21, 63, 129, 172)), ("window-drag", (0, 40)),
     ("browser-docs", (0,)), ("terminal-log", (0,)), ("vim-typing", (0,))],
)  # fmt: skip
def test_the_kernel_agrees_with_the_reference_on_the_corpus(
    clip: str, frames: tuple[int, ...]
) -> None:
    """Every row of every encoder block of whole frames (a keyframe's 136
    blocks), and split_pictures whole: the same parts and kinds as with the
    reference (a frame the kernel cannot read)."""
    found = 0
    for i in frames:
        f = corpus_frame(clip, i)
        h, w = f.shape[:2]
        blocks, owner = cut_blocks(np.array([[0, 0, w, h]], np.int32))
        found += assert_agree(f, blocks.astype(np.int64))
        got = split_pictures(f, blocks, owner)
        want = split_pictures(unpacked(f), blocks, owner)
        for a, b in zip(got, want, strict=True):
            assert a.tolist() == b.tolist()
    if clip in ("browser-scroll", "window-drag"):
        assert found > 1000  # photos: the kernel's counting of colours ran


def graded_rows(rng: np.random.Generator, rows: int, w: int) -> Frame:
    """Rows near every limit of a photo's row: a background colour over a
    share of 0.15-0.35 of the row, 20-45 other colours, graded steps (below
    EDGE) with a few edges, and repeats of the left pixel at 0.3-0.5."""
    out = np.zeros((rows, w, 4), np.uint8)
    for r in range(rows):
        k = int(rng.integers(20, 46))
        base = rng.integers(40, 200, 3)
        palette = base + rng.integers(-10, 11, (k, 3))  # steps under EDGE
        jumps = rng.random(k) < rng.uniform(0, 0.12)
        palette[jumps] = rng.integers(0, 256, (int(jumps.sum()), 3))
        idx = rng.integers(1, k, w)
        idx[rng.random(w) < rng.uniform(0.12, 0.3)] = 0
        repeat = rng.random(w) < rng.uniform(0.2, 0.4)
        for x in np.flatnonzero(repeat[1:]) + 1:
            idx[x] = idx[x - 1]
        out[r, :, :3] = palette[idx]
        out[r, :, 3] = rng.integers(0, 256, w)  # the padding byte is never data
    return out


def test_the_kernel_agrees_on_rows_at_every_limit() -> None:
    """3,000 rows whose counts straddle each limit: both kinds of row come
    out, and for each limit rows one count on either side of it."""
    rng = np.random.default_rng(46)
    f = graded_rows(rng, 3000, 256)
    blocks = np.array([[0, 0, 256, 3000]], np.int64)
    b, ys = all_rows(blocks)
    want = _photo_rows_reference(f, b, ys, 256)
    assert 300 < want.sum() < 2700  # 494 of them photo rows
    assert kernel_rows(f, b, ys, 256).tolist() == want.tolist()
    # Each limit is straddled: most common colour 63 / 64 of 256, flat
    # 102 / 103, edges 16 / 17, colours 31 / 32.
    px = f[..., :3].astype(np.int32)
    rgb = px[..., 0] | px[..., 1] << 8 | px[..., 2] << 16
    step = np.abs(np.diff(px, axis=1, prepend=px[:, :1])).max(axis=2)
    flat = (step == 0).sum(axis=1)
    edges = (step >= classify.EDGE).sum(axis=1)
    mode = np.array([np.unique(r, return_counts=True)[1].max() for r in rgb])
    colours = np.array([len(np.unique(r)) for r in rgb])
    limits = ((mode, (63, 64)), (flat, (102, 103)), (edges, (16, 17)), (colours, (31, 32)))
    for counts, near in limits:
        assert all((counts == c).any() for c in near), near
    # The same rows in narrower blocks, fewer samples and other offsets.
    narrow = ((0, 1, 256), (5, 2, 3), (100, 156, 64), (0, 255, 300), (17, 64, 64), (255, 1, 1))
    for x, w, n in narrow:
        sub = np.array([[x, 0, w, 3000]], np.int64)
        b, ys = all_rows(sub)
        assert kernel_rows(f, b, ys, n).tolist() == _photo_rows_reference(f, b, ys, n).tolist()


def test_the_kernel_agrees_on_random_frames_blocks_and_views() -> None:
    """Random frames of few or many colours, random blocks down to 1x1 and
    at the frame's right and bottom edges, in the frame and in strided
    views of it (every other row, a column offset)."""
    rng = np.random.default_rng(7)
    for trial in range(40):
        h, w = int(rng.integers(1, 90)), int(rng.integers(1, 300))
        colours = int(rng.choice([2, 8, 40, 256]))
        f = rng.integers(0, colours, (h, w, 4), dtype=np.uint8) * (256 // colours)
        if trial % 3 == 0:
            f = np.ascontiguousarray(np.concatenate([f, graded_rows(rng, h, w)], axis=1))
            w = f.shape[1]
        n_blocks = 12
        x = rng.integers(0, w, n_blocks)
        y = rng.integers(0, h, n_blocks)
        bw = np.minimum(rng.integers(1, w + 1, n_blocks), w - x)
        bh = np.minimum(rng.integers(1, h + 1, n_blocks), h - y)
        edge = np.array([[w - 1, h - 1, 1, 1], [0, 0, w, h], [w - bw[0], h - bh[0], bw[0], bh[0]]])
        blocks = np.concatenate([np.stack([x, y, bw, bh], axis=1), edge]).astype(np.int64)
        assert_agree(f, blocks, (1, 2, 7, SAMPLES_X, 256))
        if h >= 4 and w >= 4:
            view = f[1::2, 3:]
            vh, vw = view.shape[:2]
            assert not view.flags.c_contiguous
            vb = np.array([[0, 0, vw, vh], [vw - 1, vh - 1, 1, 1], [1, 0, vw - 1, vh]], np.int64)
            assert_agree(view, vb, (1, SAMPLES_X, 256))


def test_a_view_the_kernel_cannot_read_takes_the_reference() -> None:
    """Pixels not 4 bytes apart (every other column), or rows running
    backwards: classify measures them with NumPy, the same answers as a
    packed copy through the kernel."""
    rng = np.random.default_rng(3)
    f = graded_rows(rng, 200, 512)
    view = f[:, ::2]
    blocks = np.array([[0, 0, 256, 200], [10, 50, 100, 20]], np.int64)
    b, ys = all_rows(blocks)
    with pytest.raises(FrameError, match="packed BGRX"):
        kernel_rows(view, b, ys, 256)
    packed = np.ascontiguousarray(view)
    assert _photo_rows(view, b, ys, 256).tolist() == kernel_rows(packed, b, ys, 256).tolist()
    assert [a.tolist() for a in _edge_runs(view, blocks)] == [
        a.tolist() for a in _edge_runs(packed, blocks)
    ]
    # Rows running backwards (an upside-down view) likewise.
    up = f[::-1]
    with pytest.raises(FrameError, match="run backwards"):
        kernel_rows(up, b, ys, 256)
    flipped = np.ascontiguousarray(up)
    assert _photo_rows(up, b, ys, 256).tolist() == kernel_rows(flipped, b, ys, 256).tolist()


@pytest.mark.parametrize(
    ("blocks", "ys", "n", "words"),
    [([[0, 0, 11, 5]], [0], 256, "outside the 10x6 frame"),
     ([[0, 2, 10, 5]], [2], 256, "outside the 10x6 frame"),
     ([[-1, 0, 5, 5]], [0], 256, "outside the 10x6 frame"),
     ([[0, 0, 0, 5]], [0], 256, "empty"),
     ([[0, 0, 10, 2]], [2], 256, "row 2 is outside its block"),
     ([[0, 1, 10, 2]], [0], 256, "row 0 is outside its block"),
     ([[0, 0, 10, 2]], [0], 0, r"samples a row must be in \[1, 4096\]"),
     ([[0, 0, 10, 2]], [0, 1], 64, r"ys must have shape \(1,\)"),
     ([[0, 0, 10]], [0], 64, r"blocks must be \(m, 4\)")],
)  # fmt: skip
def test_the_kernel_refuses_what_it_would_read_outside(
    blocks: list[list[int]], ys: list[int], n: int, words: str
) -> None:
    f = np.zeros((6, 10, 4), np.uint8)
    with pytest.raises(FrameError, match=words):
        kernel_rows(f, np.array(blocks, np.int64), np.array(ys, np.int64), n)
    if "row" not in words and "ys" not in words:
        with pytest.raises(FrameError, match=words):
            _photorows.photo_runs(f, np.array(blocks, np.int64), n, **classify._LIMITS)


def test_a_probed_run_needs_a_second_row() -> None:
    f = np.zeros((6, 10, 4), np.uint8)
    with pytest.raises(FrameError, match="no second row to probe"):
        _photorows.photo_runs(f, np.array([[0, 0, 10, 1]]), 256, probe=64, **classify._LIMITS)
    assert [a.tolist() for a in _photorows.photo_runs(
        f, np.array([[0, 0, 10, 1]]), 256, **classify._LIMITS)] == [[0], [0]]  # fmt: skip
