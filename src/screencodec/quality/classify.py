"""Which blocks of a frame look like photos: the text test of video.regions,
vectorised over any number of blocks at once.

A block is *text-like* (and so always lossless) when its pixels are mostly
flat (``flat`` of them equal their left neighbour: text and UI ~0.75, photos
with grain ~0.03) or when it holds few colours (``colours``, 128 in the
samples: anti-aliased text on a plain background is flat anyway, while a
smooth photo-like wallpaper with fine grain shows 200-400 colours in the
samples at a flat share of 0.2-0.3; with 256 such wallpapers stayed lossless
and a 1080p join picture of the real-screen corpus was 825 kB at 4 Mbit/s,
with 128 it is 417-498 kB); otherwise it is *photo-like*, a candidate for
lossy coding under a rate. A third test finds smooth pictures that the
first two take for text: a blurred photo, a sky, a soft gradient has many
colours yet most of its pixels equal their left neighbour. Text and UI have
edges (a step of ``EDGE`` or more in B, G or R between neighbours); such a
picture has none, only graded steps. So a block of many colours is
photo-like as well when none of its sampled rows has an edge and
``SMOOTH_ROWS`` of them have ``GRADED`` graded steps and no plain stretch
(``SOLID_RUN`` unchanged samples: a window's margin beside the picture).
On the corpus article, such a strip of sky 640x55 at the bottom of the page
went as text, lossless: 29 kB, 230 ms of a 1 Mbit/s link. Measured on every
other frame's damage in the controller's blocks, the test takes 141 more
blocks of browser-scroll's photos and 29 of window-drag's wallpaper, and no
block of text: none in browser-docs, vim-typing or terminal-log, none in
the synthetic desktops' text windows. A block with an edge anywhere stays
text: a test that let edges in took blocks straddling a text window's edge
and the wallpaper, and their stills smeared the window. A block that is a
picture's edge above or below text (a photo's last rows and its caption)
is cut in two by ``split_pictures`` instead: 84 cuts in browser-scroll, 35
in window-drag, none in the text clips. What that cut misses, a strip of a
grainy photo's rows at a text block's top or bottom (a photo's last 8-11
rows above its caption, cut by a block edge: 4.2-9 kB a block as text on a
Chromium Page Down), or a block of a dark photo whose samples hold few
colours, is found row by row at full width (``_edge_strips``): on the
corpus 26 parts in browser-scroll, 11 of wallpaper in window-drag, none in
browser-docs, terminal-log or vim-typing.

The first two tests are those of ``video.regions.looks_like_text``, made
cheap enough to run on every block of every update: all three are measured
on a fixed grid of samples per block (16 rows of 64 pixels spread over it,
and each sample's left neighbour), gathered for all blocks in one
fancy-indexing pass, and the colours are counted by sorting each block's
samples. A block of 1,024 samples with more than 256 distinct colours
certainly has more than 256; one with fewer almost always has few. The cost
is one gather and one row-wise sort of 1,024 values per block (about 2 ms
for the 136 blocks of a 1080p keyframe), whatever the block's size. The rows
``_edge_strips`` measures in full run in C (quality/_photorows.pyx over
csrc/photorows.c, the NumPy ``_photo_rows_reference`` and
``_edge_runs_reference`` its test oracle): in NumPy they made a keyframe's
``split_pictures`` 2.6-3.3 times as long as it was without them (window-drag's
wallpaper), in C 1.05-1.2 times (benchmarks/RESULTS.md, photo46).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from . import _photorows

__all__ = [
    "EDGE", "GRADED", "SAMPLES_X", "SAMPLES_Y", "SMOOTH_ROWS", "SOLID_RUN", "STRIP_COLOURS",
    "STRIP_EDGES", "STRIP_MODE", "STRIP_ROWS", "photo_like", "split_pictures",
]


#: Samples per block: this many columns on each of ``SAMPLES_Y`` rows.
SAMPLES_X = 64
SAMPLES_Y = 16
_RGB = np.uint32(0x00FFFFFF)
Rects = npt.NDArray[np.int32]
#: A step between neighbours this large (in one of B, G, R) is an edge of
#: text or UI, as for the UI inside stills (quality.plan): smooth stretches
#: of photos step by 1-12.
EDGE = 24
#: Graded steps (0 < step < EDGE) a sampled row without an edge needs to be a
#: row of a smooth picture (a blank row between text lines has none).
GRADED = 8
#: Smooth sampled rows (of ``SAMPLES_Y``: a quarter) that make a block of many
#: colours and no edge photo-like however flat it is.
SMOOTH_ROWS = 4
#: Consecutive unchanged samples (a quarter of a row) that make a row plain,
#: not smooth.
SOLID_RUN = 16
#: Rows of a picture's part next to its cut checked in full for strokes of
#: the text beside it, and the rows the part keeps at least once its cut
#: moved past one.
_NEAR_CUT = 8
_LEAST_PICTURE = 8
#: Rows of a photo at a text block's top or bottom cut off it as a strip
#: (``split_pictures``), and what makes a row a photo's: its most common
#: colour's share and its distinct colours' share of the row's samples.
STRIP_ROWS = 4
STRIP_MODE = 0.25
STRIP_COLOURS = 0.125
STRIP_EDGES = 1 / 16
#: photo_like's default: a block (or a strip's row) of which this share of
#: sampled pixels equal their left neighbour is smooth, not a photo.
_FLAT = 0.4


def photo_like(
    frame: Frame, blocks: npt.ArrayLike, /, *, colours: int = 128, flat: float = _FLAT
) -> npt.NDArray[np.bool_]:
    """For each (x, y, w, h) block of ``frame`` (an (H, W, 4) BGRX array, rows
    may be strided), whether it looks like a photo: its samples hold more than
    ``colours`` colours (scaled down for blocks too small to hold that many
    distinct samples), and less than ``flat`` of its sampled pixels equal
    their left neighbour or ``SMOOTH_ROWS`` sampled rows are smooth (graded
    steps, no edge) and none has an edge. Blocks narrower than 2 pixels are
    never photo-like."""
    b = np.asarray(blocks, np.int64).reshape(-1, 4)
    out = np.zeros(len(b), np.bool_)
    ok = b[:, 2] >= 2
    if ok.any():
        out[ok] = _measure(frame, b[ok], colours, flat).photo
    return out


def split_pictures(
    frame: Frame, blocks: Rects, owner: npt.NDArray[np.intp], /
) -> tuple[Rects, npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """``photo_like`` of the blocks, with each text block whose first or last
    ``SMOOTH_ROWS`` or more sampled rows are smooth cut in two there: a
    photo's last rows above its caption, a sky above a window's title bar.
    As one block it is text and goes lossless whole (on the corpus article
    a band of 841x64 pixels: 30 kB, 240 ms of a 1 Mbit/s link); cut, the
    picture's rows are tested again on their own and the text's rows stay
    exact. The cut is at the sampled rows (the rows between the last smooth
    sample and the first one with text go with the text), then moved past
    any edge in the picture's rows next to it (``_clear_cut``: strokes of
    the text that no sample saw). Returns the blocks
    (each cut block replaced in place by its two parts, so every rect's
    blocks stay together), their rects and whether each is photo-like."""
    b = blocks.astype(np.int64).reshape(-1, 4)
    if not len(b):
        return blocks, owner, np.zeros(0, np.bool_)
    photo = np.zeros(len(b), np.bool_)
    ok = b[:, 2] >= 2
    cut = np.full(len(b), -1, np.int64)  # the row a cut block is cut at
    top = np.zeros(len(b), np.bool_)  # whether its picture is the upper part
    if ok.any():
        m = _measure(frame, b[ok], 128, _FLAT)
        photo[ok] = m.photo
        # Only text blocks of many colours, tall enough for a quarter of
        # their sampled rows to be a picture's, are looked at again.
        cand = np.flatnonzero(m.many & ~m.photo & (b[ok, 3] >= 2 * SAMPLES_Y))
        rows = _smooth_rows(m.step[cand])
        lead = np.argmin(np.pad(rows, ((0, 0), (0, 1))), axis=1)  # leading smooth rows
        trail = np.argmin(np.pad(rows[:, ::-1], ((0, 0), (0, 1))), axis=1)
        up = (lead >= SMOOTH_ROWS) & (lead < SAMPLES_Y)
        down = ~up & (trail >= SMOOTH_ROWS) & (trail < SAMPLES_Y)
        c = np.full(len(cand), -1, np.int64)
        c[up] = m.ys[cand[up], lead[up] - 1] + 1
        c[down] = m.ys[cand[down], SAMPLES_Y - trail[down]]
        where = np.flatnonzero(ok)[cand]
        cut[where], top[where] = c, up
        for i in np.flatnonzero(cut >= 0).tolist():
            cut[i] = _clear_cut(frame, b[i], int(cut[i]), bool(top[i]))
    split = cut >= 0
    if not split.any():
        return _edge_strips(frame, blocks, owner, photo)
    idx = np.repeat(np.arange(len(b)), 1 + split)
    out = b[idx].copy()
    first = np.flatnonzero(split[idx] & (np.diff(np.r_[-1, idx]) != 0))
    second = first + 1
    y, h, at = b[split, 1], b[split, 3], cut[split]
    out[first, 3] = at - y
    out[second, 1] = at
    out[second, 3] = y + h - at
    parts = np.concatenate([first, second])
    kind = photo[idx]
    kind[parts] = photo_like(frame, out[parts])
    # Only the picture's part may be photo-like: the text's stays text.
    kind[np.where(top[split], second, first)] = False
    return _edge_strips(frame, out.astype(np.int32), owner[idx], kind)


def _edge_strips(
    frame: Frame, blocks: Rects, owner: npt.NDArray[np.intp], kind: npt.NDArray[np.bool_]
) -> tuple[Rects, npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Each text block whose first or last ``STRIP_ROWS`` or more rows (every
    row, measured in full: ``_edge_runs``) are a photo's cut off them, the
    strip photo-like: a photo's last rows above its caption, cut by a block
    edge (on the corpus article 8-11 rows of 256, 4.2-5.0 kB a block as
    text). A block all of whose rows are a photo's is photo-like whole (a
    dark, smooth part of a photo whose samples hold few colours). Only text
    blocks whose second or second-to-last row looks like a photo's are
    measured in full. The parts replace their block in place."""
    b = blocks.astype(np.int64).reshape(-1, 4)
    text = np.flatnonzero(~kind & (b[:, 2] >= SAMPLES_X) & (b[:, 3] >= STRIP_ROWS))
    if not len(text):
        return blocks, owner, kind
    lead, trail = _edge_runs(frame, b[text])
    lead = np.where(lead >= STRIP_ROWS, lead, 0)
    trail = np.where(trail >= STRIP_ROWS, trail, 0)
    if not (lead | trail).any():
        return blocks, owner, kind
    # Each block's parts, top down: its leading strip, its text, its
    # trailing strip (a part of no rows is dropped).
    n_lead = np.zeros(len(b), np.int64)
    n_trail = np.zeros(len(b), np.int64)
    n_lead[text], n_trail[text] = lead, trail
    tops = np.stack([b[:, 1], b[:, 1] + n_lead, b[:, 1] + b[:, 3] - n_trail], axis=1)
    heights = np.stack([n_lead, b[:, 3] - n_lead - n_trail, n_trail], axis=1)
    keep = heights > 0
    idx = np.repeat(np.arange(len(b)), 3).reshape(-1, 3)[keep]
    out = b[idx].copy()
    out[:, 1], out[:, 3] = tops[keep], heights[keep]
    strip = np.zeros((len(b), 3), np.bool_)
    strip[:, 0], strip[:, 2] = True, True
    part_kind = np.where(strip, True, kind[:, None])[keep]
    return out.astype(np.int32), owner[idx], part_kind


def _photo_rows(
    frame: Frame, b: npt.NDArray[np.int64], ys: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.bool_]:
    """``_photo_rows_reference`` in C (quality/_photorows.pyx: 3-5x faster on
    the corpus' keyframes, benchmarks/RESULTS.md photo46); the reference for
    frames whose pixels are not packed (a view of every other column)."""
    if not _packed(frame):
        return _photo_rows_reference(frame, b, ys, n)
    return _photorows.photo_rows(frame, b, ys, n, **_LIMITS)


def _edge_runs(
    frame: Frame, b: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``_edge_runs_reference`` in C: only the rows up to each end's first
    row of text are measured (a block's rows at both ends, not all of them)."""
    if not _packed(frame):
        return _edge_runs_reference(frame, b)
    lead, trail = _photorows.photo_runs(frame, b, 256, probe=SAMPLES_X, **_LIMITS)
    return lead, trail


def _packed(frame: Frame) -> bool:
    """Whether the kernels read ``frame``: packed BGRX pixels, rows apart by a
    positive stride (frames.frame_layout)."""
    h, w = frame.shape[:2]
    return (
        frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 4 and h > 0 and w > 0
        and frame.strides[2] == 1 and (w == 1 or frame.strides[1] == 4)
        and (h == 1 or frame.strides[0] >= 4 * w)
    )  # fmt: skip


#: The limits of a photo's row, as ``_photo_rows_reference`` applies them
#: (the flat share is photo_like's).
_LIMITS: dict[str, Any] = {"edge": EDGE, "flat": _FLAT, "edges": STRIP_EDGES,
                           "mode": STRIP_MODE, "distinct": STRIP_COLOURS}  # fmt: skip


def _edge_runs_reference(
    frame: Frame, t: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each block of ``t`` (at least 2 rows) whose second or
    second-to-last row looks like a photo's at ``SAMPLES_X`` samples: the
    photo rows (``_photo_rows_reference`` at 256 samples) at its top before
    its first other row (its height when all are), and those at its bottom
    after its last other row (0 when all are); 0, 0 for the other blocks."""
    lead = np.zeros(len(t), np.int64)
    trail = np.zeros(len(t), np.int64)
    probe = np.stack([t[:, 1] + 1, t[:, 1] + t[:, 3] - 2], axis=1)  # (blocks, 2)
    edge = _photo_rows_reference(frame, np.repeat(t, 2, axis=0), probe.reshape(-1), SAMPLES_X)
    cand = np.flatnonzero(edge.reshape(-1, 2).any(axis=1))
    if not len(cand):
        return lead, trail
    c = t[cand]
    h = c[:, 3]
    local = np.arange(int(h.sum())) - np.repeat(np.cumsum(h) - h, h)
    rows = _photo_rows_reference(frame, np.repeat(c, h, axis=0), np.repeat(c[:, 1], h) + local, 256)
    starts = np.cumsum(h) - h
    hr = np.repeat(h, h)
    lead[cand] = np.minimum.reduceat(np.where(rows, hr, local), starts)
    trail[cand] = np.minimum.reduceat(np.where(rows, hr, hr - 1 - local), starts)
    trail[cand] = np.where(lead[cand] >= h, 0, trail[cand])
    return lead, trail


def _photo_rows_reference(
    frame: Frame, b: npt.NDArray[np.int64], ys: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.bool_]:
    """For each row ``ys`` of its block ``b`` (one block per row), sampled at
    ``n`` columns spread over the block, whether it is a photo's row: its
    most common colour holds under ``STRIP_MODE`` of the samples (a row of
    text on a plain background: 0.3 and more, 0.86 between strokes; a
    photo's row: 0.02-0.11), under ``0.4`` of them equal their left
    neighbour (photo_like's flat share: a smooth picture or a gradient, with
    or without glyphs on it, stays text) and ``STRIP_COLOURS`` distinct."""
    if not len(b):
        return np.zeros(0, np.bool_)
    words = frame.view(np.uint32)[..., 0]
    i = np.arange(n, dtype=np.int64)
    xs = b[:, 0, None] + (b[:, 2, None] * (2 * i + 1)) // (2 * n)
    left = np.maximum(xs - 1, b[:, 0, None])
    s = words[ys[:, None], xs] & _RGB
    n_ = words[ys[:, None], left] & _RGB
    flat = np.count_nonzero(s == n_, axis=1)
    a, c = s.view(np.uint8), n_.view(np.uint8)
    d = np.maximum(a, c)
    d -= np.minimum(a, c)  # the masked-off byte steps by 0
    edges = np.count_nonzero(d.reshape(*s.shape, 4).max(axis=2) >= EDGE, axis=1)
    srt = np.sort(s, axis=1)
    new = np.ones(srt.shape, np.bool_)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    k = np.broadcast_to(i, srt.shape)
    run = k - np.maximum.accumulate(np.where(new, k, 0), axis=1) + 1
    mode = run.max(axis=1)
    distinct = np.count_nonzero(new, axis=1)
    # A block narrower than ``n`` repeats its columns: its shares are of them.
    width = np.minimum(b[:, 2], n)
    out: npt.NDArray[np.bool_] = (
        (mode < STRIP_MODE * n)
        & (flat < _FLAT * n)
        & (distinct >= STRIP_COLOURS * width)
        & (edges <= STRIP_EDGES * n)
    )
    return out


def _clear_cut(frame: Frame, block: npt.NDArray[np.int64], at: int, top: bool) -> int:
    """The cut of ``block`` at row ``at`` moved so that the ``_NEAR_CUT`` rows
    of the picture's part next to it (above it when ``top``) hold no edge in
    any pixel, across or down: glyphs reach that far past a line's sampled
    rows (an i's dot, a descender, an accent), and the samples see one
    column pair in four and one row in four, so such strokes alone on a
    sampled row made it look smooth. Edges farther into the picture are the
    picture's own. -1 when fewer than ``_LEAST_PICTURE`` rows are left."""
    x, y, w, h = (int(v) for v in block)
    y0, y1 = (max(y, at - _NEAR_CUT), at) if top else (at, min(y + h, at + _NEAR_CUT))
    px = frame[y0:y1, x : x + w, :3]
    edge = _steps(px[:, 1:], px[:, :-1])
    # A row stepping to the next is an edge of both (the step across the
    # cut itself is the text's: that side stays exact).
    down = _steps(px[1:], px[:-1])
    edge[:-1] |= down
    edge[1:] |= down
    hit = np.flatnonzero(edge)
    if not len(hit):
        return at
    at = y0 + int(hit[0]) if top else y0 + int(hit[-1]) + 1
    return at if (at - y if top else y + h - at) >= _LEAST_PICTURE else -1


def _steps(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Per row of ``a`` (H, W, 3) and ``b``: whether some pixel steps by
    ``EDGE`` or more in one of B, G, R."""
    d = np.maximum(a, b)
    d -= np.minimum(a, b)
    out: npt.NDArray[np.bool_] = np.asarray((d >= EDGE).any(axis=(1, 2)))
    return out


class _Samples(NamedTuple):
    many: npt.NDArray[np.bool_]  # more colours than ``colours``
    photo: npt.NDArray[np.bool_]  # photo-like by the three tests
    step: npt.NDArray[np.uint8]  # (blocks, rows, columns): the largest step
    ys: npt.NDArray[np.int64]  # (blocks, rows): the sampled rows


def _measure(frame: Frame, b: npt.NDArray[np.int64], colours: int, flat: float) -> _Samples:
    words = frame.view(np.uint32)[..., 0]
    i = np.arange(SAMPLES_X, dtype=np.int64)
    j = np.arange(SAMPLES_Y, dtype=np.int64)
    # Sample positions spread evenly over each block (repeats in small blocks).
    xs = b[:, 0, None] + (b[:, 2, None] * (2 * i + 1)) // (2 * SAMPLES_X)
    ys = b[:, 1, None] + (b[:, 3, None] * (2 * j + 1)) // (2 * SAMPLES_Y)
    left = np.maximum(xs - 1, b[:, 0, None])
    rows = ys[:, :, None]
    s = words[rows, xs[:, None, :]] & _RGB
    n = words[rows, left[:, None, :]] & _RGB
    same = s == n
    flat_share = same.reshape(len(b), -1).mean(axis=1)
    srt = np.sort(s.reshape(len(b), -1), axis=1)
    distinct = 1 + np.count_nonzero(np.diff(srt, axis=1), axis=1)
    # A block with few distinct sample positions cannot show many colours.
    positions = np.minimum(b[:, 2], SAMPLES_X) * np.minimum(b[:, 3], SAMPLES_Y)
    enough = np.minimum(colours, np.maximum(8, positions // 4))
    # Each sample's largest step to its left neighbour over its four bytes
    # (the masked-off one steps by 0, so byte order does not matter).
    a, c = s.view(np.uint8), n.view(np.uint8)
    d = np.maximum(a, c)
    d -= np.minimum(a, c)
    d = d.reshape(*s.shape, 4)
    step = np.maximum(np.maximum(d[..., 0], d[..., 1]), np.maximum(d[..., 2], d[..., 3]))
    many = distinct > enough
    photo = many & (flat_share < flat)
    # The third test, on the blocks the first two call text and with no edge.
    maybe = many & ~photo & ~(step >= EDGE).any(axis=(1, 2))
    if maybe.any():
        photo[maybe] = np.count_nonzero(_smooth_rows(step[maybe]), axis=1) >= SMOOTH_ROWS
    return _Samples(many, photo, step, ys)


def _smooth_rows(step: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Which sampled rows are smooth: no edge, ``GRADED`` graded steps, and
    no run of ``SOLID_RUN`` unchanged samples (a plain area: a window's
    margin, a page beside the picture)."""
    edge = (step >= EDGE).any(axis=2)
    graded = np.count_nonzero(step, axis=2)
    run = np.cumsum(step == 0, axis=2, dtype=np.int32)
    run = np.concatenate([np.zeros((*run.shape[:2], 1), np.int32), run], axis=2)
    solid = ((run[..., SOLID_RUN:] - run[..., :-SOLID_RUN]) == SOLID_RUN).any(axis=2)
    out: npt.NDArray[np.bool_] = ~edge & (graded >= GRADED) & ~solid
    return out
