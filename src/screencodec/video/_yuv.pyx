# distutils: sources = csrc/yuv.c
# distutils: include_dirs = csrc
"""Cython glue for the colour conversion kernels (csrc/yuv.c).

Every size, stride and alignment is checked against the arrays given before a
kernel touches memory; the kernels run without the GIL. Planes are 2-D uint8
arrays whose rows may be padded (PyAV's planes are ``line_size`` wide), so a
plane of a decoded or to-be-encoded ``av.VideoFrame`` is converted in place.
"""

from libc.stdint cimport uint8_t, uintptr_t

from ..errors import FrameError

cdef extern from "yuv.h" nogil:
    void sc_bgrx_to_yuv444(const uint8_t *src, ptrdiff_t stride, int w, int h,
                           uint8_t *y, ptrdiff_t ys, uint8_t *u, ptrdiff_t us,
                           uint8_t *v, ptrdiff_t vs)
    void sc_bgrx_to_yuv420(const uint8_t *src, ptrdiff_t stride, int w, int h,
                           uint8_t *y, ptrdiff_t ys, uint8_t *u, ptrdiff_t us,
                           uint8_t *v, ptrdiff_t vs)
    void sc_yuv444_to_bgrx(const uint8_t *y, ptrdiff_t ys, const uint8_t *u, ptrdiff_t us,
                           const uint8_t *v, ptrdiff_t vs, int w, int h,
                           uint8_t *dst, ptrdiff_t stride)
    void sc_yuv420_to_bgrx(const uint8_t *y, ptrdiff_t ys, const uint8_t *u, ptrdiff_t us,
                           const uint8_t *v, ptrdiff_t vs, int w, int h,
                           uint8_t *dst, ptrdiff_t stride)


cdef int _check(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t chans, Py_ssize_t s0,
                Py_ssize_t s1, Py_ssize_t s2, int x, int y, int w, int h,
                bint chroma420) except -1:
    if chans != 4 or s1 != 4 or s2 != 1:
        raise FrameError("framebuffer must be (H, W, 4) uint8 with contiguous pixels")
    # The kernels read and write whole 32-bit pixels.
    if s0 % 4:
        raise FrameError("framebuffer rows must be 4-byte aligned")
    # In Py_ssize_t: x + w in C int wraps past 2**31 and would pass.
    if x < 0 or y < 0 or w <= 0 or h <= 0 or <Py_ssize_t>x + w > cols or <Py_ssize_t>y + h > rows:
        raise FrameError(f"rect {x},{y} {w}x{h} outside the {cols}x{rows} frame")
    if chroma420 and (w % 2 or h % 2):
        raise FrameError(f"4:2:0 needs even dimensions, not {w}x{h}")
    return 0


cdef int _check_plane(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s1, int w, int h,
                      str name) except -1:
    if s1 != 1:
        raise FrameError(f"{name} plane must have contiguous samples")
    if rows < h or cols < w:
        raise FrameError(f"{name} plane {cols}x{rows} is smaller than {w}x{h}")
    return 0


def bgrx_to_yuv(const uint8_t[:, :, :] fb, int x, int y, int w, int h,
                uint8_t[:, :] yp, uint8_t[:, :] up, uint8_t[:, :] vp, bint chroma420=False):
    """Convert the w x h rect of ``fb`` at (x, y) into the Y, U, V planes
    (U and V are w/2 x h/2 with ``chroma420``)."""
    _check(fb.shape[0], fb.shape[1], fb.shape[2], fb.strides[0], fb.strides[1], fb.strides[2],
           x, y, w, h, chroma420)
    cdef int cw = w // 2 if chroma420 else w
    cdef int ch = h // 2 if chroma420 else h
    _check_plane(yp.shape[0], yp.shape[1], yp.strides[1], w, h, "Y")
    _check_plane(up.shape[0], up.shape[1], up.strides[1], cw, ch, "U")
    _check_plane(vp.shape[0], vp.shape[1], vp.strides[1], cw, ch, "V")
    cdef const uint8_t *src = &fb[y, x, 0]
    if <uintptr_t>src % 4:
        raise FrameError("framebuffer pixels must be 4-byte aligned")
    cdef ptrdiff_t stride = fb.strides[0]
    cdef uint8_t *py = &yp[0, 0]
    cdef uint8_t *pu = &up[0, 0]
    cdef uint8_t *pv = &vp[0, 0]
    cdef ptrdiff_t ys = yp.strides[0], us = up.strides[0], vs = vp.strides[0]
    with nogil:
        if chroma420:
            sc_bgrx_to_yuv420(src, stride, w, h, py, ys, pu, us, pv, vs)
        else:
            sc_bgrx_to_yuv444(src, stride, w, h, py, ys, pu, us, pv, vs)


def yuv_to_bgrx(const uint8_t[:, :] yp, const uint8_t[:, :] up, const uint8_t[:, :] vp,
                uint8_t[:, :, :] fb, int x, int y, int w, int h, bint chroma420=False):
    """Convert w x h of the Y, U, V planes into the rect of ``fb`` at (x, y), X := 255."""
    _check(fb.shape[0], fb.shape[1], fb.shape[2], fb.strides[0], fb.strides[1], fb.strides[2],
           x, y, w, h, chroma420)
    cdef int cw = w // 2 if chroma420 else w
    cdef int ch = h // 2 if chroma420 else h
    _check_plane(yp.shape[0], yp.shape[1], yp.strides[1], w, h, "Y")
    _check_plane(up.shape[0], up.shape[1], up.strides[1], cw, ch, "U")
    _check_plane(vp.shape[0], vp.shape[1], vp.strides[1], cw, ch, "V")
    cdef uint8_t *dst = &fb[y, x, 0]
    if <uintptr_t>dst % 4:
        raise FrameError("framebuffer pixels must be 4-byte aligned")
    cdef ptrdiff_t stride = fb.strides[0]
    cdef const uint8_t *py = &yp[0, 0]
    cdef const uint8_t *pu = &up[0, 0]
    cdef const uint8_t *pv = &vp[0, 0]
    cdef ptrdiff_t ys = yp.strides[0], us = up.strides[0], vs = vp.strides[0]
    with nogil:
        if chroma420:
            sc_yuv420_to_bgrx(py, ys, pu, us, pv, vs, w, h, dst, stride)
        else:
            sc_yuv444_to_bgrx(py, ys, pu, us, pv, vs, w, h, dst, stride)
