"""NumPy twins of the damage kernels.

``tile_diff_reference`` and ``merge_rects_reference`` are the test oracles:
written for obviousness, not speed. ``tile_diff_numpy_fast`` is the fastest
NumPy formulation we could write; the benchmarks measure the C kernel against it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

__all__ = ["merge_rects_reference", "tile_diff_numpy_fast", "tile_diff_reference"]

Boxes = npt.NDArray[np.int32]

# B, G and R of a little-endian BGRX pixel read as uint32 / two pixels as uint64.
_BGR32 = np.uint32(0x00FFFFFF)
_BGR64 = np.uint64(0x00FFFFFF00FFFFFF)


def _boxes(rows: list[tuple[int, int, int, int]]) -> Boxes:
    return np.array(rows, dtype=np.int32).reshape(-1, 4)


def changed_pixels(prev: Frame, cur: Frame) -> npt.NDArray[np.bool_]:
    """(H, W) mask of the pixels whose B, G or R differ."""
    # A channel at a time: (prev[..., :3] != cur[..., :3]).any(axis=2) says
    # the same 15 times slower (the tests call this oracle thousands of times).
    changed = prev[..., 0] != cur[..., 0]
    changed |= prev[..., 1] != cur[..., 1]
    changed |= prev[..., 2] != cur[..., 2]
    return np.asarray(changed)


def tile_diff_reference(prev: Frame, cur: Frame, tile: int = 64) -> Boxes:
    """One (x, y, w, h) row per changed tile, raster order, trimmed to its changes."""
    changed = changed_pixels(prev, cur)
    height, width = changed.shape
    rows = []
    for ty in range(0, height, tile):
        for tx in range(0, width, tile):
            block = changed[ty : ty + tile, tx : tx + tile]
            if block.any():
                ys = np.flatnonzero(block.any(axis=1))
                xs = np.flatnonzero(block.any(axis=0))
                w, h = xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1
                rows.append((tx + int(xs[0]), ty + int(ys[0]), int(w), int(h)))
    return _boxes(rows)


def _first_last(flags: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], ...]:
    """Per row of a 2-D mask: index of the first and the last True."""
    first = flags.argmax(axis=1)
    last = flags.shape[1] - 1 - flags[:, ::-1].argmax(axis=1)
    return first, last


def tile_diff_numpy_fast(prev: Frame, cur: Frame, tile: int = 64) -> Boxes:
    """Same result as :func:`tile_diff_reference`, vectorised.

    Rows are compared as raw uint64 words (two pixels each) first: NumPy's
    ``!=`` is SIMD and writes only a small bool array, so equal rows cost
    little. Rows that differ (in any byte, X included) are compared again with
    X masked out; only tile rows that hold a changed row are examined per pixel.
    When the X byte changes everywhere, as on some X servers, the pre-filter
    passes every row and the masked compare covers the whole frame.
    """
    height, width = prev.shape[:2]
    if height == 0 or width == 0:
        return _boxes([])
    # Merging the last two axes never copies: each row is contiguous.
    p_rows, c_rows = prev.reshape(height, width * 4), cur.reshape(height, width * 4)
    if width % 2 == 0:
        p_words, c_words, mask = p_rows.view(np.uint64), c_rows.view(np.uint64), _BGR64
    else:
        p_words, c_words, mask = p_rows.view(np.uint32), c_rows.view(np.uint32), _BGR32
    candidates = np.flatnonzero(np.not_equal(p_words, c_words).any(axis=1))
    if candidates.size == 0:
        return _boxes([])
    x = p_words[candidates] ^ c_words[candidates]
    x &= mask
    row_changed = np.zeros(height, dtype=bool)
    row_changed[candidates] = x.any(axis=1)
    if not row_changed.any():
        return _boxes([])

    tiles_x = -(-width // tile)
    p32, c32 = p_rows.view(np.uint32), c_rows.view(np.uint32)
    out: list[Boxes] = []
    for ty in np.flatnonzero(np.add.reduceat(row_changed, np.arange(0, height, tile))) * tile:
        px = ((p32[ty : ty + tile] ^ c32[ty : ty + tile]) & _BGR32) != 0
        th = px.shape[0]
        padded = np.zeros((th, tiles_x * tile), dtype=bool)
        padded[:, :width] = px
        cells = padded.reshape(th, tiles_x, tile)
        cols = np.any(cells, axis=0)  # (tiles_x, tile): column has a change
        rows = np.any(cells, axis=2).T  # (tiles_x, th): row has a change
        hit = np.flatnonzero(np.any(cols, axis=1))
        x0, x1 = _first_last(cols[hit])
        y0, y1 = _first_last(rows[hit])
        out.append(
            np.stack([hit * tile + x0, ty + y0, x1 - x0 + 1, y1 - y0 + 1], axis=1).astype(np.int32)
        )
    return np.concatenate(out)


def merge_rects_reference(
    boxes: npt.ArrayLike, width: int, height: int, *, rect_cost: int = 1024
) -> Boxes:
    """Pure-Python twin of csrc/damage_merge.c (and the full-frame rule of
    ``merge_rects``): same algorithm, same result. Boxes must be valid."""
    arr = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    if arr.shape[0] == 0:
        return _boxes([])
    arr = arr[np.lexsort((arr[:, 0], arr[:, 1]))]
    rects = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in arr]

    def cost(r: tuple[int, int, int, int]) -> int:
        return rect_cost + (r[2] - r[0]) * (r[3] - r[1])

    def bound(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, int, int, int]:
        return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])

    out: list[tuple[int, int, int, int]] = []
    prev: list[tuple[int, int, int, int]] = []
    used: list[bool] = []
    prev_band_y0 = 0
    i = 0
    while i < len(rects):
        band_y0, band_y1 = rects[i][1], rects[i][3]
        band = []
        while i < len(rects) and rects[i][1] < band_y1:
            band.append(rects[i])
            band_y1 = max(band_y1, rects[i][3])
            i += 1
        band.sort()  # by x0, y0, x1, y1 as in the C comparator
        cur = [band[0]]
        for r in band[1:]:
            u = bound(cur[-1], r)
            if cost(u) <= cost(cur[-1]) + cost(r):
                cur[-1] = u
            else:
                cur.append(r)

        nxt: list[tuple[int, int, int, int]] = []
        p = 0
        for j, c in enumerate(cur):
            while p < len(prev) and prev[p][2] <= c[0]:
                p += 1
            merged = False
            if p < len(prev) and prev[p][0] < c[2] and not used[p]:
                q = prev[p]
                u = bound(q, c)
                if (
                    cost(u) <= cost(q) + cost(c)
                    and ((u[0], u[2]) == (q[0], q[2]) or q[1] >= prev_band_y0)
                    and (not nxt or nxt[-1][2] <= u[0])
                    and (j + 1 >= len(cur) or cur[j + 1][0] >= u[2])
                    and (p == 0 or prev[p - 1][2] <= u[0])
                    and (p + 1 >= len(prev) or prev[p + 1][0] >= u[2])
                ):
                    used[p] = True
                    nxt.append(u)
                    merged = True
            if not merged:
                nxt.append(c)
        out.extend(q for q, done in zip(prev, used, strict=True) if not done)
        prev, used, prev_band_y0 = nxt, [False] * len(nxt), band_y0
    out.extend(prev)

    total = sum(cost(r) for r in out)
    if rect_cost + width * height < total:
        return _boxes([(0, 0, width, height)])
    res = _boxes([(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in out])
    return res[np.lexsort((res[:, 0], res[:, 1]))]
