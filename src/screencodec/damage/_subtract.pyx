"""Rectangles minus rectangles in compiled loops (see ``subtract.py`` for the
API and ``_subtract.pyi`` for the signature).

Per rect: the holes that overlap it, clipped to it; its rows cut into slabs at
the holes' top and bottom edges; in each slab the column intervals no hole
covers (holes sorted by their left edge, one sweep); a piece of a slab extends
the piece of the slab above with the same columns, else starts a new one.
O(k^2) per rect with k overlapping holes (k log k per slab), which is the
size of the worst output (a grid of holes); no allocation per piece.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t
from libc.stdlib cimport qsort

import numpy as np



cdef int _by_first(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t *>a)[0], y = (<const int64_t *>b)[0]
    return (x > y) - (x < y)


def subtract_boxes(rects, holes):
    """(pieces (k, 4) int64 as x0, y0, x1, y1; owner (k,) intp; cut (n,) bool)
    for (n, 4) and (m, 4) int64 boxes (x0, y0, x1, y1). Empty boxes are absent."""
    r = np.ascontiguousarray(rects, dtype=np.int64).reshape(-1, 4)
    h = np.ascontiguousarray(holes, dtype=np.int64).reshape(-1, 4)
    cdef const int64_t[:, ::1] rv = r
    cdef const int64_t[:, ::1] hv = h
    cdef Py_ssize_t n = rv.shape[0], m = hv.shape[0]
    cut = np.zeros(n, np.bool_)
    cdef char[::1] cv = cut.view(np.int8)
    # Scratch, sized for the worst rect: clipped holes (4 each), slab edges,
    # one slab's intervals (2 each), open pieces (3 each: x0, x1, start y).
    cdef Py_ssize_t cap = m + 1
    cdef int64_t *clip = <int64_t *>PyMem_Malloc(cap * 4 * sizeof(int64_t))
    cdef int64_t *ys = <int64_t *>PyMem_Malloc((2 * cap + 2) * sizeof(int64_t))
    cdef int64_t *iv = <int64_t *>PyMem_Malloc(cap * 2 * sizeof(int64_t))
    cdef int64_t *opn = <int64_t *>PyMem_Malloc((cap + 1) * 3 * sizeof(int64_t))
    cdef int64_t *nxt = <int64_t *>PyMem_Malloc((cap + 1) * 3 * sizeof(int64_t))
    cdef int64_t *tmp
    if clip == NULL or ys == NULL or iv == NULL or opn == NULL or nxt == NULL:
        PyMem_Free(clip)
        PyMem_Free(ys)
        PyMem_Free(iv)
        PyMem_Free(opn)
        PyMem_Free(nxt)
        raise MemoryError()
    out = []  # (x0, y0, x1, y1, owner) per closed piece
    cdef Py_ssize_t i, j, k, s, ny, ni, no, nn, a, b
    cdef int64_t x0, y0, x1, y1, lo, hi, reach, g0, g1, sy0, sy1
    try:
        for i in range(n):
            x0, y0, x1, y1 = rv[i, 0], rv[i, 1], rv[i, 2], rv[i, 3]
            if x1 <= x0 or y1 <= y0:
                continue
            k = 0
            for j in range(m):
                lo = max(x0, hv[j, 0])
                hi = min(x1, hv[j, 2])
                if lo >= hi or max(y0, hv[j, 1]) >= min(y1, hv[j, 3]):
                    continue
                clip[4 * k] = lo
                clip[4 * k + 1] = max(y0, hv[j, 1])
                clip[4 * k + 2] = hi
                clip[4 * k + 3] = min(y1, hv[j, 3])
                k += 1
            if k == 0:
                out.append((x0, y0, x1, y1, i))
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
                        out.append((opn[3 * a], opn[3 * a + 2], opn[3 * a + 1], sy0, i))
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
                    out.append((opn[3 * a], opn[3 * a + 2], opn[3 * a + 1], sy0, i))
                    a += 1
                tmp = opn
                opn = nxt
                nxt = tmp
                no = nn
            for a in range(no):
                out.append((opn[3 * a], opn[3 * a + 2], opn[3 * a + 1], y1, i))
    finally:
        PyMem_Free(clip)
        PyMem_Free(ys)
        PyMem_Free(iv)
        PyMem_Free(opn)
        PyMem_Free(nxt)
    if not out:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.intp), cut
    arr = np.array(out, np.int64)
    return arr[:, :4], arr[:, 4].astype(np.intp), cut
