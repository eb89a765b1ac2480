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

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

import operator
import threading

import numpy as np

from screencodec.errors import ConcurrentUseError, FrameError
from screencodec.frames import MAX_KERNEL_DIM, frame_layout, frame_pair


cdef extern from "motion.h" nogil:
    void sc_motion_init()
    void sc_row_hashes(const uint8_t *data, ptrdiff_t stride, int32_t x, int32_t w, int32_t y,
                       int32_t h, uint64_t *out)
    void sc_strip_hashes(const uint8_t *data, ptrdiff_t stride, const int32_t *xs,
                         const int32_t *ws, int32_t n, int32_t y, int32_t h, uint64_t *out)
    void sc_match_runs(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                       ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0,
                       int32_t x1, int32_t y0, int32_t y1, int32_t dx, int32_t dy,
                       int32_t min_run, const uint8_t *row_mask, int32_t most,
                       int32_t *starts, int32_t *ends)
    void sc_screen_shifts(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                          ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0,
                          int32_t x1, int32_t y0, int32_t y1, int32_t row_step,
                          const int32_t *shifts, int32_t n, int32_t min_run, int64_t *matched)
    enum: SC_MAX_ROW_RUNS
    void sc_move_rect(uint8_t *buf, ptrdiff_t stride, int32_t sx, int32_t sy, int32_t w,
                      int32_t h, int32_t dx, int32_t dy)
    void sc_apply_copies(uint8_t *buf, ptrdiff_t stride, const int32_t *ops, ptrdiff_t n,
                         uint8_t *scratch)
    int32_t sc_segment_shifts(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                              ptrdiff_t cur_stride, int32_t x0, int32_t x1, int32_t y1,
                              const int32_t *starts, int32_t nstarts, int32_t run,
                              int32_t max_runs, int32_t min_anchors, int32_t sx0, int32_t sy0,
                              int32_t sx1, int32_t sy1, int32_t k, int32_t min_detail,
                              int32_t row_step, uint64_t *index, int32_t *anchor,
                              int32_t cap, int64_t *skeys, int32_t *svotes, int32_t scap,
                              int32_t max_out, int32_t *out)
    enum: SC_ANCHOR_INTS
    void sc_row_votes(const uint64_t *hp, const uint64_t *hc, const uint8_t *changed,
                      int32_t n, int32_t h, uint64_t *keys, int32_t *rows, int32_t cap,
                      int32_t *votes)
    ptrdiff_t sc_rect_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                           ptrdiff_t cur_stride, int32_t x, int32_t y, int32_t w, int32_t h,
                           int32_t tile, int32_t *out)
    ptrdiff_t sc_scroll_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                             ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t y0,
                             int32_t y1, int32_t x0, int32_t x1, int32_t dy, int32_t min_run,
                             uint8_t *moved, int32_t *starts, int32_t *ends, int32_t tile,
                             int32_t *bounds, int32_t *out)

# Coordinates are int32 in C and shifts add to them: stay far from 2**31.
MAX_DIM = MAX_KERNEL_DIM
MAX_SEGMENT = 4096
#: Runs per row that match_runs (most) reports at most.
MAX_ROW_RUNS = SC_MAX_ROW_RUNS
#: Largest anchor index of segment_shifts (64 MB of index, 80 MB of anchors).
MAX_ANCHOR_SLOTS = 1 << 22
#: Shift table of segment_shifts (a power of two).
_SHIFT_SLOTS = 4096

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


def match_runs(prev, cur, rect, dx, dy, *, min_run=1, row_mask=None, most=1):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    x, y, w, h = _rect(rect, fw, fh, "rect")
    cdef int32_t c_dx = operator.index(dx), c_dy = operator.index(dy)
    cdef int32_t c_min = operator.index(min_run)
    cdef int32_t c_most = operator.index(most)
    if abs(c_dx) > MAX_DIM or abs(c_dy) > MAX_DIM:
        raise FrameError(f"shift ({c_dx}, {c_dy}) out of range")
    if not 1 <= c_min <= MAX_DIM:
        raise FrameError(f"min_run must be >= 1, not {c_min}")
    if not 1 <= c_most <= SC_MAX_ROW_RUNS:
        raise FrameError(f"most must be in [1, {SC_MAX_ROW_RUNS}], not {c_most}")
    cdef const uint8_t[::1] mv
    cdef const uint8_t *p_mask = NULL
    if row_mask is not None:
        mask = np.ascontiguousarray(row_mask, dtype=np.bool_).view(np.uint8)
        if mask.shape != (h,):
            raise FrameError(f"row_mask must have shape ({h},), not {mask.shape}")
        mv = mask
        p_mask = &mv[0]
    starts = np.empty(h * c_most, np.int32)
    ends = np.empty(h * c_most, np.int32)
    cdef int32_t[::1] sv = starts
    cdef int32_t[::1] ev = ends
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef int32_t cw = fw, ch = fh, x0 = x, y0 = y, x1 = x + w, y1 = y + h
    with nogil:
        sc_match_runs(pp, c_prev_row, pc, c_cur_row, cw, ch, x0, x1, y0, y1, c_dx, c_dy,
                      c_min, p_mask, c_most, &sv[0], &ev[0])
    if c_most == 1:
        return starts, ends
    return starts.reshape(h, c_most), ends.reshape(h, c_most)


def screen_shifts(prev, cur, rect, shifts, *, row_step, min_run=1):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    x, y, w, h = _rect(rect, fw, fh, "rect")
    sh = _int32_array(shifts, "shifts")
    if sh.ndim != 2 or sh.shape[1] != 2:
        raise FrameError(f"shifts must be (n, 2) integers, not shape {sh.shape}")
    cdef int32_t c_step = _small_int(row_step, "row_step"), c_min = _small_int(min_run, "min_run")
    if c_step < 1:
        raise FrameError(f"row_step must be >= 1, not {c_step}")
    if c_min < 1:
        raise FrameError(f"min_run must be >= 1, not {c_min}")
    cdef int32_t n = sh.shape[0]
    matched = np.zeros(n, np.int64)
    if n == 0:
        return matched
    cdef const int32_t[:, ::1] shv = sh
    cdef int64_t[::1] outv = matched
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef int32_t cw = fw, ch = fh, x0 = x, y0 = y, x1 = x + w, y1 = y + h
    with nogil:
        sc_screen_shifts(pp, c_prev_row, pc, c_cur_row, cw, ch, x0, x1, y0, y1, c_step,
                         &shv[0, 0], n, c_min, &outv[0])
    return matched


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


def apply_copies(buf, ops, scratch=None):
    fh, fw, stride = frame_layout(buf, "buf")
    if not buf.flags.writeable:
        raise FrameError("buf is read-only")
    o = np.ascontiguousarray(ops, dtype=np.int32)
    if o.ndim != 2 or o.shape[1] != 6:
        raise FrameError(f"ops must be an (n, 6) array of src_x, src_y, x, y, w, h, not {o.shape}")
    cdef const int32_t[:, ::1] ov = o
    cdef Py_ssize_t n = ov.shape[0], k
    cdef long long need = 0, sx, sy, x, y, w, h
    for k in range(n):
        sx, sy, x, y, w, h = ov[k, 0], ov[k, 1], ov[k, 2], ov[k, 3], ov[k, 4], ov[k, 5]
        if (w <= 0 or h <= 0 or sx < 0 or sy < 0 or x < 0 or y < 0 or sx + w > fw
                or x + w > fw or sy + h > fh or y + h > fh):
            raise FrameError(f"copy {k} {(sx, sy, x, y, w, h)} is empty or outside the "
                             f"{fw}x{fh} frame")
        need += w * h * 4
    if n == 0:
        return scratch
    if n > 1 and (scratch is None or scratch.dtype != np.uint8 or scratch.ndim != 1
                  or not scratch.flags.c_contiguous or not scratch.flags.writeable
                  or scratch.shape[0] < need):
        scratch = np.empty(need, np.uint8)
    cdef uint8_t[::1] sv
    cdef uint8_t *ps = NULL
    if n > 1:
        sv = scratch
        ps = &sv[0]
    cdef uint8_t[:, :, :] bv = buf
    cdef uint8_t *p = &bv[0, 0, 0]
    cdef ptrdiff_t c_stride = stride
    with nogil:
        sc_apply_copies(p, c_stride, &ov[0, 0], n, ps)
    return scratch


class SegmentTables:
    """Scratch of ``segment_shifts``, kept between calls so that no call pays
    for tables sized for its worst case: one per caller, used by one call at
    a time (a second concurrent call raises ConcurrentUseError)."""

    SHIFT_SLOTS = _SHIFT_SLOTS

    def __init__(self):
        self.cap = 0
        #: held while a call uses the tables (taken without waiting: a second
        #: caller is refused, not queued)
        self.lock = threading.Lock()
        self.skeys = np.empty(_SHIFT_SLOTS, np.int64)
        self.svotes = np.empty(_SHIFT_SLOTS, np.int32)

    def __reduce__(self):
        # Scratch: a copy (a deep-copied MotionStage) starts with tables of its own.
        return (SegmentTables, ())

    @property
    def busy(self):
        return self.lock.locked()

    def reserve(self, cap):
        """Room for an index of ``cap`` slots (a power of two). Arrays a caller
        replaced are made again: the kernel relies on their sizes."""
        if (cap > self.cap or _size(self, "index", np.uint64) != 2 * self.cap
                or _size(self, "anchor", np.int32) != SC_ANCHOR_INTS * (self.cap // 2)):
            cap = max(cap, self.cap)
            # (key, anchor) per slot; the kernel leaves every slot empty (all
            # ones) again when it returns.
            self.index = np.full(2 * cap, np.iinfo(np.uint64).max, np.uint64)
            self.anchor = np.empty(SC_ANCHOR_INTS * (cap // 2), np.int32)
            self.cap = cap
        if _size(self, "skeys", np.int64) != _SHIFT_SLOTS:
            self.skeys = np.empty(_SHIFT_SLOTS, np.int64)
        if _size(self, "svotes", np.int32) != _SHIFT_SLOTS:
            self.svotes = np.empty(_SHIFT_SLOTS, np.int32)


def _size(tables, name, dtype):
    """Length of a scratch array, -1 unless it is a contiguous 1-D ``dtype`` array."""
    a = getattr(tables, name, None)
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != 1 or not a.flags.c_contiguous:
        return -1
    return len(a)


def segment_shifts(prev, cur, rect, rows, *, scan=None, k=32, min_detail=3, row_step=1,
                   run=None, max_runs=None, min_anchors=1, max_out=8, tables=None):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    x, y, w, h = _rect(rect, fw, fh, "rect")
    sx, sy, sw, sh = _rect(rect if scan is None else scan, fw, fh, "scan")
    cdef int32_t c_k = operator.index(k), c_detail = operator.index(min_detail)
    cdef int32_t c_max = operator.index(max_out), c_step = operator.index(row_step)
    cdef int32_t c_run = c_step if run is None else operator.index(run)
    cdef int32_t c_min = operator.index(min_anchors)
    if c_k < 4 or c_k % 4 or c_k > MAX_SEGMENT or not 0 <= c_max <= 1024:
        raise FrameError(f"k={c_k} (a multiple of 4) or max_out={c_max} out of range")
    if not 1 <= c_step <= MAX_DIM or not 1 <= c_run <= 64 or c_min < 0:
        raise FrameError(f"row_step={c_step}, run={c_run} or min_anchors={c_min} out of range")
    r = np.ascontiguousarray(rows, dtype=np.int64).reshape(-1)
    if len(r) > 4096:
        raise FrameError(f"at most 4096 anchor runs, not {len(r)}")
    if len(r) and (r.min() < y or r.max() >= y + h):
        raise FrameError(f"anchor rows must lie in [{y}, {y + h})")
    if len(r) > 1 and np.diff(np.sort(r)).min() < c_run:
        raise FrameError(f"anchor runs of {c_run} rows overlap")
    cdef int32_t c_runs = len(r) if max_runs is None else min(operator.index(max_runs), len(r))
    out = np.empty((max(c_max, 1), 3), np.int32)
    if w < c_k or not len(r) or c_max == 0 or c_runs <= 0:
        return out[:0].copy()
    starts = r.astype(np.int32)
    # Room for every anchor the kernel may insert: the productive runs' (at
    # most every column of their rows), and fewer than min_anchors for each
    # run tried that was not productive; never more than every column of
    # every row tried. Past MAX_ANCHOR_SLOTS / 2 (only absurd requests) the
    # kernel drops anchors, which costs votes, not memory.
    cdef int64_t cols = max(w - c_k + 1, 1)
    cdef int64_t most = min(<int64_t>c_runs * c_run * cols + <int64_t>len(r) * max(c_min - 1, 0),
                            <int64_t>len(r) * c_run * cols)
    cdef int32_t cap = 16
    while cap < 2 * most and cap < MAX_ANCHOR_SLOTS:
        cap *= 2
    t = SegmentTables() if tables is None else tables
    cdef int32_t scap = _SHIFT_SLOTS
    cdef const int32_t[::1] rv = starts
    cdef uint64_t[::1] iv
    cdef int32_t[::1] av
    cdef int64_t[::1] skv
    cdef int32_t[::1] svv
    cdef int32_t[:, ::1] ov = out
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef int32_t x0 = x, x1 = x + w, y1 = y + h, nstarts = len(r), n
    cdef int32_t sx0 = sx, sy0 = sy, sx1 = sx + sw, sy1 = sy + sh
    if not t.lock.acquire(False):
        raise ConcurrentUseError("these SegmentTables are in use by another call")
    try:
        t.reserve(cap)
        iv, av, skv, svv = t.index, t.anchor, t.skeys, t.svotes
        with nogil:
            n = sc_segment_shifts(pp, c_prev_row, pc, c_cur_row, x0, x1, y1, &rv[0], nstarts,
                                  c_run, c_runs, c_min, sx0, sy0, sx1, sy1, c_k, c_detail,
                                  c_step, &iv[0], &av[0], cap, &skv[0], &svv[0], scap,
                                  c_max, &ov[0, 0])
    finally:
        t.lock.release()
    return out[:n].copy()


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


def rects_tile_diff(prev, cur, rects, tile=16):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    r = np.ascontiguousarray(rects, dtype=np.int32).reshape(-1, 4)
    cdef const int32_t[:, ::1] rv = r
    cdef int32_t t = operator.index(tile)
    if not 16 <= t <= 256:
        raise FrameError(f"tile must be in [16, 256], not {t}")
    cdef Py_ssize_t n = rv.shape[0], i
    cdef long long cap = 0, x, y, w, h
    for i in range(n):
        x, y, w, h = rv[i, 0], rv[i, 1], rv[i, 2], rv[i, 3]
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > fw or y + h > fh:
            raise FrameError(f"rect {(x, y, w, h)} is empty or outside the {fw}x{fh} frame")
        cap += ((w + t - 1) // t) * ((h + t - 1) // t)
    out = np.empty((max(cap, 1), 4), np.int32)
    cdef int32_t[:, ::1] ov = out
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row, k = 0
    with nogil:
        for i in range(n):
            k += sc_rect_diff(pp, c_prev_row, pc, c_cur_row, rv[i, 0], rv[i, 1], rv[i, 2],
                              rv[i, 3], t, &ov[k, 0])
    return out[:k].copy()


def _small_int(v, str name):
    """``v`` as a Python int within int32, else FrameError (the C side is int32)."""
    try:
        i = operator.index(v)
    except TypeError:
        raise FrameError(f"{name} must be an integer, not {type(v).__name__}") from None
    if not -MAX_DIM <= i <= MAX_DIM:
        raise FrameError(f"{name} {i} is out of range")
    return i


def _int32_array(a, str name):
    """``a`` as a contiguous int32 array: FrameError unless it holds integers
    within int32 (a cast would wrap them)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu" and arr.size:
        raise FrameError(f"{name} must hold integers, not {arr.dtype}")
    if arr.size and (int(arr.min()) < -MAX_DIM or int(arr.max()) > MAX_DIM):
        raise FrameError(f"{name} holds values out of range")
    return np.ascontiguousarray(arr, dtype=np.int32)


def scroll_diff(prev, cur, rows, cols, dy, *, min_run=1, tile=64):
    fh, fw, prev_row, cur_row = frame_pair(prev, cur)
    cdef int32_t t = _small_int(tile, "tile")
    if not 16 <= t <= 256:
        raise FrameError(f"tile must be in [16, 256], not {t}")
    y0, y1 = (operator.index(v) for v in rows)
    x0, x1 = (operator.index(v) for v in cols)
    if not (0 <= y0 < y1 <= fh and y0 % t == 0 and (y1 % t == 0 or y1 == fh)):
        raise FrameError(f"rows {(y0, y1)} are not whole tile rows of the {fw}x{fh} frame")
    if not 0 <= x0 < x1 <= fw:
        raise FrameError(f"columns {(x0, x1)} are empty or outside the {fw}x{fh} frame")
    cdef int32_t c_dy = _small_int(dy, "dy"), c_min = _small_int(min_run, "min_run")
    if not 1 <= c_min <= MAX_DIM:
        raise FrameError(f"min_run must be >= 1, not {c_min}")
    moved = np.empty(y1 - y0, np.uint8)
    starts = np.empty(y1 - y0, np.int32)
    ends = np.empty(y1 - y0, np.int32)
    cdef Py_ssize_t tiles_x = (fw + t - 1) // t, tiles_y = (y1 - y0 + t - 1) // t
    out = np.empty((tiles_x * tiles_y, 4), np.int32)
    bounds = np.empty(4 * tiles_x, np.int32)
    cdef uint8_t[::1] mv = moved
    cdef int32_t[::1] sv = starts
    cdef int32_t[::1] ev = ends
    cdef int32_t[:, ::1] ov = out
    cdef int32_t[::1] bv = bounds
    cdef const uint8_t *pp = _rptr(prev)
    cdef const uint8_t *pc = _rptr(cur)
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row, n
    cdef int32_t cw = fw, ch = fh, cy0 = y0, cy1 = y1, cx0 = x0, cx1 = x1
    with nogil:
        n = sc_scroll_diff(pp, c_prev_row, pc, c_cur_row, cw, ch, cy0, cy1, cx0, cx1, c_dy,
                           c_min, &mv[0], &sv[0], &ev[0], t, &bv[0], &ov[0, 0])
    return moved, starts, ends, out[:n].copy()


# -- bookkeeping helpers of the motion stage (small inputs, called every frame:
#    Python or numpy would spend more on overheads than on the work) -----------

def copy_runs(moved, starts, ends, tile):
    m = np.ascontiguousarray(moved, dtype=np.uint8)
    s_arr = _int32_array(starts, "starts")
    e_arr = _int32_array(ends, "ends")
    cdef Py_ssize_t n = m.shape[0], r, a = -1, first = -1, last = -1
    if m.ndim != 1 or s_arr.shape != (n,) or e_arr.shape != (n,):
        raise FrameError("moved, starts and ends must be 1-D arrays of one length")
    cdef int32_t t = _small_int(tile, "tile")
    if t < 1:
        raise FrameError(f"tile must be positive, not {t}")
    cdef const uint8_t[::1] mv = m
    cdef const int32_t[::1] sv = s_arr
    cdef const int32_t[::1] ev = e_arr
    has = np.zeros(n // t + 1, np.uint8)
    cdef uint8_t[::1] hv = has
    for r in range(n):
        if mv[r] == 1:
            hv[r // t] = 1
    out = []
    cdef bint join
    for r in range(n + 1):
        join = r < n and (mv[r] == 1 or (mv[r] == 2 and hv[r // t]))
        if a >= 0 and (not join or sv[r] != sv[a] or ev[r] != ev[a]):
            if first >= 0:  # the run, cut to its changed rows
                out.append((first, last + 1, sv[a], ev[a]))
            a = -1
        if join:
            if a < 0:
                a, first = r, -1
            if mv[r] == 1:
                if first < 0:
                    first = r
                last = r
    return out


def runs_to_boxes(starts, ends, y0, min_run, min_area, double keep):
    s_arr = np.ascontiguousarray(starts, dtype=np.int32)
    e_arr = np.ascontiguousarray(ends, dtype=np.int32)
    if s_arr.ndim not in (1, 2) or s_arr.shape != e_arr.shape:
        raise FrameError(f"starts and ends must be 1-D or 2-D of one shape, not {s_arr.shape}, "
                         f"{e_arr.shape}")
    if s_arr.ndim == 1:
        s_arr, e_arr = s_arr.reshape(-1, 1), e_arr.reshape(-1, 1)
    if not 1 <= s_arr.shape[1] <= SC_MAX_ROW_RUNS:
        raise FrameError(f"at most {SC_MAX_ROW_RUNS} runs a row, not {s_arr.shape[1]}")
    cdef const int32_t[:, ::1] sv = s_arr
    cdef const int32_t[:, ::1] ev = e_arr
    cdef Py_ssize_t n = sv.shape[0], most = sv.shape[1], b0 = 0, b1, k, j, m, opened
    cdef long long cy0 = operator.index(y0), c_min = operator.index(min_run)
    cdef long long c_area = operator.index(min_area)
    cdef long long s, e, lo, hi, wide
    # Open boxes, left to right (disjoint columns): x0, x1, first row, end row.
    cdef long long ox0[SC_MAX_ROW_RUNS]
    cdef long long ox1[SC_MAX_ROW_RUNS]
    cdef Py_ssize_t oc0[SC_MAX_ROW_RUNS]
    cdef Py_ssize_t oc1[SC_MAX_ROW_RUNS]
    cdef long long nx0[SC_MAX_ROW_RUNS]
    cdef long long nx1[SC_MAX_ROW_RUNS]
    cdef Py_ssize_t nc0[SC_MAX_ROW_RUNS]
    cdef bint used[SC_MAX_ROW_RUNS]
    cdef Py_ssize_t nopen = 0
    out = []
    while True:
        b1 = b0 + 1
        # Rows with the same runs as row b0 form one block.
        while b1 < n:
            for k in range(most):
                if sv[b1, k] != sv[b0, k] or ev[b1, k] != ev[b0, k]:
                    break
            else:
                b1 += 1
                continue
            break
        for j in range(nopen):
            used[j] = False
        m = 0
        if b0 < n:
            for k in range(most):
                s, e = sv[b0, k], ev[b0, k]
                if e - s < c_min:
                    continue
                nx0[m], nx1[m], nc0[m] = s, e, b0
                # Join the open box this run keeps: a narrow run must not cut a
                # wide box short (boxes are disjoint, so at most one qualifies).
                for j in range(nopen):
                    if used[j]:
                        continue
                    lo = ox0[j] if ox0[j] > s else s
                    hi = ox1[j] if ox1[j] < e else e
                    wide = ox1[j] - ox0[j] if ox1[j] - ox0[j] > e - s else e - s
                    if <double>(hi - lo) >= max(<double>c_min, keep * <double>wide):
                        used[j] = True
                        nx0[m], nx1[m], nc0[m] = lo, hi, oc0[j]
                        break
                m += 1
        # Boxes no run of this block continues are done.
        for j in range(nopen):
            if not used[j]:
                wide, lo = ox1[j] - ox0[j], oc1[j] - oc0[j]
                if wide >= c_min and wide * lo >= c_area:
                    out.append((ox0[j], cy0 + oc0[j], wide, lo))
        if b0 >= n:
            return out
        for j in range(m):
            ox0[j], ox1[j], oc0[j], oc1[j] = nx0[j], nx1[j], nc0[j], b1
        nopen = m
        b0 = b1


cdef Py_ssize_t _find(Py_ssize_t *parent, Py_ssize_t i) noexcept nogil:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


cdef Py_ssize_t _label(const long long *b, Py_ssize_t n, long long gap, Py_ssize_t *label,
                       Py_ssize_t *todo) except -1:
    """Connected components of n boxes (x0, y0, x1, y1) closer than ``gap``:
    label[i] is the component of box i, components numbered by their first box.

    Candidate neighbours come from a uniform grid (each box listed in the cells
    it covers, each looks in the cells within ``gap`` of it) and join by
    union-find: the work is the cells the boxes cover plus the pairs that
    share a cell, not n squared. ``todo`` (n entries) is scratch."""
    if n == 0:
        return 0
    cdef Py_ssize_t i, j, k, t, cx, cy, qx0, qx1, qy0, qy1, a, r1, r2, comps = 0
    cdef long long x0 = b[0], y0 = b[1], x1 = b[2], y1 = b[3], cell, span
    for i in range(n):
        x0 = min(x0, b[4 * i])
        y0 = min(y0, b[4 * i + 1])
        x1 = max(x1, b[4 * i + 2])
        y1 = max(y1, b[4 * i + 3])
    # Cells at least as large as the gap (neighbours are in adjacent cells)
    # and at most 256 a side (a grid far larger than the boxes costs its size).
    span = max(x1 - x0, y1 - y0, 1)
    cell = max(64, gap + 1, (span + 255) // 256)
    cdef Py_ssize_t gw = <Py_ssize_t>((x1 - x0) // cell + 1), gh = <Py_ssize_t>((y1 - y0) // cell + 1)
    cdef Py_ssize_t *start = <Py_ssize_t *>PyMem_Malloc((gw * gh + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t *parent = todo
    cdef Py_ssize_t *items = NULL
    cdef Py_ssize_t total = 0
    if start == NULL:
        raise MemoryError()
    try:
        for k in range(gw * gh + 1):
            start[k] = 0
        # Cells of box i: the pixels [x0, x1 - 1] (a box of no width: its x0).
        for t in range(2):
            for i in range(n):
                qx0 = (b[4 * i] - x0) // cell
                qx1 = (max(b[4 * i + 2] - 1, b[4 * i]) - x0) // cell
                qy0 = (b[4 * i + 1] - y0) // cell
                qy1 = (max(b[4 * i + 3] - 1, b[4 * i + 1]) - y0) // cell
                for cy in range(qy0, qy1 + 1):
                    for cx in range(qx0, qx1 + 1):
                        if t == 0:
                            start[cy * gw + cx + 1] += 1
                        else:
                            items[start[cy * gw + cx]] = i
                            start[cy * gw + cx] += 1
            if t == 0:
                for k in range(gw * gh):
                    start[k + 1] += start[k]
                total = start[gw * gh]
                items = <Py_ssize_t *>PyMem_Malloc((total + 1) * sizeof(Py_ssize_t))
                if items == NULL:
                    raise MemoryError()
            else:
                # The fill advanced each cell's start to the next cell's: shift back.
                for k in range(gw * gh, 0, -1):
                    start[k] = start[k - 1]
                start[0] = 0
        for i in range(n):
            parent[i] = i
        for i in range(n):
            # Boxes j within the gap: b[j].x1 >= b[i].x0 - gap and
            # b[j].x0 <= b[i].x1 + gap, so pixels [x0 - gap - 1, x1 + gap].
            qx0 = max(b[4 * i] - gap - 1 - x0, 0) // cell
            qx1 = min((b[4 * i + 2] + gap - x0) // cell, gw - 1)
            qy0 = max(b[4 * i + 1] - gap - 1 - y0, 0) // cell
            qy1 = min((b[4 * i + 3] + gap - y0) // cell, gh - 1)
            for cy in range(qy0, qy1 + 1):
                for cx in range(qx0, qx1 + 1):
                    for a in range(start[cy * gw + cx], start[cy * gw + cx + 1]):
                        j = items[a]
                        if j <= i:
                            continue
                        r1 = _find(parent, i)
                        r2 = _find(parent, j)
                        if (r1 != r2
                                and b[4 * i] - gap <= b[4 * j + 2] and b[4 * j] - gap <= b[4 * i + 2]
                                and b[4 * i + 1] - gap <= b[4 * j + 3]
                                and b[4 * j + 1] - gap <= b[4 * i + 3]):
                            parent[max(r1, r2)] = min(r1, r2)
        # Roots are each component's first box (unions keep the smaller index).
        for i in range(n):
            r1 = _find(parent, i)
            if r1 == i:
                label[i] = comps
                comps += 1
            else:
                label[i] = label[r1]
        return comps
    finally:
        PyMem_Free(start)
        PyMem_Free(items)


def group_boxes(rects, gap):
    cdef list rl = np.asarray(rects).reshape(-1, 4).tolist()
    cdef Py_ssize_t n = len(rl), i, k, nc, nm
    cdef long long c_gap = operator.index(gap)
    if n == 0:
        return []
    # One block: boxes, component boxes (4 each), labels (two sets), a stack.
    cdef long long *bv = <long long *>PyMem_Malloc(n * 8 * sizeof(long long))
    cdef Py_ssize_t *lab = <Py_ssize_t *>PyMem_Malloc(n * 3 * sizeof(Py_ssize_t))
    if bv == NULL or lab == NULL:
        PyMem_Free(bv)
        PyMem_Free(lab)
        raise MemoryError()
    cdef long long *bb = bv + 4 * n
    cdef Py_ssize_t *lab2 = lab + n
    cdef Py_ssize_t *todo = lab + 2 * n
    try:
        for i in range(n):
            x, y, w, h = rl[i]
            bv[4 * i] = x
            bv[4 * i + 1] = y
            bv[4 * i + 2] = x + w
            bv[4 * i + 3] = y + h
        nc = _label(bv, n, c_gap, lab, todo)
        while True:
            # The bounding box of each component (as x0, y0, x1, y1).
            for k in range(nc):
                bb[4 * k] = bb[4 * k + 1] = 1LL << 62
                bb[4 * k + 2] = bb[4 * k + 3] = -(1LL << 62)
            for i in range(n):
                k = lab[i]
                bb[4 * k] = min(bb[4 * k], bv[4 * i])
                bb[4 * k + 1] = min(bb[4 * k + 1], bv[4 * i + 1])
                bb[4 * k + 2] = max(bb[4 * k + 2], bv[4 * i + 2])
                bb[4 * k + 3] = max(bb[4 * k + 3], bv[4 * i + 3])
            # Components whose boxes share a pixel are merged until none do.
            nm = _label(bb, nc, -1, lab2, todo)
            if nm == nc:
                break
            for i in range(n):
                lab[i] = lab2[lab[i]]
            nc = nm
        members = [[] for _ in range(nc)]
        for i in range(n):
            members[lab[i]].append(i)
        return [((bb[4 * k], bb[4 * k + 1], bb[4 * k + 2] - bb[4 * k],
                  bb[4 * k + 3] - bb[4 * k + 1]), members[k]) for k in range(nc)]
    finally:
        PyMem_Free(bv)
        PyMem_Free(lab)


def strip_shifts(votes, min_votes):
    v = np.ascontiguousarray(votes, dtype=np.int32)
    if v.ndim != 2:
        raise FrameError(f"votes must be a (strips, shifts) array, not {v.shape}")
    cdef const int32_t[:, ::1] vv = v
    cdef Py_ssize_t n = vv.shape[0], m = vv.shape[1], s, d, t1, t2
    cdef long long voters, c_min = operator.index(min_votes), need
    out = []
    for s in range(n):
        voters = 0
        t1 = 0
        for d in range(m):
            voters += vv[s, d]
            if vv[s, d] > vv[s, t1]:
                t1 = d
        if voters == 0 or m == 0:
            continue
        t2 = -1
        for d in range(m):
            if d != t1 and (t2 < 0 or vv[s, d] > vv[s, t2]):
                t2 = d
        need = max(c_min, voters // 4)
        if vv[s, t1] >= need:
            out.append((t1, vv[s, t1]))
        if t2 >= 0 and vv[s, t2] >= need:
            out.append((t2, vv[s, t2]))
    return out


def strip_hashes(frame, strips, y, h):
    fh, fw, stride = frame_layout(frame, "frame")
    cdef Py_ssize_t n = len(strips)
    cdef int32_t cy = operator.index(y), ch = operator.index(h)
    geo = np.empty((2, n), np.int32)
    cdef int32_t[:, ::1] gv = geo
    cdef Py_ssize_t i = 0
    for x0, x1 in strips:
        x, _, w, _ = _rect((x0, cy, operator.index(x1) - operator.index(x0), ch), fw, fh, "strip")
        gv[0, i] = x
        gv[1, i] = w
        i += 1
    out = np.empty((n, ch), np.uint64)
    if n == 0 or ch == 0:
        return out
    cdef uint64_t[:, ::1] ov = out
    cdef const uint8_t *p = _rptr(frame)
    cdef ptrdiff_t c_stride = stride
    with nogil:
        sc_strip_hashes(p, c_stride, &gv[0, 0], &gv[1, 0], <int32_t>n, cy, ch, &ov[0, 0])
    return out


def vertical_votes(hp, hc, min_rows, min_votes):
    a = np.ascontiguousarray(hp, dtype=np.uint64)
    b = np.ascontiguousarray(hc, dtype=np.uint64)
    if a.ndim != 2 or a.shape != b.shape:
        raise FrameError(f"hp and hc must be (strips, rows) arrays of one shape, "
                         f"not {a.shape}, {b.shape}")
    cdef Py_ssize_t n = a.shape[0], h = a.shape[1], s, r, k
    if h > MAX_DIM:
        raise FrameError(f"too many rows: {h}")
    cdef long long c_min_rows = operator.index(min_rows)
    changed = np.zeros((n, h), np.uint8)
    any_row = np.zeros(h, np.uint8)
    cdef const uint64_t[:, ::1] av = a
    cdef const uint64_t[:, ::1] bv = b
    cdef uint8_t[:, ::1] cv = changed
    cdef uint8_t[::1] rv = any_row
    cdef Py_ssize_t count, total = 0
    cdef bint voting = False
    for s in range(n):
        count = 0
        for r in range(h):
            if av[s, r] != bv[s, r]:
                cv[s, r] = 1
                rv[r] = 1
                count += 1
        if count < c_min_rows:
            # Too few changed rows for the strip to vote.
            for r in range(h):
                cv[s, r] = 0
        else:
            voting = True
    for r in range(h):
        total += rv[r]
    rows = np.empty(total, np.intp)
    cdef Py_ssize_t[::1] ov = rows
    k = 0
    for r in range(h):
        if rv[r]:
            ov[k] = r
            k += 1
    if not voting or h == 0:
        return rows, []
    # row_votes, on the arrays at hand.
    votes = np.zeros((n, 2 * h), np.int32)
    cdef int32_t cap = 16
    while cap < 2 * h:
        cap *= 2
    keys = np.empty(cap, np.uint64)
    slots = np.empty(cap, np.int32)
    cdef uint64_t[::1] kv = keys
    cdef int32_t[::1] sv = slots
    cdef int32_t[:, ::1] vv = votes
    with nogil:
        sc_row_votes(&av[0, 0], &bv[0, 0], &cv[0, 0], <int32_t>n, <int32_t>h, &kv[0], &sv[0],
                     cap, &vv[0, 0])
    return rows, strip_shifts(votes, min_votes)


def gather_rows(hashes, valid, cols, y0, y1):
    cdef uint64_t[:, ::1] hv = hashes
    cdef const uint8_t[:, ::1] vv = valid.view(np.uint8)
    cdef Py_ssize_t a = operator.index(y0), b = operator.index(y1), i, r, k, n = len(cols)
    if not 0 <= a <= b <= hv.shape[1] or vv.shape[0] != hv.shape[0] or vv.shape[1] != hv.shape[1]:
        raise FrameError(f"rows [{a}, {b}) outside the cache or mismatched arrays")
    ks = [operator.index(c) for c in cols]
    for k in ks:
        if not 0 <= k < hv.shape[0]:
            raise FrameError(f"column {k} outside the cache")
    for i in range(n):
        k = ks[i]
        for r in range(a, b):
            if not vv[k, r]:
                return None
    out = np.empty((n, b - a), np.uint64)
    if n == 0 or b == a:
        return out
    cdef uint64_t[:, ::1] ov = out
    for i in range(n):
        k = ks[i]
        for r in range(a, b):
            ov[i, r - a] = hv[k, r]
    return out


def clear_rects(valid, rects, int strip):
    cdef uint8_t[:, ::1] vv = valid.view(np.uint8)
    r = np.ascontiguousarray(rects, dtype=np.int64).reshape(-1, 4)
    cdef const long long[:, ::1] rv = r
    cdef Py_ssize_t i, k, y, k0, k1, y0, y1
    cdef Py_ssize_t cols = vv.shape[0], height = vv.shape[1]
    if strip < 1:
        raise FrameError(f"strip must be positive, not {strip}")
    for i in range(rv.shape[0]):
        if rv[i, 2] <= 0 or rv[i, 3] <= 0:
            continue
        k0 = max(rv[i, 0] // strip, 0)
        k1 = min((rv[i, 0] + rv[i, 2] - 1) // strip + 1, cols)
        y0 = max(rv[i, 1], 0)
        y1 = min(rv[i, 1] + rv[i, 3], height)
        for k in range(k0, k1):
            for y in range(y0, y1):
                vv[k, y] = 0


def scatter_rows(hashes, valid, cols, y0, rows):
    cdef uint64_t[:, ::1] hv = hashes
    cdef uint8_t[:, ::1] vv = valid.view(np.uint8)
    src = np.ascontiguousarray(rows, dtype=np.uint64)
    cdef Py_ssize_t n = len(cols), i, r, k, a = operator.index(y0)
    if src.ndim != 2 or src.shape[0] != n:
        raise FrameError(f"rows must be a ({n}, h) array, not {src.shape}")
    cdef const uint64_t[:, ::1] sv = src
    cdef Py_ssize_t h = sv.shape[1]
    if not 0 <= a <= a + h <= hv.shape[1] or vv.shape[0] != hv.shape[0] or vv.shape[1] != hv.shape[1]:
        raise FrameError(f"rows [{a}, {a + h}) outside the cache or mismatched arrays")
    ks = [operator.index(c) for c in cols]
    for k in ks:
        if not 0 <= k < hv.shape[0]:
            raise FrameError(f"column {k} outside the cache")
    for i in range(n):
        k = ks[i]
        for r in range(h):
            hv[k, a + r] = sv[i, r]
            vv[k, a + r] = 1


def refresh_rows(ref, hashes, valid, strips, cols, y0, y1):
    fh, fw, stride = frame_layout(ref, "ref")
    cdef uint64_t[:, ::1] hv = hashes
    cdef uint8_t[:, ::1] vv = valid.view(np.uint8)
    cdef Py_ssize_t n = len(cols), i, r, k, a, b, y_lo = operator.index(y0), y_hi = operator.index(y1)
    if len(strips) != n:
        raise FrameError("strips and cols differ in length")
    if not 0 <= y_lo <= y_hi <= hv.shape[1] or vv.shape[0] != hv.shape[0] or vv.shape[1] != hv.shape[1]:
        raise FrameError(f"rows [{y_lo}, {y_hi}) outside the cache or mismatched arrays")
    cdef const uint8_t *p = _rptr(ref)
    cdef ptrdiff_t c_stride = stride
    cdef int32_t cx, cw
    cdef long long hashed = 0
    for i in range(n):
        k = operator.index(cols[i])
        if not 0 <= k < hv.shape[0]:
            raise FrameError(f"column {k} outside the cache")
        a = y_lo
        while a < y_hi and vv[k, a]:
            a += 1
        if a == y_hi:
            continue
        b = y_hi
        while vv[k, b - 1]:  # stops at b = a + 1 at the latest: row a is missing
            b -= 1
        # One kernel run over the span of missing rows [a, b).
        x, _, w, _ = _rect((strips[i][0], a, strips[i][1] - strips[i][0], b - a), fw, fh, "strip")
        cx, cw = x, w
        with nogil:
            sc_row_hashes(p, c_stride, cx, cw, <int32_t>a, <int32_t>(b - a), &hv[k, a])
            for r in range(a, b):
                vv[k, r] = 1
        hashed += <long long>cw * (b - a)
    return hashed
