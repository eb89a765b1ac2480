# distutils: sources = csrc/tilediff.c csrc/damage_merge.c
# distutils: include_dirs = csrc
# distutils: depends = csrc/tilediff.h csrc/damage_merge.h
"""Tile diff, rect merging and rect copy over BGRX frames (Cython over csrc/).

Every entry point validates shapes, dtypes and strides in Python first and
raises :class:`~screencodec.errors.FrameError`; only then are raw pointers
taken and the C kernels run with the GIL released. See ``_tiles.pyi`` for the
documented signatures.
"""

cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp

import operator

import numpy as np

from screencodec.errors import FrameError
from screencodec.frames import MAX_KERNEL_DIM, frame_layout, frame_pair


cdef extern from "tilediff.h" nogil:
    int sc_tilediff_init()
    int sc_tilediff_set_impl(int impl)
    int sc_tilediff_get_impl()
    size_t sc_tile_diff_scratch_size(int32_t width, int32_t tile)
    ptrdiff_t sc_tile_diff(const uint8_t *prev, ptrdiff_t prev_stride,
                           const uint8_t *cur, ptrdiff_t cur_stride,
                           int32_t width, int32_t height, int32_t tile,
                           void *scratch, int32_t *out)
    int sc_frames_differ(const uint8_t *prev, ptrdiff_t prev_stride,
                         const uint8_t *cur, ptrdiff_t cur_stride,
                         int32_t width, int32_t height)
    void sc_copy_rect_opaque(uint8_t *dst, ptrdiff_t dst_stride,
                             const uint8_t *src, ptrdiff_t src_stride,
                             int32_t x, int32_t y, int32_t w, int32_t h)

cdef extern from "damage_merge.h" nogil:
    ctypedef struct sc_merge_rect:
        int32_t x0, y0, x1, y1, used
    ptrdiff_t sc_merge_rects(const int32_t *boxes, ptrdiff_t n, int64_t rect_cost,
                             sc_merge_rect *work, int32_t *out)


MIN_TILE = 16
MAX_TILE = 256
# 1024 pixel-equivalents (a 32x32 area) per rect: each rect pays a wire header,
# a codec call (zstd frame / H.264 slice setup, a few microseconds, i.e. about the
# time to encode ~1000 screen pixels) and a separate blit in the viewer. Xpra uses
# the same figure; merging across a gap narrower than ~1000 px of area is cheaper.
DEFAULT_RECT_COST = 1024
# Coordinates are int32 and the C loops step by whole tiles: stay far from 2**31.
MAX_DIM = MAX_KERNEL_DIM

_IMPLS = {"generic": 0, "avx2": 1}

sc_tilediff_init()


def tile_diff(prev, cur, tile=64):
    h, w, prev_row, cur_row = frame_pair(prev, cur, allow_empty=True)
    try:
        t = operator.index(tile)
    except TypeError:
        raise FrameError(f"tile must be an integer, not {type(tile).__name__}") from None
    if not MIN_TILE <= t <= MAX_TILE:
        raise FrameError(f"tile must be in [{MIN_TILE}, {MAX_TILE}], not {t}")
    if h == 0 or w == 0:
        return np.empty((0, 4), np.int32)

    cdef int32_t c_w = w, c_h = h, c_tile = t
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    cdef ptrdiff_t tiles_x = (c_w + c_tile - 1) // c_tile
    cdef ptrdiff_t tiles_y = (c_h + c_tile - 1) // c_tile
    # The views hold both buffers exported (so not resizable) until we return.
    cdef const uint8_t[:, :, :] prev_view = prev
    cdef const uint8_t[:, :, :] cur_view = cur
    cdef const uint8_t *p_prev = &prev_view[0, 0, 0]
    cdef const uint8_t *p_cur = &cur_view[0, 0, 0]
    out = np.empty((tiles_x * tiles_y, 4), np.int32)
    cdef int32_t[:, ::1] out_view = out
    cdef ptrdiff_t n
    cdef void *scratch = malloc(sc_tile_diff_scratch_size(c_w, c_tile))
    if scratch == NULL:
        raise MemoryError()
    try:
        with nogil:
            n = sc_tile_diff(p_prev, c_prev_row, p_cur, c_cur_row, c_w, c_h, c_tile,
                             scratch, &out_view[0, 0])
    finally:
        free(scratch)
    # Copy so a few rows do not pin a buffer sized for every tile.
    return out if n == tiles_x * tiles_y else out[:n].copy()


def any_change(prev, cur):
    h, w, prev_row, cur_row = frame_pair(prev, cur, contiguous_prev=True, allow_empty=True)
    if h == 0 or w == 0:
        return False
    cdef int32_t c_w = w, c_h = h
    cdef ptrdiff_t c_prev_row = prev_row, c_cur_row = cur_row
    # The views hold both buffers exported (so not resizable) until we return.
    cdef const uint8_t[:, :, :] prev_view = prev
    cdef const uint8_t[:, :, :] cur_view = cur
    cdef const uint8_t *p_prev = &prev_view[0, 0, 0]
    cdef const uint8_t *p_cur = &cur_view[0, 0, 0]
    cdef int r
    with nogil:
        r = sc_frames_differ(p_prev, c_prev_row, p_cur, c_cur_row, c_w, c_h)
    return r != 0


def _rect_array(rects, str name):
    """int64 (N, 4) copy of rects, or FrameError."""
    arr = np.asarray(rects)
    if arr.size == 0:
        return np.empty((0, 4), np.int64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.dtype.kind not in "iu":
        raise FrameError(f"{name} must be an (N, 4) integer array of (x, y, w, h), "
                         f"not {arr.dtype} {arr.shape}")
    return arr.astype(np.int64)


def _check_inside(r, w, h, str name, bint allow_empty):
    x, y, rw, rh = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
    small = (rw < 0) | (rh < 0) if allow_empty else (rw <= 0) | (rh <= 0)
    bad = small | (x < 0) | (y < 0) | (x + rw > w) | (y + rh > h)
    if bad.any():
        i = int(np.argmax(bad))
        raise FrameError(f"{name}[{i}] = {r[i].tolist()} is empty or outside the {w}x{h} frame")


@cython.boundscheck(False)
@cython.wraparound(False)
cdef ptrdiff_t _first_bad(const int32_t[:, ::1] r, int64_t w, int64_t h, bint allow_empty) noexcept:
    """Index of the first rect that is empty (negative with allow_empty) or
    outside the w x h frame, or -1."""
    cdef ptrdiff_t i
    cdef int64_t x, y, rw, rh
    for i in range(r.shape[0]):
        x, y, rw, rh = r[i, 0], r[i, 1], r[i, 2], r[i, 3]
        if rw < 0 or rh < 0 or (not allow_empty and (rw == 0 or rh == 0)):
            return i
        if x < 0 or y < 0 or x + rw > w or y + rh > h:
            return i
    return -1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef bint _raster_sorted(const int32_t[:, ::1] r) noexcept:
    """Whether the rects come by y, then x (what a stable lexsort would leave)."""
    cdef ptrdiff_t i
    for i in range(1, r.shape[0]):
        if r[i, 1] < r[i - 1, 1] or (r[i, 1] == r[i - 1, 1] and r[i, 0] < r[i - 1, 0]):
            return False
    return True


def _checked_rects(rects, str name, w, h, bint allow_empty):
    """rects as a C-contiguous (N, 4) int32 array (the input itself when it is
    one: callers only read it), each inside the w x h frame, or FrameError.
    The encoder's rects are such arrays: checked in one loop, not in a dozen
    NumPy passes over a few dozen rows."""
    if (isinstance(rects, np.ndarray) and rects.dtype == np.int32 and rects.ndim == 2
            and rects.shape[1] == 4 and rects.flags.c_contiguous):
        if rects.shape[0] and _first_bad(rects, w, h, allow_empty) >= 0:
            _check_inside(rects.astype(np.int64), w, h, name, allow_empty)
        return rects
    r = _rect_array(rects, name)
    _check_inside(r, w, h, name, allow_empty)
    return np.ascontiguousarray(r, dtype=np.int32)


def merge_rects(boxes, width, height, *, rect_cost=DEFAULT_RECT_COST):
    try:
        cost, w, h = operator.index(rect_cost), operator.index(width), operator.index(height)
    except TypeError:
        raise FrameError("width, height and rect_cost must be integers") from None
    if cost > 2**40:
        raise FrameError(f"rect_cost {cost} is absurdly large")
    cdef int64_t c_cost = cost
    if c_cost < 0 or w < 0 or h < 0:
        raise FrameError("width, height and rect_cost must be >= 0")
    srt = _checked_rects(boxes, "boxes", w, h, False)
    cdef ptrdiff_t n = srt.shape[0]
    if n == 0:
        return np.empty((0, 4), np.int32)
    # tile_diff's boxes come sorted (a stable sort would leave them as they are).
    if not _raster_sorted(srt):
        srt = np.ascontiguousarray(srt[np.lexsort((srt[:, 0], srt[:, 1]))])
    cdef const int32_t[:, ::1] in_view = srt
    out = np.empty((n, 4), np.int32)
    cdef int32_t[:, ::1] out_view = out
    cdef ptrdiff_t m, i
    cdef sc_merge_rect *work = <sc_merge_rect *>malloc(3 * n * sizeof(sc_merge_rect))
    if work == NULL:
        raise MemoryError()
    try:
        with nogil:
            m = sc_merge_rects(&in_view[0, 0], n, c_cost, work, &out_view[0, 0])
    finally:
        free(work)

    cdef int64_t merged_cost = m * c_cost
    for i in range(m):
        merged_cost += <int64_t>out_view[i, 2] * out_view[i, 3]
    if c_cost + <int64_t>w * h < merged_cost:
        return np.array([[0, 0, w, h]], np.int32)
    res = out[:m] if m == n else out[:m].copy()
    if _raster_sorted(res):
        return res
    return res[np.lexsort((res[:, 0], res[:, 1]))]


def copy_rects(dst, src, rects):
    dh, dw, dst_row = frame_layout(dst, "dst", contiguous=True, allow_empty=True)
    sh, sw, src_row = frame_layout(src, "src", allow_empty=True)
    if not dst.flags.writeable:
        raise FrameError("dst is read-only")
    r32 = _checked_rects(rects, "rects", min(dw, sw), min(dh, sh), True)
    cdef const int32_t[:, ::1] rv = r32
    cdef ptrdiff_t i, n = rv.shape[0]
    if n == 0 or min(dw, sw) == 0 or min(dh, sh) == 0:
        return  # nothing to copy (an empty frame takes only empty rects)
    cdef uint8_t[:, :, ::1] dst_view = dst
    cdef const uint8_t[:, :, :] src_view = src
    cdef uint8_t *p_dst = &dst_view[0, 0, 0]
    cdef const uint8_t *p_src = &src_view[0, 0, 0]
    cdef ptrdiff_t c_dst_row = dst_row, c_src_row = src_row
    with nogil:
        for i in range(n):
            if rv[i, 2] > 0 and rv[i, 3] > 0:
                sc_copy_rect_opaque(p_dst, c_dst_row, p_src, c_src_row,
                                    rv[i, 0], rv[i, 1], rv[i, 2], rv[i, 3])


def _as_bytes(buf, str name):
    if isinstance(buf, np.ndarray):
        if not buf.flags.c_contiguous:
            raise FrameError(f"{name} must be C-contiguous")
        return buf.reshape(-1).view(np.uint8)
    try:
        mv = memoryview(buf)
    except TypeError:
        raise FrameError(f"{name} does not support the buffer protocol") from None
    if not mv.c_contiguous:
        raise FrameError(f"{name} must be C-contiguous")
    return np.frombuffer(mv, np.uint8) if mv.nbytes else np.empty(0, np.uint8)


def memcmp_equal(a, b):
    va, vb = _as_bytes(a, "a"), _as_bytes(b, "b")
    if va.nbytes != vb.nbytes:
        raise FrameError(f"buffer sizes differ: {va.nbytes} and {vb.nbytes} bytes")
    if va.nbytes == 0:
        return True
    cdef const uint8_t[::1] ca = va
    cdef const uint8_t[::1] cb = vb
    cdef size_t size = va.nbytes
    cdef int r
    with nogil:
        r = memcmp(&ca[0], &cb[0], size)
    return r == 0


def _set_impl(name):
    """Force the kernel implementation ("avx2" or "generic"); returns the one in use."""
    if name not in _IMPLS:
        raise ValueError(f"unknown implementation {name!r}")
    got = sc_tilediff_set_impl(_IMPLS[name])
    return "avx2" if got == 1 else "generic"


def _impl():
    """The kernel implementation in use: "avx2" or "generic"."""
    return "avx2" if sc_tilediff_get_impl() == 1 else "generic"
