"""NumPy twins of the motion kernels (csrc/motion.c): the test oracles.

Written for obviousness, not speed. ``row_hashes_reference`` also *defines*
the row hash: the C kernel must produce exactly these values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..damage.reference import tile_diff_reference

__all__ = [
    "apply_copies_reference",
    "copy_runs_reference",
    "match_runs_reference",
    "move_rect_reference",
    "rect_tile_diff_reference",
    "row_hashes_reference",
    "row_votes_reference",
    "screen_shifts_reference",
    "scroll_diff_reference",
    "segment_shifts_reference",
]

RectT = tuple[int, int, int, int]
U64 = npt.NDArray[np.uint64]

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P5 = np.uint64(0x27D4EB2F165667C5)
_BGR64 = np.uint64(0x00FFFFFF00FFFFFF)


def _rotl(v: U64, r: int) -> U64:
    out: U64 = (v << np.uint64(r)) | (v >> np.uint64(64 - r))
    return out


def _mix(acc: U64, word: U64) -> U64:
    # Array (not scalar) arithmetic: uint64 wraps silently, as in C.
    out: U64 = _rotl(acc ^ word, 29) * _P1
    return out


def _pixels_bgr(frame: Frame, rect: RectT) -> npt.NDArray[np.uint32]:
    """(h, w) uint32 pixels of the rect, X masked out, as little-endian integers."""
    x, y, w, h = rect
    block = np.ascontiguousarray(frame[y : y + h, x : x + w])
    out: npt.NDArray[np.uint32] = block.view("<u4")[..., 0] & np.uint32(0x00FFFFFF)
    return out


def row_hashes_reference(frame: Frame, rect: RectT) -> U64:
    """The row hash (see motion.h): pixel pairs as 64-bit words, word i into
    lane i % 8 (a xor, a rotate and one multiply), lanes merged with the width,
    avalanched."""
    _, _, w, h = rect
    px = _pixels_bgr(frame, rect).astype(np.uint64)
    if w % 2:
        px = np.concatenate([px, np.zeros((h, 1), np.uint64)], axis=1)
    words = px[:, 0::2] | (px[:, 1::2] << np.uint64(32))
    m = 2**64
    seeds = [
        (int(_P1) + int(_P2)) % m, int(_P2), 0, m - int(_P1),
        int(_P3), int(_P5), int(_P1) ^ int(_P5), int(_P2) ^ int(_P3),
    ]  # fmt: skip
    lanes = [np.full(h, seed, np.uint64) for seed in seeds]
    for i in range(words.shape[1]):
        lanes[i % 8] = _mix(lanes[i % 8], words[:, i] & _BGR64)
    v = np.zeros(h, np.uint64)
    for i, lane in enumerate(lanes):
        v += _rotl(lane, 1 + 7 * i)
    v ^= np.full(h, w, np.uint64) * _P5
    v ^= v >> np.uint64(33)
    v *= _P2
    v ^= v >> np.uint64(29)
    v *= _P3
    v ^= v >> np.uint64(32)
    return v


def row_votes_reference(hp: U64, hc: U64, changed: npt.NDArray[np.bool_]) -> npt.NDArray[np.int32]:
    """votes[s, dy + h]: changed frame rows y of strip s whose hash occurs exactly
    once among the strip's reference rows, at row r = y - dy != y."""
    n, h = hp.shape
    votes = np.zeros((n, 2 * h), np.int32)
    for s in range(n):
        where: dict[int, int] = {}
        for r, key in enumerate(hp[s].tolist()):
            where[key] = -1 if key in where else r
        for y, key in enumerate(hc[s].tolist()):
            r = where.get(key, -1)
            if changed[s, y] and r >= 0 and r != y:
                votes[s, y - r + h] += 1
    return votes


def _row_runs(eq: npt.NDArray[np.bool_], min_run: int, most: int) -> list[tuple[int, int]]:
    """Maximal runs of True in ``eq`` at least ``min_run`` long: the ``most``
    longest (of equals, the leftmost), as (start, end), left to right."""
    runs, j, n = [], 0, len(eq)
    while j < n:
        if not eq[j]:
            j += 1
            continue
        k = j
        while k < n and eq[k]:
            k += 1
        if k - j >= min_run:
            runs.append((j, k))
        j = k
    kept = sorted(runs, key=lambda r: (r[0] - r[1], r[0]))[:most]
    return sorted(kept)


def match_runs_reference(
    prev: Frame,
    cur: Frame,
    rect: RectT,
    dx: int,
    dy: int,
    *,
    min_run: int = 1,
    row_mask: npt.NDArray[np.bool_] | None = None,
    most: int = 1,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Per row of ``rect`` in ``cur``: the ``most`` longest runs of columns
    equal to ``prev`` shifted by (dx, dy), of at least ``min_run`` (of equally
    long ones the leftmost), left to right; unused slots start == end == x.
    1-D arrays for ``most`` 1, else (h, most)."""
    height, width = prev.shape[:2]
    x, y, w, h = rect
    starts = np.full((h, most), x, np.int32)
    ends = np.full((h, most), x, np.int32)
    lo, hi = max(x, dx), min(x + w, width + dx)
    for i in range(h):
        sy = y + i - dy
        if hi <= lo or not 0 <= sy < height or (row_mask is not None and not row_mask[i]):
            continue
        a = prev[sy, lo - dx : hi - dx, :3]
        b = cur[y + i, lo:hi, :3]
        for k, (s, e) in enumerate(_row_runs((a == b).all(axis=1), min_run, most)):
            starts[i, k], ends[i, k] = lo + s, lo + e
    if most == 1:
        return starts[:, 0].copy(), ends[:, 0].copy()
    return starts, ends


def screen_shifts_reference(
    prev: Frame, cur: Frame, rect: RectT, shifts: list[tuple[int, int]], *, row_step: int,
    min_run: int = 1,
) -> npt.NDArray[np.int64]:  # fmt: skip
    """Per shift, the total length of the runs (at least ``min_run``, the 16
    longest a row) equal to ``prev`` shifted by it, over rows
    ``rect.y + row_step // 2``, ``+ row_step``, ... of ``rect``."""
    h = rect[3]
    mask = np.zeros(h, np.bool_)
    mask[row_step // 2 :: row_step] = True
    out = np.zeros(len(shifts), np.int64)
    for g, (dx, dy) in enumerate(shifts):
        s, e = match_runs_reference(
            prev, cur, rect, dx, dy, min_run=min_run, row_mask=mask, most=16
        )
        out[g] = int((e - s).sum())
    return out


def move_rect_reference(buf: Frame, rect: RectT, dx: int, dy: int) -> None:
    """Move the rect's pixels (all 4 bytes) by (dx, dy) inside ``buf``."""
    x, y, w, h = rect
    buf[y + dy : y + dy + h, x + dx : x + dx + w] = buf[y : y + h, x : x + w].copy()


def apply_copies_reference(buf: Frame, ops: npt.ArrayLike) -> None:
    """COPY ops (src_x, src_y, x, y, w, h) as the decoder applies them: every
    source read first, then the destinations written in order."""
    rows = np.asarray(ops, dtype=np.int64).reshape(-1, 6).tolist()
    saved = [buf[sy : sy + h, sx : sx + w].copy() for sx, sy, _, _, w, h in rows]
    for (_, _, x, y, w, h), pixels in zip(rows, saved, strict=True):
        buf[y : y + h, x : x + w] = pixels


def rect_tile_diff_reference(
    prev: Frame, cur: Frame, rect: RectT, tile: int = 16
) -> npt.NDArray[np.int32]:
    """tile_diff of the rect alone (tile grid from its corner), in frame coordinates."""
    x, y, w, h = rect
    boxes = tile_diff_reference(prev[y : y + h, x : x + w], cur[y : y + h, x : x + w], tile)
    boxes[:, 0] += x
    boxes[:, 1] += y
    return boxes


I32 = npt.NDArray[np.int32]


def scroll_diff_reference(
    prev: Frame, cur: Frame, rows: tuple[int, int], cols: tuple[int, int], dy: int,
    *, min_run: int = 1, tile: int = 64,
) -> tuple[npt.NDArray[np.uint8], I32, I32, I32]:
    """What ``scroll_diff`` returns: per row the columns of ``cols`` equal to
    ``prev`` dy rows up (all, or the longest run of at least ``min_run``),
    whether they moved (2 if they equal ``prev`` in place too), and tile_diff
    of the rows against ``prev`` with the moved runs applied."""  # fmt: skip
    height = prev.shape[0]
    (y0, y1), (x0, x1) = rows, cols
    moved = np.zeros(y1 - y0, np.uint8)
    starts = np.full(y1 - y0, x0, np.int32)
    ends = np.full(y1 - y0, x0, np.int32)
    seen = prev[y0:y1].copy()
    for i in range(y1 - y0):
        y, sy = y0 + i, y0 + i - dy
        if not 0 <= sy < height:
            continue
        eq = (prev[sy, x0:x1, :3] == cur[y, x0:x1, :3]).all(axis=1)
        best_s = best_len = run = 0
        for j, e in enumerate(eq):
            run = run + 1 if e else 0
            if run > best_len:
                best_s, best_len = j - run + 1, run
        if best_len < min_run and not eq.all():  # a whole span of any width moved
            continue
        s, e = x0 + best_s, x0 + best_s + best_len
        starts[i], ends[i] = s, e
        moved[i] = 1 + bool((prev[y, s:e, :3] == cur[y, s:e, :3]).all())
        seen[i, s:e] = cur[y, s:e]
    boxes = tile_diff_reference(seen, cur[y0:y1], tile)
    boxes[:, 1] += y0
    return moved, starts, ends, boxes


def segment_shifts_reference(
    prev: Frame,
    cur: Frame,
    rect: RectT,
    rows: list[int],
    *,
    scan: RectT | None = None,
    k: int = 32,
    min_detail: int = 3,
    row_step: int = 1,
    run: int | None = None,
    max_runs: int | None = None,
    min_anchors: int = 1,
    max_out: int = 8,
) -> npt.NDArray[np.int32]:
    """The shifts and votes of ``_rowhash.segment_shifts``, from the pixels
    themselves (segments compared by value, not by hash)."""
    x, y, w, h = rect
    sx0, sy0, sw, sh = rect if scan is None else scan
    run = row_step if run is None else run
    runs = len(rows) if max_runs is None else max_runs

    def seg(f: Frame, sx: int, sy: int) -> bytes:
        return f[sy, sx : sx + k, :3].tobytes()

    anchors: dict[bytes, tuple[int, int] | None] = {}
    productive = 0
    for start in rows:
        if productive >= runs:
            break
        inserted = 0
        for ay in range(start, min(start + run, y + h)):
            for ax in range(x, x + w - k + 1):
                s = seg(cur, ax, ay)
                px = cur[ay, ax : ax + k, :3].astype(np.int32)
                detail = int(np.any(px[1:] != px[:-1], axis=1).sum())
                if detail < min_detail or s == seg(prev, ax, ay):
                    continue
                if s in anchors:
                    anchors[s] = None  # the same content twice: ambiguous
                else:
                    anchors[s] = (ax, ay)
                    inserted += 1
        productive += inserted >= min_anchors
    found: dict[bytes, list[tuple[int, int]]] = {}
    for sy in range(sy0, sy0 + sh, row_step):
        for sx in range(sx0, sx0 + sw - k + 1, k):
            s = seg(prev, sx, sy)
            if anchors.get(s) is not None:
                found.setdefault(s, []).append((sx, sy))
    votes: dict[tuple[int, int], int] = {}
    for s, places in found.items():
        a = anchors[s]
        assert a is not None
        if len(places) > 3:
            continue
        for sx, sy in places:
            d = (a[0] - sx, a[1] - sy)
            if d != (0, 0):
                votes[d] = votes.get(d, 0) + 6 // len(places)

    def key(d: tuple[int, int]) -> int:
        # Ties go to the smaller (dx, dy) packed as the kernel's signed 64-bit key.
        v = (d[0] & 0xFFFFFFFF) << 32 | (d[1] & 0xFFFFFFFF)
        return v - (1 << 64) if v >= 1 << 63 else v

    best = sorted(votes.items(), key=lambda kv: (-kv[1], key(kv[0])))
    return np.array([(dx, dy, v) for (dx, dy), v in best[:max_out]], np.int32).reshape(-1, 3)


def copy_runs_reference(
    moved: npt.NDArray[np.uint8], starts: I32, ends: I32, tile: int
) -> list[tuple[int, int, int, int]]:
    """``copy_runs`` (the copies of scroll_diff's rows), vectorised:
    (y0, y1, x0, x1) of each copy: consecutive rows whose runs moved and
    changed (1) over the same columns, joined across rows whose same runs
    moved onto equal pixels (2: blank lines between lines of text) in a tile
    row that also holds a changed row, and cut to begin and end on changed
    rows. (Rows of such a tile row are compared whatever the hint, since a
    changed row is hinted: the copies are the same with a hint covering
    every change and without one.)"""
    spans = np.stack([starts, ends], axis=1)
    changed = moved == 1
    n = len(moved)
    has = np.zeros(-(-n // tile) * tile, np.bool_)
    has[:n] = changed
    has = has.reshape(-1, tile).any(axis=1).repeat(tile)[:n]
    join = changed | ((moved == 2) & has)
    key = np.where(join, spans[:, 0].astype(np.int64) << 32 | spans[:, 1], -1)
    # A run starts where the key changes among joined rows, and ends before
    # a row that is not joined or starts another.
    start = join & np.concatenate(([True], key[1:] != key[:-1]))
    stop = join & np.concatenate((~join[1:] | start[1:], [True]))
    heads, tails = np.flatnonzero(start), np.flatnonzero(stop) + 1
    rows = np.flatnonzero(changed)
    first = np.searchsorted(rows, heads)
    last = np.searchsorted(rows, tails) - 1
    keep = first <= last  # the run holds a changed row
    y0, y1 = rows[first[keep]], rows[last[keep]] + 1
    x = spans[heads[keep]]
    return list(zip(y0.tolist(), y1.tolist(), x[:, 0].tolist(), x[:, 1].tolist(), strict=True))
