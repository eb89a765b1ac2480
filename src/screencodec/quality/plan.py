"""Where the lossy stills of an update go: the encoder's blocks of the damage,
one still per damage rect over its photo-like blocks, and the text and UI
inside each still that must be painted over exactly.

All vectorised over blocks and pixels; the Python loops are over the stills
of one update (a handful) and the text blocks inside each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..damage import merge_rects
from ..geometry import Rect
from ..video.codec import VIDEO_SPEC
from .model import LossyOptions

__all__ = ["BLOCK_H", "BLOCK_W", "CELL", "Still", "cut_blocks", "plan_stills", "touching"]

Rects = npt.NDArray[np.int32]

#: The encoder's blocks: rects above two blocks' area are cut into these.
BLOCK_W, BLOCK_H = 256, 64
#: Cells of the text test inside stills, and the share of pixels in runs that
#: makes a cell text or UI (4 of 64; a one-pixel line through it has 6).
CELL = 8
_CELL_RUNS = 0.06
#: Run middles in one row (column) of a cell that make it part of a line.
_LINE_RUNS = 3
#: The least run of a row or column that ``_slivers`` takes (pixels).
_SLIVER_RUN = 8
#: Pixels equal to a neighbour that a cell of grain may have by chance
#: (``_grainless``: a pair of them).
_GRAIN_PAIRS = 2
#: merge_rects' per-rect cost (pixels) for the UI inside stills.
_UI_RECT_COST = 64
#: The least difference (in one of B, G, R) between two neighbouring pixels of
#: a cell that makes its runs an edge of text or UI. A smooth stretch of a
#: photo (sky, water, a blurred background) has runs as well, with neighbours
#: 1-12 apart; text and UI edges are 128 and more. On corpus browser-scroll
#: and window-drag, 95-98 % of the cells the runs alone took (3,738 and 11,133
#: rects, each its own lossless op) were such stretches; between 12 and 24
#: there were 1 and 6. A cell of one solid colour stays UI (a window's
#: background under a still's edge: lossless it costs next to nothing, and
#: a still would smear the photo's colours into it).
_UI_EDGE = 24
#: ``_ui_like`` gathers each cell's pixels while the cells' gathers would
#: hold less than this share of the picture's pixels, else it measures the
#: whole picture once (on a 1080p still over text, 23,480 of 32,400 cells
#: asked: 42 ms gathered; see benchmarks/RESULTS.md).
_GATHER_SHARE = 4


def cut_blocks(rects: Rects, /) -> tuple[Rects, npt.NDArray[np.intp]]:
    """The encoder's blocks of ``rects`` (each rect whole when at most two
    blocks' area, else cut into a grid of BLOCK_W x BLOCK_H from its corner),
    in rect order and raster order within a rect, and each block's rect index."""
    r = rects.astype(np.int64).reshape(-1, 4)
    big = r[:, 2] * r[:, 3] > BLOCK_W * BLOCK_H * 2
    nx = np.where(big, -(-r[:, 2] // BLOCK_W), 1)
    ny = np.where(big, -(-r[:, 3] // BLOCK_H), 1)
    counts = nx * ny
    owner = np.repeat(np.arange(len(r)), counts)
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    cx, cy = k % nx[owner], k // nx[owner]
    bw = np.where(big[owner], BLOCK_W, r[owner, 2])
    bh = np.where(big[owner], BLOCK_H, r[owner, 3])
    x = r[owner, 0] + cx * bw
    y = r[owner, 1] + cy * bh
    w = np.minimum(bw, r[owner, 0] + r[owner, 2] - x)
    h = np.minimum(bh, r[owner, 1] + r[owner, 3] - y)
    return np.stack([x, y, w, h], axis=1).astype(np.int32), owner


@dataclass(slots=True)
class Still:
    """One planned still."""

    rect: Rect
    holes: list[Rect]  # relative to rect, painted over by lossless ops
    photo: int  # photo-like pixels
    owner: int  # the damage rect it lies in


def touching(a: npt.NDArray[np.integer], stills: list[Still]) -> Rects:
    """The rects of ``a`` that overlap any still."""
    r = a.astype(np.int64).reshape(-1, 4)
    hit = np.zeros(len(r), np.bool_)
    for s in stills:
        t = s.rect
        hit |= (
            (r[:, 0] < t.right) & (t.x < r[:, 0] + r[:, 2])
            & (r[:, 1] < t.bottom) & (t.y < r[:, 1] + r[:, 3])
        )  # fmt: skip
    out: Rects = r[hit].astype(np.int32)
    return out


def plan_stills(
    frame: Frame,
    blocks: Rects,
    owner: npt.NDArray[np.intp],
    photo: npt.NDArray[np.bool_],
    rects: Rects,
    *,
    limits: tuple[int, int],
    options: LossyOptions,
    keep_ui: bool = True,
    whole_cells: bool = False,
    slivers: bool = False,
) -> tuple[list[Still], npt.NDArray[np.bool_], Rects]:
    """Stills for the photo-like blocks: per damage rect, the bounding box of
    its photo-like blocks, made even (``_even``); the biggest ``limits[0]`` of
    those large enough, within ``limits[1]`` pixels in all. Returns them,
    which blocks they hold, and the extra rects to send exactly after them
    (text and UI cells inside them unless ``keep_ui=False``, a column or
    row shaved off). ``whole_cells``: those cells are taken whole, not
    trimmed to their lines (see ``_text_cells``), and then cut down with the
    text blocks inside the still to the text's own pixels (``_grainless``):
    those blocks are among the ones returned as held (their exact part is in
    the extra rects). ``slivers`` (a keyframe's plan; whole-cells plans
    always): the rows and columns that go on the text past its cells are
    taken too (``_slivers``)."""
    room, area = limits
    o = options
    height, width = frame.shape[:2]
    b = blocks.astype(np.int64)
    pb, po = b[photo], owner[photo]
    uniq, start = np.unique(po, return_index=True)
    x0 = np.minimum.reduceat(pb[:, 0], start)
    y0 = np.minimum.reduceat(pb[:, 1], start)
    x1 = np.maximum.reduceat(pb[:, 0] + pb[:, 2], start)
    y1 = np.maximum.reduceat(pb[:, 1] + pb[:, 3], start)
    npx = np.add.reduceat(pb[:, 2] * pb[:, 3], start)
    r = rects[uniq].astype(np.int64)
    x0, x1, xs = _even(x0, x1, r[:, 0], r[:, 0] + r[:, 2], width)
    y0, y1, ys = _even(y0, y1, r[:, 1], r[:, 1] + r[:, 3], height)
    w, h = x1 - x0, y1 - y0
    (mw, mh), (xw, xh) = o.min_still, VIDEO_SPEC.max_size
    ok = (w >= mw) & (h >= mh) & (w <= xw) & (h <= xh) & (npx >= o.min_still_area)
    chosen: list[int] = []
    total = 0
    for i in np.flatnonzero(ok)[np.argsort(-npx[ok], kind="stable")].tolist():
        if len(chosen) == room:
            break
        if total + w[i] * h[i] <= area:
            chosen.append(i)
            total += int(w[i] * h[i])
    in_still = np.zeros(len(blocks), np.bool_)
    stills: list[Still] = []
    extra: list[Rect] = []
    text = ~photo
    for i in chosen:
        rect = Rect(int(x0[i]), int(y0[i]), int(w[i]), int(h[i]))
        mine = owner == uniq[i]
        in_still |= mine & photo
        exact = b[mine & text]
        # UI inside photo-like blocks (a window's edge, a label): sent exactly.
        ui = (
            _text_cells(frame, rect, exact, trim=not whole_cells)
            if keep_ui else np.zeros((0, 4), np.int32)
        )  # fmt: skip
        if whole_cells:
            # The text blocks inside the still and its text cells, cut down
            # to the text's own pixels: the rest of them (a terminal's edge
            # cells and blocks over grain) goes in the still.
            within = mine & text & _inside(b, rect)
            in_still |= within
            exact = b[mine & text & ~within]
            ui = _grainless(frame, rect, np.concatenate([b[within], ui]))
            ui = np.concatenate([ui, _slivers(frame, rect, np.concatenate([exact, ui]))])
        elif slivers and keep_ui:
            ui = np.concatenate([ui, _slivers(frame, rect, np.concatenate([exact, ui]))])
        holes = [Rect(*v) for v in _holes(rect, np.concatenate([exact, ui])).tolist()]
        ui_area = int((ui[:, 2].astype(np.int64) * ui[:, 3]).sum())
        if whole_cells:
            ui_area -= int((b[within, 2] * b[within, 3]).sum())
        stills.append(Still(rect, holes, max(0, int(npx[i]) - ui_area), int(uniq[i])))
        extra += [Rect(*v) for v in ui.tolist()]
        # A column / row shaved off to make the size even: sent exactly (one
        # grown outside the damage is lossy, or UI in the cells above).
        if xs[i] < 0:
            extra.append(Rect(rect.right, rect.y, 1, rect.h + int(ys[i] < 0)))
        if ys[i] < 0:
            extra.append(Rect(rect.x, rect.bottom, rect.w, 1))
    arr = np.array([[e.x, e.y, e.w, e.h] for e in extra], np.int32).reshape(-1, 4)
    return stills, in_still, arr


def _inside(b: npt.NDArray[np.int64], rect: Rect) -> npt.NDArray[np.bool_]:
    """Which rects of ``b`` lie wholly inside ``rect``."""
    inside: npt.NDArray[np.bool_] = (
        (b[:, 0] >= rect.x) & (b[:, 0] + b[:, 2] <= rect.right)
        & (b[:, 1] >= rect.y) & (b[:, 1] + b[:, 3] <= rect.bottom)
    )  # fmt: skip
    return inside


def _grainless(frame: Frame, still: Rect, rects: npt.NDArray[np.integer]) -> Rects:
    """``rects`` (inside ``still``) cut down to their text: each ``CELL`` x
    ``CELL`` cell of the still's grid to the bounding box of its covered
    pixels that equal one of their eight neighbours (a terminal's background
    and ink, a window's flat colours; a grain's 24-bit colours almost never
    come again); a cell with none is left out. Text ends where it ends, the
    blocks and cells on an 8-pixel grid: a terminal off it had its edge
    cells and the blocks across its edge sent whole over the grain beside
    it (review42: a remade keyframe of 164-180 kB at 1 Mbit/s, 98 kB on the
    grid). Vectorised over the rects' bounding box."""
    r = np.asarray(rects, np.int64).reshape(-1, 4)
    if not len(r):
        return np.zeros((0, 4), np.int32)
    # The rects' bounding box on the still's grid of cells.
    gx0 = still.x + (int(r[:, 0].min()) - still.x) // CELL * CELL
    gy0 = still.y + (int(r[:, 1].min()) - still.y) // CELL * CELL
    x1, y1 = int((r[:, 0] + r[:, 2]).max()), int((r[:, 1] + r[:, 3]).max())
    nx, ny = -(-(x1 - gx0) // CELL), -(-(y1 - gy0) // CELL)
    gw, gh = nx * CELL, ny * CELL
    cov = np.zeros((gh, gw), np.bool_)
    for bx, by, bw, bh in r.tolist():
        cov[by - gy0 : by + bh - gy0, bx - gx0 : bx + bw - gx0] = True
    # Its pixels with one more all round; past the frame a value no pixel has.
    height, width = frame.shape[:2]
    pad = np.full((gh + 2, gw + 2), 0xFFFFFFFF, np.uint32)
    fx0, fy0 = max(0, gx0 - 1), max(0, gy0 - 1)
    fx1, fy1 = min(width, gx0 + gw + 1), min(height, gy0 + gh + 1)
    pad[fy0 - gy0 + 1 : fy1 - gy0 + 1, fx0 - gx0 + 1 : fx1 - gx0 + 1] = frame[
        fy0:fy1, fx0:fx1
    ].view(np.uint32)[..., 0] & np.uint32(0x00FFFFFF)
    mid = pad[1:-1, 1:-1]
    same = np.zeros((gh, gw), np.bool_)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1), (0, -1), (-1, 0), (-1, -1), (-1, 1)):
        same |= mid == pad[1 + dy : gh + 1 + dy, 1 + dx : gw + 1 + dx]
    m = (cov & same).reshape(ny, CELL, nx, CELL)
    rows: npt.NDArray[np.bool_] = np.any(m, axis=3).transpose(0, 2, 1)  # (ny, nx, CELL)
    cols: npt.NDArray[np.bool_] = np.any(m, axis=1)  # (ny, nx, CELL)
    cy, cx = np.nonzero(rows.any(axis=2))
    if not len(cy):
        return np.zeros((0, 4), np.int32)
    ylo, yhi = _span(rows[cy, cx])
    xlo, xhi = _span(cols[cy, cx])
    # A cell is cut only on its sides towards cells of no text (fewer than
    # ``_GRAIN_PAIRS`` such pixels: a chance pair in grain), not between two
    # of text: there a glyph's lone pixel on a cell's edge would be left out.
    text = np.pad(m.sum(axis=(1, 3)) > _GRAIN_PAIRS, 1)
    ylo = np.where(text[cy, cx + 1], 0, ylo)
    yhi = np.where(text[cy + 2, cx + 1], CELL, yhi)
    xlo = np.where(text[cy + 1, cx], 0, xlo)
    xhi = np.where(text[cy + 1, cx + 2], CELL, xhi)
    boxes = np.stack([gx0 + cx * CELL + xlo, gy0 + cy * CELL + ylo, xhi - xlo, yhi - ylo], 1)
    return merge_rects(boxes.astype(np.int32), width, height, rect_cost=_UI_RECT_COST)


def _slivers(frame: Frame, still: Rect, exact: npt.NDArray[np.integer]) -> Rects:
    """Rows and columns inside ``still`` that go on the ``exact`` rects' text:
    a line of pixels just outside their union, ``_SLIVER_RUN`` long or more
    (or going on one taken), one in ``_SLIVER_RUN`` of whose pixels or more
    has a colour of the line next to it inside (a terminal's background or
    ink; a grain's 24-bit colours almost never come again), taken exactly,
    up to ``CELL - 1`` lines out. Text ends where it ends, the blocks and
    cells on an 8-pixel grid: a terminal a pixel off it left its last column
    or rows in the still, too few runs for a cell (review42: 64-432 glyph
    pixels lossy; of 28 places 0-7 pixels off the grid, 2 exact)."""
    h, w = still.h, still.w
    cov = np.zeros((h, w), np.bool_)
    for bx, by, bw, bh in np.asarray(exact, np.int64).reshape(-1, 4).tolist():
        y0, x0 = max(0, by - still.y), max(0, bx - still.x)
        cov[y0 : by + bh - still.y, x0 : bx + bw - still.x] = True
    if not cov.any():
        return np.zeros((0, 4), np.int32)
    words = frame[still.slices()].view(np.uint32)[..., 0] & np.uint32(0x00FFFFFF)
    out: list[npt.NDArray[np.int64]] = []
    # The four sides as one: a view of the mask and the pixels flipped or
    # transposed so that "out" is always down (a write to it is to ``cov``).
    # Twice round: a corner between a grown row and a grown column.
    for flip, turn in ((False, False), (True, False), (False, True), (True, True)) * 2:
        c, px = (cov.T, words.T) if turn else (cov, words)
        if flip:
            c, px = c[::-1], px[::-1]
        rows = np.flatnonzero((c[:-1] & ~c[1:]).any(axis=1))
        for _ in range(CELL - 1):
            runs = _grow(c, px, rows)
            if not len(runs):
                break
            taken, a, n = runs.T
            rows = np.unique(taken)  # the next line's edges are under these
            rows = rows[rows < c.shape[0] - 1]
            y = (c.shape[0] - 1 - taken) if flip else taken
            one = np.ones_like(n)
            out.append(np.stack([y, a, one, n] if turn else [a, y, n, one], 1))
    if not out:
        return np.zeros((0, 4), np.int32)
    boxes = np.concatenate(out) + np.array([still.x, still.y, 0, 0])
    height, width = frame.shape[:2]
    return merge_rects(boxes.astype(np.int32), width, height, rect_cost=_UI_RECT_COST)


def _grow(
    c: npt.NDArray[np.bool_], px: npt.NDArray[np.uint32], rows: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """One line of ``_slivers`` downwards, from ``rows`` (those with covered
    pixels over uncovered ones): the runs of the row under each that it
    takes, as (row, first, length), set in ``c``. A pixel "has a colour of
    the line inside" when it equals the one above or either of that one's
    neighbours (vectorised: all rows at once)."""
    if not len(rows):
        return np.zeros((0, 3), np.int64)
    e = c[rows] & ~c[rows + 1]
    inside, below = px[rows], px[rows + 1]
    near = (below == inside) | (below == np.roll(inside, 1, 1)) | (below == np.roll(inside, -1, 1))
    w = e.shape[1]
    flat = np.pad(e, ((0, 0), (0, 1))).ravel()  # a False between rows
    starts = np.flatnonzero(flat & ~np.r_[False, flat[:-1]])
    ends = np.flatnonzero(flat & ~np.r_[flat[1:], False]) + 1
    hits = np.r_[0, np.cumsum(np.pad(near & e, ((0, 0), (0, 1))).ravel())]
    matched = hits[ends] - hits[starts]
    r, a = np.divmod(starts, w + 1)
    n = ends - starts
    line = c[rows + 1]
    before = (a > 0) & line[r, np.maximum(a - 1, 0)]
    after = (a + n < w) & line[r, np.minimum(a + n, w - 1)]
    take = ((n >= _SLIVER_RUN) | before | after) & (_SLIVER_RUN * matched >= n)
    r, a, n = r[take], a[take], n[take]
    if not len(r):
        return np.zeros((0, 3), np.int64)
    # Set the runs taken: +1 at each start, -1 past each end, summed along.
    mark = np.zeros((len(rows), w + 1), np.int32)
    np.add.at(mark, (r, a), 1)
    np.add.at(mark, (r, a + n), -1)
    sub = c[rows + 1]
    sub |= np.cumsum(mark, axis=1)[:, :w] > 0
    c[rows + 1] = sub
    return np.stack([rows[r] + 1, a, n], 1).astype(np.int64)


def _text_cells(
    frame: Frame, still: Rect, exact: npt.NDArray[np.int64], *, trim: bool = True
) -> Rects:
    """Text and UI inside a still, outside the ``exact`` blocks (sent
    losslessly anyway): the ``CELL`` x ``CELL`` cells where at least
    ``_CELL_RUNS`` of the pixels equal both neighbours along a row or along a
    column (the middle of a run of three: a one-pixel line through the cell is
    enough, while grainy photos, whose neighbours are equal now and then,
    almost never have runs), merged into few rects (absolute). Each cell is
    trimmed to its lines unless not ``trim``: then a cell with a line is
    sent whole (a line's trim leaves out a glyph's pixels next to it that
    take no part in a run: on a terminal's edge rows under a keyframe's
    still, 42-127 pixels of glyphs stayed lossy)."""
    words = frame[still.slices()].view(np.uint32)[..., 0] & np.uint32(0x00FFFFFF)
    h, w = words.shape
    ys, xs = np.arange(0, h, CELL), np.arange(0, w, CELL)
    gh, gw = len(ys) * CELL, len(xs) * CELL
    # Middles of horizontal and of vertical runs, on a grid of whole cells.
    hrun = np.zeros((gh, gw), np.bool_)
    vrun = np.zeros((gh, gw), np.bool_)
    if w >= 3:
        mid = words[:, 1:-1]
        hrun[:h, 1 : w - 1] = (mid == words[:, :-2]) & (mid == words[:, 2:])
    if h >= 3:
        mid = words[1:-1]
        vrun[1 : h - 1, :w] = (mid == words[:-2]) & (mid == words[2:])
    for bx, by, bw, bh in exact.tolist():
        y0, x0 = max(0, by - still.y), max(0, bx - still.x)
        hrun[y0 : by + bh - still.y, x0 : bx + bw - still.x] = False
        vrun[y0 : by + bh - still.y, x0 : bx + bw - still.x] = False
    cells_h = hrun.reshape(len(ys), CELL, len(xs), CELL)
    cells_v = vrun.reshape(len(ys), CELL, len(xs), CELL)
    counts = cells_h.sum(axis=(1, 3), dtype=np.int32) + cells_v.sum(axis=(1, 3), dtype=np.int32)
    ch, cw = np.minimum(CELL, h - ys), np.minimum(CELL, w - xs)
    cy, cx = np.nonzero(counts >= np.maximum(1, _CELL_RUNS * np.outer(ch, cw)))
    keep = _ui_like(frame[still.slices()], ys[cy], xs[cx])
    cy, cx = cy[keep], cx[keep]
    if not len(cy):
        return np.zeros((0, 4), np.int32)
    # Each cell trimmed to its lines: rows with ``_LINE_RUNS`` or more
    # horizontal run middles, columns with as many vertical ones (a photo's
    # chance runs are scattered), with the runs' ends: one more pixel along a
    # line. Cells with no line at all were chance runs: left lossy.
    hc, vc = cells_h[cy, :, cx, :], cells_v[cy, :, cx, :]
    hrow = hc.sum(axis=2) >= _LINE_RUNS
    vcol = vc.sum(axis=1) >= _LINE_RUNS
    hy0, hy1 = _span(hrow)
    hx0, hx1 = _span((hc & hrow[:, :, None]).any(axis=1))
    vx0, vx1 = _span(vcol)
    vy0, vy1 = _span((vc & vcol[:, None, :]).any(axis=2))
    y0 = np.minimum(hy0, vy0 - 1)
    y1 = np.maximum(hy1, vy1 + 1)
    x0 = np.minimum(hx0 - 1, vx0)
    x1 = np.maximum(hx1 + 1, vx1)
    line = y0 < y1
    cy, cx, y0, y1, x0, x1 = cy[line], cx[line], y0[line], y1[line], x0[line], x1[line]
    if not len(cy):
        return np.zeros((0, 4), np.int32)
    if not trim:
        y0, x0 = np.zeros_like(y0), np.zeros_like(x0)
        y1, x1 = np.full_like(y1, CELL), np.full_like(x1, CELL)
    y0 = np.clip(ys[cy] + y0, 0, h)
    y1 = np.clip(ys[cy] + y1, 0, h)
    x0 = np.clip(xs[cx] + x0, 0, w)
    x1 = np.clip(xs[cx] + x1, 0, w)
    boxes = np.stack([still.x + x0, still.y + y0, x1 - x0, y1 - y0], axis=1)
    height, width = frame.shape[:2]
    # Merging pays less than usual here: these rects are photo-like around
    # their lines, and every pixel a merge adds costs a byte or so.
    return merge_rects(boxes.astype(np.int32), width, height, rect_cost=_UI_RECT_COST)


def _ui_like(
    pixels: Frame, y0: npt.NDArray[np.intp], x0: npt.NDArray[np.intp]
) -> npt.NDArray[np.bool_]:
    """For each cell at (y0, x0) of ``pixels``, over it and the pixels just
    right of and below it: whether two neighbours differ by at least
    ``_UI_EDGE`` in one of B, G, R (an edge), or none differ at all (a solid
    colour). A few cells: one gather of each one's (CELL + 1)^2 pixels; many
    (a still over a page of text: most of its cells): the neighbours'
    differences over the whole picture once, then each cell's greatest."""
    h, w = pixels.shape[:2]
    if len(y0) * (CELL + 1) ** 2 * _GATHER_SHARE < h * w:
        k = np.arange(CELL + 1)
        rows = np.minimum(y0[:, None] + k, h - 1)
        cols = np.minimum(x0[:, None] + k, w - 1)
        patch = pixels[rows[:, :, None], cols[:, None, :], :3].astype(np.int16)
        across = np.abs(np.diff(patch, axis=2)).max(axis=(1, 2, 3))
        down = np.abs(np.diff(patch, axis=1)).max(axis=(1, 2, 3))
        step = np.maximum(across, down)
    else:
        step = _cell_steps(pixels)[y0 // CELL, x0 // CELL]
    ui: npt.NDArray[np.bool_] = (step >= _UI_EDGE) | (step == 0)
    return ui


def _cell_steps(pixels: Frame) -> npt.NDArray[np.uint8]:
    """Per cell of ``pixels`` (a grid of ``CELL`` from its corner): the
    greatest difference in one of B, G, R between two neighbours, across
    (a pixel and the one right of it) within the cell's rows and the row
    below it, and down (a pixel and the one below) within its columns and the
    column right of it: what ``_ui_like``'s gather takes. Past the picture's
    last row (column) the gather repeats it, a difference of 0: the zeros
    padded here."""
    h, w = pixels.shape[:2]
    ny, nx = -(-h // CELL), -(-w // CELL)
    gh, gw = ny * CELL, nx * CELL
    # One cell more each way: the row below (column right of) the last cells.
    across = np.zeros((gh + CELL, gw + CELL), np.uint8)
    down = np.zeros_like(across)
    hi = np.empty((h, w), np.uint8)
    for c in range(3):
        p = np.ascontiguousarray(pixels[..., c])
        for into, a, b in ((across[:h, : w - 1], p[:, 1:], p[:, :-1]),
                           (down[: h - 1, :w], p[1:], p[:-1])):  # fmt: skip
            top = np.maximum(a, b, out=hi[: a.shape[0], : a.shape[1]])
            diff = np.minimum(a, b)
            np.subtract(top, diff, out=diff)  # |a - b| in uint8
            np.maximum(into, diff, out=into)

    def cells(m: npt.NDArray[np.uint8], rows: slice) -> npt.NDArray[np.uint8]:
        """The greatest of each cell's CELL columns, per row of ``rows``:
        CELL strided maxima (a reduction over an axis of 8 is far slower)."""
        r: npt.NDArray[np.uint8] = m[rows, 0:gw:CELL].copy()
        for k in range(1, CELL):
            np.maximum(r, m[rows, k:gw:CELL], out=r)
        return r

    own = cells(across, slice(0, gh)).reshape(ny, CELL, nx).max(axis=1)
    below = cells(across, slice(CELL, gh + CELL, CELL))
    inner = cells(down, slice(0, gh)).reshape(ny, CELL, nx).max(axis=1)
    right = down[:gh, CELL : gw + CELL : CELL].reshape(ny, CELL, nx).max(axis=1)
    steps: npt.NDArray[np.uint8] = np.maximum(np.maximum(own, below), np.maximum(inner, right))
    return steps


def _span(sel: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """First and one-past-last set index of each row of ``sel`` (n, CELL); an
    empty row gets (CELL + 1, -1), which a min / max with another leaves alone."""
    empty = ~sel.any(axis=1)
    lo = np.where(empty, CELL + 1, sel.argmax(axis=1))
    hi = np.where(empty, -1, CELL - sel[:, ::-1].argmax(axis=1))
    return lo, hi


def _even(
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
    rlo: npt.NDArray[np.int64],
    rhi: npt.NDArray[np.int64],
    size: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Make ``hi - lo`` even: grow by one inside [rlo, rhi) (the damage rect,
    all of which is sent anyway: 1), else outside it within [0, size) (past
    ``hi``: 2, before ``lo``: 3), else shrink (-1). Returns lo, hi, how."""
    odd = (hi - lo) % 2 == 1
    grow_hi = odd & (hi < rhi)
    grow_lo = odd & ~grow_hi & (lo > rlo)
    out_hi = odd & ~grow_hi & ~grow_lo & (hi < size)
    out_lo = odd & ~grow_hi & ~grow_lo & ~out_hi & (lo > 0)
    shrink = odd & ~grow_hi & ~grow_lo & ~out_hi & ~out_lo
    how = np.select([grow_hi | grow_lo, out_hi, out_lo, shrink], [1, 2, 3, -1], 0)
    return lo - grow_lo - out_lo, hi + grow_hi + out_hi - shrink, how.astype(np.int64)


def _holes(still: Rect, blocks: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The text blocks' parts of ``still``, relative to it, shrunk to even
    edges (so that no 4:2:0 chroma sample of a photo pixel is flattened), as
    (x, y, w, h) rows; those that vanish are left out."""
    b = blocks.astype(np.int64).reshape(-1, 4)
    x0 = np.maximum(b[:, 0], still.x) - still.x
    y0 = np.maximum(b[:, 1], still.y) - still.y
    x1 = np.minimum(b[:, 0] + b[:, 2], still.right) - still.x
    y1 = np.minimum(b[:, 1] + b[:, 3], still.bottom) - still.y
    x0, y0 = x0 + (x0 & 1), y0 + (y0 & 1)
    x1, y1 = x1 & ~1, y1 & ~1
    keep = (x1 > x0) & (y1 > y0)
    out: npt.NDArray[np.int64] = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)[keep]
    return out
