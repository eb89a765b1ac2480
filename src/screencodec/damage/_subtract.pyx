"""Rectangles minus rectangles in compiled loops (see ``subtract.py`` for the
API and ``_subtract.pyi`` for the signature).

Per rect: the holes that overlap it, clipped to it; its rows cut into slabs at
the holes' top and bottom edges; in each slab the column intervals no hole
covers (holes sorted by their left edge, one sweep); a piece of a slab extends
the piece of the slab above with the same columns, else starts a new one.
O(k^2) per rect with k overlapping holes (k log k per slab), which is the
size of the worst output (a grid of holes); no allocation per piece.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport qsort

import numpy as np



cdef int _by_first(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t *>a)[0], y = (<const int64_t *>b)[0]
    return (x > y) - (x < y)


cdef struct _Out:
    int64_t *data  # 5 per piece: x0, y0, x1, y1, owner
    Py_ssize_t n, cap


cdef int _emit(_Out *o, int64_t x0, int64_t y0, int64_t x1, int64_t y1, int64_t owner) except -1:
    cdef int64_t *grown
    if o.n == o.cap:
        o.cap = 2 * o.cap + 16
        grown = <int64_t *>PyMem_Realloc(o.data, o.cap * 5 * sizeof(int64_t))
        if grown == NULL:
            raise MemoryError()
        o.data = grown
    o.data[5 * o.n] = x0
    o.data[5 * o.n + 1] = y0
    o.data[5 * o.n + 2] = x1
    o.data[5 * o.n + 3] = y1
    o.data[5 * o.n + 4] = owner
    o.n += 1
    return 0


cdef int _by_y_then_x(const void *a, const void *b) noexcept nogil:
    cdef const int64_t *p = <const int64_t *>a
    cdef const int64_t *q = <const int64_t *>b
    if p[1] != q[1]:
        return (p[1] > q[1]) - (p[1] < q[1])
    return (p[0] > q[0]) - (p[0] < q[0])


cdef int _subtract(const int64_t[:, ::1] rv, const int64_t[:, ::1] hv, bint xywh, char *cv,
                   _Out *o) except -1:
    """The pieces of each rect minus the holes into ``o`` (rects in order, each
    rect's pieces together), cv[i] = 1 for each rect a hole overlaps. Rects and
    holes are (x0, y0, x1, y1), or (x, y, w, h) with ``xywh``."""
    cdef Py_ssize_t n = rv.shape[0], m = hv.shape[0]
    # Scratch, sized for the worst rect: holes as boxes (4 each), clipped
    # holes (4 each), slab edges, one slab's intervals (2 each), open pieces
    # (3 each: x0, x1, start y).
    cdef Py_ssize_t cap = m + 1
    cdef int64_t *hb = <int64_t *>PyMem_Malloc(cap * 4 * sizeof(int64_t))
    cdef int64_t *clip = <int64_t *>PyMem_Malloc(cap * 4 * sizeof(int64_t))
    cdef int64_t *ys = <int64_t *>PyMem_Malloc((2 * cap + 2) * sizeof(int64_t))
    cdef int64_t *iv = <int64_t *>PyMem_Malloc(cap * 2 * sizeof(int64_t))
    cdef int64_t *opn = <int64_t *>PyMem_Malloc((cap + 1) * 3 * sizeof(int64_t))
    cdef int64_t *nxt = <int64_t *>PyMem_Malloc((cap + 1) * 3 * sizeof(int64_t))
    cdef int64_t *tmp
    cdef Py_ssize_t i, j, k, s, ny, ni, no, nn, a
    cdef int64_t x0, y0, x1, y1, lo, hi, reach, g0, g1, sy0, sy1
    try:
        if (hb == NULL or clip == NULL or ys == NULL or iv == NULL or opn == NULL
                or nxt == NULL):
            raise MemoryError()
        for j in range(m):
            hb[4 * j] = hv[j, 0]
            hb[4 * j + 1] = hv[j, 1]
            hb[4 * j + 2] = hv[j, 2] + (hv[j, 0] if xywh else 0)
            hb[4 * j + 3] = hv[j, 3] + (hv[j, 1] if xywh else 0)
        for i in range(n):
            x0, y0 = rv[i, 0], rv[i, 1]
            x1 = rv[i, 2] + (x0 if xywh else 0)
            y1 = rv[i, 3] + (y0 if xywh else 0)
            if x1 <= x0 or y1 <= y0:
                continue
            k = 0
            for j in range(m):
                lo = max(x0, hb[4 * j])
                hi = min(x1, hb[4 * j + 2])
                if lo >= hi or max(y0, hb[4 * j + 1]) >= min(y1, hb[4 * j + 3]):
                    continue
                clip[4 * k] = lo
                clip[4 * k + 1] = max(y0, hb[4 * j + 1])
                clip[4 * k + 2] = hi
                clip[4 * k + 3] = min(y1, hb[4 * j + 3])
                k += 1
            if k == 0:
                _emit(o, x0, y0, x1, y1, i)
                continue
            cv[i] = 1
            ys[0] = y0
            ys[1] = y1
            ny = 2
            for j in range(k):
                ys[ny] = clip[4 * j + 1]
                ys[ny + 1] = clip[4 * j + 3]
                ny += 2
            qsort(ys, ny, sizeof(int64_t), _by_first)
            no = 0
            for s in range(ny - 1):
                sy0, sy1 = ys[s], ys[s + 1]
                if sy0 == sy1:
                    continue
                # The holes covering the slab (a hole's edges are slab edges:
                # it covers a slab whole or not at all), by left edge.
                ni = 0
                for j in range(k):
                    if clip[4 * j + 1] <= sy0 and sy1 <= clip[4 * j + 3]:
                        iv[2 * ni] = clip[4 * j]
                        iv[2 * ni + 1] = clip[4 * j + 2]
                        ni += 1
                qsort(iv, ni, 2 * sizeof(int64_t), _by_first)
                # Gaps between the covered intervals, matched against the open
                # pieces (both by x): a gap with the same columns extends one.
                nn = 0
                a = 0
                reach = x0
                for j in range(ni + 1):
                    g0 = reach
                    g1 = iv[2 * j] if j < ni else x1
                    if j < ni:
                        reach = max(reach, iv[2 * j + 1])
                    if g1 <= g0:
                        continue
                    while a < no and opn[3 * a] < g0:
                        _emit(o, opn[3 * a], opn[3 * a + 2], opn[3 * a + 1], sy0, i)
                        a += 1
                    nxt[3 * nn] = g0
                    nxt[3 * nn + 1] = g1
                    if a < no and opn[3 * a] == g0 and opn[3 * a + 1] == g1:
                        nxt[3 * nn + 2] = opn[3 * a + 2]
                        a += 1
                    else:
                        nxt[3 * nn + 2] = sy0
                    nn += 1
                while a < no:
                    _emit(o, opn[3 * a], opn[3 * a + 2], opn[3 * a + 1], sy0, i)
                    a += 1
                tmp = opn
                opn = nxt
                nxt = tmp
                no = nn
            for a in range(no):
                _emit(o, opn[3 * a], opn[3 * a + 2], opn[3 * a + 1], y1, i)
    finally:
        PyMem_Free(hb)
        PyMem_Free(clip)
        PyMem_Free(ys)
        PyMem_Free(iv)
        PyMem_Free(opn)
        PyMem_Free(nxt)
    return 0


def subtract_boxes(rects, holes):
    """(pieces (k, 4) int64 as x0, y0, x1, y1; owner (k,) intp; cut (n,) bool)
    for (n, 4) and (m, 4) int64 boxes (x0, y0, x1, y1). Empty boxes are absent."""
    r = np.ascontiguousarray(rects, dtype=np.int64).reshape(-1, 4)
    h = np.ascontiguousarray(holes, dtype=np.int64).reshape(-1, 4)
    cut = np.zeros(r.shape[0], np.bool_)
    cdef char[::1] cv = cut.view(np.int8)
    cdef _Out o = _Out(NULL, 0, 0)
    cdef Py_ssize_t i, j
    cdef int64_t[:, ::1] qv
    cdef Py_ssize_t[::1] ov
    try:
        _subtract(r, h, False, &cv[0] if r.shape[0] else NULL, &o)
        pieces = np.empty((o.n, 4), np.int64)
        owner = np.empty(o.n, np.intp)
        qv = pieces
        ov = owner
        for i in range(o.n):
            for j in range(4):
                qv[i, j] = o.data[5 * i + j]
            ov[i] = o.data[5 * i + 4]
    finally:
        PyMem_Free(o.data)
    return pieces, owner, cut


def subtract_xywh(rects, holes):
    """``subtract_boxes`` for (x, y, w, h) rects and holes, with the pieces as
    (k, 4) int32 (x, y, w, h) ordered by their rect, then y, then x (what the
    damage stages take), in one call."""
    r = np.ascontiguousarray(rects, dtype=np.int64).reshape(-1, 4)
    h = np.ascontiguousarray(holes, dtype=np.int64).reshape(-1, 4)
    cut = np.zeros(r.shape[0], np.bool_)
    cdef char[::1] cv = cut.view(np.int8)
    cdef _Out o = _Out(NULL, 0, 0)
    cdef Py_ssize_t i, a, b
    cdef int64_t *p
    cdef int32_t[:, ::1] pv
    cdef Py_ssize_t[::1] ov
    try:
        _subtract(r, h, True, &cv[0] if r.shape[0] else NULL, &o)
        # Pieces of one rect are together and disjoint: sort each run by (y, x).
        a = 0
        while a < o.n:
            b = a + 1
            while b < o.n and o.data[5 * b + 4] == o.data[5 * a + 4]:
                b += 1
            if b - a > 1:
                qsort(o.data + 5 * a, b - a, 5 * sizeof(int64_t), _by_y_then_x)
            a = b
        pieces = np.empty((o.n, 4), np.int32)
        owner = np.empty(o.n, np.intp)
        pv = pieces
        ov = owner
        for i in range(o.n):
            p = o.data + 5 * i
            pv[i, 0] = p[0]
            pv[i, 1] = p[1]
            pv[i, 2] = p[2] - p[0]
            pv[i, 3] = p[3] - p[1]
            ov[i] = p[4]
    finally:
        PyMem_Free(o.data)
    return pieces, owner, cut
