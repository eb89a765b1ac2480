# distutils: sources = csrc/motion.c csrc/tilediff.c
# distutils: include_dirs = csrc
# distutils: depends = csrc/motion.h csrc/tilediff.h
"""Row hashes, exact shift matching and in-place moves over BGRX frames
(Cython over csrc/motion.c).

Every entry point validates layouts and rectangles in Python and raises
:class:`~screencodec.errors.FrameError`; only then are raw pointers taken and
the C kernels run with the GIL released. See ``_rowhash.pyi`` for the
documented signatures.
"""

from libc.stdint cimport int32_t, uint8_t, uint64_t

import operator

import numpy as np

from screencodec.errors import FrameError
from screencodec.frames import MAX_KERNEL_DIM, frame_layout, frame_pair


cdef extern from "motion.h" nogil:
    void sc_motion_init()
    void sc_row_hashes(const uint8_t *data, ptrdiff_t stride, int32_t x, int32_t w, int32_t y,
                       int32_t h, uint64_t *out)
    void sc_match_runs(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                       ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0,
                       int32_t x1, int32_t y0, int32_t y1, int32_t dx, int32_t dy,
                       int32_t min_run, const uint8_t *row_mask, int32_t *starts,
                       int32_t *ends)
    int32_t sc_find_segment(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                            ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t ax,
                            int32_t ay, int32_t k, int32_t radius, int32_t radius_y,
                            int32_t min_detail,
                            int32_t max_out, int32_t *out)
    void sc_move_rect(uint8_t *buf, ptrdiff_t stride, int32_t sx, int32_t sy, int32_t w,
                      int32_t h, int32_t dx, int32_t dy)
    void sc_row_votes(const uint64_t *hp, const uint64_t *hc, const uint8_t *changed,
                      int32_t n, int32_t h, uint64_t *keys, int32_t *rows, int32_t cap,
                      int32_t *votes)
    ptrdiff_t sc_rect_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                           ptrdiff_t cur_stride, int32_t x, int32_t y, int32_t w, int32_t h,
                           int32_t tile, int32_t *out)

# Coordinates are int32 in C and shifts add to them: stay far from 2**31.
MAX_DIM = MAX_KERNEL_DIM
MAX_RADIUS = 1024
MAX_SEGMENT = 4096

sc_motion_init()


def _rect(rect, int width, int height, str name):
    try:
        x, y, w, h = (operator.index(v) for v in rect)
    except (TypeError, ValueError):
        raise FrameError(f"{name} must be 4 integers (x, y, w, h), not {rect!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise FrameError(f"{name} {(x, y, w, h)} is empty or outside the {width}x{height} frame")
    return x, y, w, h


cdef inline const uint8_t *_rptr(const uint8_t[:, :, :] view) noexcept:
    # The caller keeps the array alive; the view only locates its first byte.
    return &view[0, 0, 0]


def row_hashes(frame, rect):
    fh, fw, stride = frame_layout(frame, "frame")
    x, y, w, h = _rect(rect, fw, fh, "rect")
    out = np.empty(h, np.uint64)
    cdef uint64_t[::1] ov = out
    cdef const uint8_t *p = _rptr(frame)
    cdef ptrdiff_t c_stride = stride
    cdef int32_t cx = x, cy = y, cw = w, ch = h
    with nogil:
        sc_row_hashes(p, c_stride, cx, cw, cy, ch, &ov[0])
    return out


def match_runs(prev, cur, rect, dx, dy, *, min_run=1, row_mask=None):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    x, y, w, h = _rect(rect, fw, fh, "rect")
    cdef int32_t c_dx = operator.index(dx), c_dy = operator.index(dy)
    cdef int32_t c_min = operator.index(min_run)
    if abs(c_dx) > MAX_DIM or abs(c_dy) > MAX_DIM:
        raise FrameError(f"shift ({c_dx}, {c_dy}) out of range")
    if not 1 <= c_min <= MAX_DIM:
        raise FrameError(f"min_run must be >= 1, not {c_min}")
    cdef const uint8_t[::1] mv
    cdef const uint8_t *p_mask = NULL
    if row_mask is not None:
        mask = np.ascontiguousarray(row_mask, dtype=np.bool_).view(np.uint8)
        if mask.shape != (h,):
            raise FrameError(f"row_mask must have shape ({h},), not {mask.shape}")
        mv = mask
        p_mask = &mv[0]
    starts = np.empty(h, np.int32)
    ends = np.empty(h, np.int32)
    cdef int32_t[::1] sv = starts
    cdef int32_t[::1] ev = ends
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef int32_t cw = fw, ch = fh, x0 = x, y0 = y, x1 = x + w, y1 = y + h
    with nogil:
        sc_match_runs(pp, c_prev_row, pc, c_cur_row, cw, ch, x0, x1, y0, y1, c_dx, c_dy,
                      c_min, p_mask, &sv[0], &ev[0])
    return starts, ends


def find_segment(prev, cur, ax, ay, k, radius, *, radius_y=None, min_detail=0, max_out=4):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    cdef int32_t c_ax = operator.index(ax), c_ay = operator.index(ay)
    cdef int32_t c_k = operator.index(k), c_r = operator.index(radius)
    cdef int32_t c_ry = c_r if radius_y is None else operator.index(radius_y)
    if not 0 <= c_ry <= MAX_RADIUS:
        raise FrameError(f"radius_y={c_ry} out of range")
    cdef int32_t c_max = operator.index(max_out), c_detail = operator.index(min_detail)
    if not 1 <= c_k <= MAX_SEGMENT or not 0 <= c_r <= MAX_RADIUS or not 0 <= c_max <= 1024:
        raise FrameError(f"k={c_k}, radius={c_r} or max_out={c_max} out of range")
    if c_ax < 0 or c_ay < 0 or c_ax + c_k > fw or c_ay >= fh:
        raise FrameError(f"segment at ({c_ax}, {c_ay}) of {c_k} px is outside the frame")
    out = np.empty((c_max + 1, 2), np.int32)
    cdef int32_t[:, ::1] ov = out
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef int32_t cw = fw, ch = fh, n
    with nogil:
        n = sc_find_segment(pp, c_prev_row, pc, c_cur_row, cw, ch, c_ax, c_ay, c_k, c_r,
                            c_ry, c_detail, c_max, &ov[0, 0])
    if n < 0:
        return None  # no anchor
    return out[:n].copy()


def row_votes(hp, hc, changed):
    a = np.ascontiguousarray(hp, dtype=np.uint64)
    b = np.ascontiguousarray(hc, dtype=np.uint64)
    m = np.ascontiguousarray(changed, dtype=np.bool_).view(np.uint8)
    if a.ndim != 2 or a.shape != b.shape or a.shape != m.shape:
        raise FrameError(f"hp, hc and changed must be (strips, rows) arrays of one shape, "
                         f"not {a.shape}, {b.shape}, {m.shape}")
    cdef int32_t n = a.shape[0], h = a.shape[1]
    if h > MAX_DIM:
        raise FrameError(f"too many rows: {h}")
    votes = np.zeros((n, 2 * h), np.int32)
    if n == 0 or h == 0:
        return votes
    cdef int32_t cap = 16
    while cap < 2 * h:
        cap *= 2
    keys = np.empty(cap, np.uint64)
    rows = np.empty(cap, np.int32)
    cdef const uint64_t[:, ::1] av = a
    cdef const uint64_t[:, ::1] bv = b
    cdef const uint8_t[:, ::1] mv = m
    cdef uint64_t[::1] kv = keys
    cdef int32_t[::1] rv = rows
    cdef int32_t[:, ::1] vv = votes
    with nogil:
        sc_row_votes(&av[0, 0], &bv[0, 0], &mv[0, 0], n, h, &kv[0], &rv[0], cap, &vv[0, 0])
    return votes


def move_rect(buf, rect, dx, dy):
    fh, fw, stride = frame_layout(buf, "buf")
    if not buf.flags.writeable:
        raise FrameError("buf is read-only")
    x, y, w, h = _rect(rect, fw, fh, "rect")
    cdef int32_t c_dx = operator.index(dx), c_dy = operator.index(dy)
    _rect((x + c_dx, y + c_dy, w, h), fw, fh, "destination")
    cdef uint8_t[:, :, :] bv = buf
    cdef uint8_t *p = &bv[0, 0, 0]
    cdef ptrdiff_t c_stride = stride
    cdef int32_t cx = x, cy = y, cw = w, ch = h
    with nogil:
        sc_move_rect(p, c_stride, cx, cy, cw, ch, c_dx, c_dy)


def rect_tile_diff(prev, cur, rect, tile=16):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    x, y, w, h = _rect(rect, fw, fh, "rect")
    cdef int32_t t = operator.index(tile)
    if not 16 <= t <= 256:
        raise FrameError(f"tile must be in [16, 256], not {t}")
    cdef ptrdiff_t tiles_x = (w + t - 1) // t
    cdef ptrdiff_t tiles_y = (h + t - 1) // t
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef int32_t cx = x, cy = y, cw = w, ch = h
    out = np.empty((tiles_x * tiles_y, 4), np.int32)
    cdef int32_t[:, ::1] ov = out
    cdef ptrdiff_t n
    with nogil:
        n = sc_rect_diff(pp, c_prev_row, pc, c_cur_row, cx, cy, cw, ch, t, &ov[0, 0])
    return out[:n].copy()
