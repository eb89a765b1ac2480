# distutils: sources = csrc/photorows.c
# distutils: include_dirs = csrc
# distutils: depends = csrc/photorows.h
"""The photo row measure of quality.classify in C (csrc/photorows.c); the
NumPy reference is ``classify._photo_rows_reference``.

Each entry point checks the frame's layout (``frames.frame_layout``) and
every block and row against it before the kernel reads a pixel; the kernel
runs without the GIL. See ``_photorows.pyi`` for the signatures.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t

import numpy as np

from screencodec.errors import FrameError
from screencodec.frames import frame_layout


cdef extern from "photorows.h" nogil:
    ctypedef struct sc_photo_limits:
        int n
        int edge
        double max_flat
        double max_edges
        double max_mode
        double distinct
    size_t sc_photo_table_size(int n)
    void sc_photo_rows(const uint8_t *fb, ptrdiff_t stride, const int64_t *xs,
                       const int64_t *ws, const int64_t *ys, ptrdiff_t m,
                       const sc_photo_limits *lim, uint32_t *keys, uint16_t *counts,
                       int64_t *cols, uint8_t *out)
    void sc_photo_runs(const uint8_t *fb, ptrdiff_t stride, const int64_t *blocks, ptrdiff_t m,
                       const sc_photo_limits *probe, const sc_photo_limits *lim,
                       uint32_t *keys, uint16_t *counts, int64_t *cols, int64_t *lead,
                       int64_t *trail)

#: Most samples a row (the kernel counts colours in uint16).
MAX_SAMPLES = 4096


cdef sc_photo_limits _limits(int n, int edge, double flat, double edges, double mode,
                             double distinct) except *:
    if not 1 <= n <= MAX_SAMPLES:
        raise FrameError(f"samples a row must be in [1, {MAX_SAMPLES}], not {n}")
    cdef sc_photo_limits lim
    lim.n, lim.edge = n, edge
    lim.max_flat, lim.max_edges = flat * n, edges * n
    lim.max_mode, lim.distinct = mode * n, distinct
    return lim


cdef int _check_blocks(const int64_t[:, ::1] b, Py_ssize_t fw, Py_ssize_t fh) except -1:
    cdef Py_ssize_t k
    for k in range(b.shape[0]):
        if (b[k, 0] < 0 or b[k, 1] < 0 or b[k, 2] < 1 or b[k, 3] < 1
                or b[k, 0] + b[k, 2] > fw or b[k, 1] + b[k, 3] > fh):
            raise FrameError(
                f"block {tuple(b[k])} is empty or outside the {fw}x{fh} frame")
    return 0


def _blocks(blocks):
    b = np.ascontiguousarray(blocks, dtype=np.int64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise FrameError(f"blocks must be (m, 4), not {b.shape}")
    return b


def photo_rows(frame, blocks, ys, int n, *, int edge, double flat, double edges, double mode,
               double distinct):
    fh, fw, stride = frame_layout(frame, "frame")
    b = _blocks(blocks)
    y = np.ascontiguousarray(ys, dtype=np.int64)
    if y.shape != (b.shape[0],):
        raise FrameError(f"ys must have shape ({b.shape[0]},), not {y.shape}")
    cdef const int64_t[:, ::1] bv = b
    cdef const int64_t[::1] yv = y
    cdef Py_ssize_t k, m = b.shape[0]
    # Each row is checked as a block of one row.
    for k in range(m):
        if not 0 <= yv[k] - bv[k, 1] < bv[k, 3]:
            raise FrameError(f"row {yv[k]} is outside its block {tuple(bv[k])}")
    _check_blocks(bv, fw, fh)
    cdef sc_photo_limits lim = _limits(n, edge, flat, edges, mode, distinct)
    out = np.zeros(m, np.bool_)
    if m == 0:
        return out
    xs = np.ascontiguousarray(b[:, 0])
    ws = np.ascontiguousarray(b[:, 2])
    size = sc_photo_table_size(n)
    keys = np.empty(size, np.uint32)
    counts = np.empty(size, np.uint16)
    cols = np.empty(3 * n, np.int64)  # offsets, then pixels
    cdef const int64_t[::1] xv = xs, wv = ws
    cdef int64_t[::1] sv = cols
    cdef uint32_t[::1] kv = keys
    cdef uint16_t[::1] cv = counts
    cdef uint8_t[::1] ov = out.view(np.uint8)
    cdef const uint8_t[:, :, :] fv = frame
    cdef const uint8_t *p = &fv[0, 0, 0]
    cdef ptrdiff_t s = stride
    with nogil:
        sc_photo_rows(p, s, &xv[0], &wv[0], &yv[0], m, &lim, &kv[0], &cv[0], &sv[0], &ov[0])
    return out


def photo_runs(frame, blocks, int n, *, int probe=0, int edge, double flat, double edges,
               double mode, double distinct):
    fh, fw, stride = frame_layout(frame, "frame")
    b = _blocks(blocks)
    cdef const int64_t[:, ::1] bv = b
    cdef Py_ssize_t k, m = b.shape[0]
    _check_blocks(bv, fw, fh)
    cdef sc_photo_limits lim = _limits(n, edge, flat, edges, mode, distinct)
    cdef sc_photo_limits probe_lim
    cdef const sc_photo_limits *p_probe = NULL
    if probe:
        probe_lim = _limits(probe, edge, flat, edges, mode, distinct)
        p_probe = &probe_lim
        for k in range(m):
            if bv[k, 3] < 2:
                raise FrameError(f"block {tuple(bv[k])} has no second row to probe")
    lead = np.zeros(m, np.int64)
    trail = np.zeros(m, np.int64)
    if m == 0:
        return lead, trail
    most = max(n, probe)
    size = sc_photo_table_size(most)
    keys = np.empty(size, np.uint32)
    counts = np.empty(size, np.uint16)
    cols = np.empty(3 * most, np.int64)  # offsets, then pixels
    cdef int64_t[::1] sv = cols
    cdef uint32_t[::1] kv = keys
    cdef uint16_t[::1] cv = counts
    cdef int64_t[::1] lv = lead, tv = trail
    cdef const uint8_t[:, :, :] fv = frame
    cdef const uint8_t *p = &fv[0, 0, 0]
    cdef ptrdiff_t s = stride
    with nogil:
        sc_photo_runs(p, s, &bv[0, 0], m, p_probe, &lim, &kv[0], &cv[0], &sv[0], &lv[0], &tv[0])
    return lead, trail
