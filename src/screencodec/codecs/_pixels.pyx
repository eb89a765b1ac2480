# distutils: sources = csrc/pixels.c
# distutils: include_dirs = csrc
"""Cython glue for the lossless pixel kernels (csrc/pixels.c).

Each function validates its rectangle and buffer sizes against the arrays it
is given before any C kernel touches memory; the kernels run without the GIL,
so the encoder's worker threads scale.
"""

from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memcpy, memset

from ..errors import DecodeError, FrameError

cdef uint32_t _ONE = 1

cdef extern from "pixels.h" nogil:
    size_t sc_index_row_bytes(int w, int bits)
    void sc_pack_filtered(const uint8_t *src, ptrdiff_t stride, int w, int h, int planar,
                          int delta, uint8_t *dst)
    void sc_unpack_filtered(const uint8_t *src, int w, int h, int planar, int delta,
                            uint8_t *dst, ptrdiff_t stride)
    int sc_pack_med(const uint8_t *src, ptrdiff_t stride, int w, int h, uint8_t *dst)
    void sc_unpack_med(const uint8_t *src, int w, int h, uint8_t *dst, ptrdiff_t stride)
    void sc_fill(uint8_t *dst, ptrdiff_t stride, int w, int h, uint32_t rgb)
    int sc_is_solid(const uint8_t *src, ptrdiff_t stride, int w, int h, uint32_t *rgb)
    int sc_palette_build(const uint8_t *src, ptrdiff_t stride, int w, int h, int max_colors,
                         uint32_t *palette, uint8_t *indices)
    int sc_palette_count(const uint8_t *src, ptrdiff_t stride, int w, int h, int max_colors,
                         uint32_t *first)
    void sc_pack_indices(const uint8_t *indices, int w, int h, int bits, uint8_t *packed)
    int sc_check_indices(const uint8_t *packed, int w, int h, int bits, int n)
    void sc_palette_apply(const uint8_t *packed, int w, int h, int bits, const uint32_t *palette,
                          uint8_t *dst, ptrdiff_t stride)


# The 4th byte of a pixel is padding: compare B, G, R only. A pixel read as a
# native uint32 has them in its low bytes on little-endian hosts and in its
# high bytes on big-endian ones.
cdef uint32_t _RGB_MASK = 0x00FFFFFF if (<const uint8_t *>&_ONE)[0] else 0xFFFFFF00


cdef int _check_rect(const uint8_t[:, :, :] fb, int x, int y, int w, int h) except -1:
    if fb.shape[2] != 4 or fb.strides[1] != 4 or fb.strides[2] != 1:
        raise FrameError("framebuffer must be (H, W, 4) uint8 with contiguous pixels")
    # In Py_ssize_t: x + w in C int wraps (-fwrapv) past 2**31 and would pass.
    if (x < 0 or y < 0 or w <= 0 or h <= 0
            or <Py_ssize_t>x + w > fb.shape[1] or <Py_ssize_t>y + h > fb.shape[0]):
        raise FrameError(f"rect {x},{y} {w}x{h} outside the {fb.shape[1]}x{fb.shape[0]} frame")
    return 0


def index_bits(int colours):
    """Bits per index for a palette of that many colours: 1, 2, 4 or 8."""
    if colours <= 2:
        return 1
    if colours <= 4:
        return 2
    if colours <= 16:
        return 4
    return 8


def index_size(int w, int h, int bits):
    """Bytes of a packed index image."""
    return sc_index_row_bytes(w, bits) * h


def pack_bgr(const uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """The rect's B, G, R bytes, row-major, as a new bytearray of w*h*3."""
    return pack_filtered(fb, x, y, w, h, False, False)


def pack_filtered(const uint8_t[:, :, :] fb, int x, int y, int w, int h, bint planar, bint delta):
    """The rect's B, G, R bytes (w*h*3), planar and/or up-delta filtered."""
    _check_rect(fb, x, y, w, h)
    out = bytearray(<size_t>w * h * 3)
    cdef uint8_t[::1] dst = out
    cdef const uint8_t *src = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    with nogil:
        sc_pack_filtered(src, stride, w, h, planar, delta, &dst[0])
    return out


def unpack_filtered(const uint8_t[::1] src, uint8_t[:, :, :] fb, int x, int y, int w, int h,
                    bint planar, bint delta):
    """Write w*h*3 filtered bytes (see pack_filtered) into the rect (X := 255)."""
    _check_rect(fb, x, y, w, h)
    if src.shape[0] != <Py_ssize_t>w * h * 3:
        raise DecodeError(f"pixel data: {src.shape[0]} bytes for a {w}x{h} rect")
    cdef uint8_t *dst = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    with nogil:
        sc_unpack_filtered(&src[0], w, h, planar, delta, dst, stride)


def pack_med(const uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """The rect's MED-filtered planes (ZSTD flags MED | PLANAR), w*h*3 bytes:
    green subtracted, then each plane's median-edge residuals (see pixels.h)."""
    _check_rect(fb, x, y, w, h)
    out = bytearray(<size_t>w * h * 3)
    cdef uint8_t[::1] dst = out
    cdef const uint8_t *src = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    cdef int err
    with nogil:
        err = sc_pack_med(src, stride, w, h, &dst[0])
    if err:
        raise MemoryError("MED filter: no memory for two rows")
    return out


def unpack_med(const uint8_t[::1] src, uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """Write w*h*3 MED-filtered bytes (see pack_med) into the rect (X := 255)."""
    _check_rect(fb, x, y, w, h)
    if src.shape[0] != <Py_ssize_t>w * h * 3:
        raise DecodeError(f"pixel data: {src.shape[0]} bytes for a {w}x{h} rect")
    cdef uint8_t *dst = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    with nogil:
        sc_unpack_med(&src[0], w, h, dst, stride)


def solid_colour(const uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """The rect's colour as 0x00RRGGBB when all its pixels share it, else None."""
    _check_rect(fb, x, y, w, h)
    cdef uint32_t rgb = 0
    cdef int solid
    cdef const uint8_t *src = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    with nogil:
        solid = sc_is_solid(src, stride, w, h, &rgb)
    return rgb if solid else None


def flat_pixels(const uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """How many pixels of the rect have the B, G, R of their left neighbour
    (a row's first pixel has none): text and UI are mostly flat, photos not."""
    _check_rect(fb, x, y, w, h)
    cdef const uint8_t *src = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    cdef Py_ssize_t n = 0
    cdef int i, j
    cdef uint32_t a, b
    cdef const uint8_t *row
    with nogil:
        for j in range(h):
            row = src + j * stride
            memcpy(&a, row, 4)
            for i in range(1, w):
                memcpy(&b, row + 4 * i, 4)
                n += ((a ^ b) & _RGB_MASK) == 0
                a = b
    return n


def colour_count(const uint8_t[:, :, :] fb, int x, int y, int w, int h, int max_colours=256):
    """``(n, rgb)``: the rect's number of colours n (-1 when it has more than
    max_colours) and, when n is 1, its colour as ``solid_colour`` gives it.
    One read of the rect, nothing allocated: the classification
    ``palette_encode`` and ``solid_colour`` make together, for a coder that
    does not send the palette."""
    _check_rect(fb, x, y, w, h)
    if not 1 <= max_colours <= 256:
        raise ValueError("max_colours must lie in 1..256")
    cdef const uint8_t *src = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    cdef uint32_t first = 0
    cdef int n
    with nogil:
        n = sc_palette_count(src, stride, w, h, max_colours, &first)
    return n, (first if n == 1 else None)


def palette_encode(const uint8_t[:, :, :] fb, int x, int y, int w, int h, int max_colours=256):
    """``(bits, palette_bgr, packed_indices)`` when the rect has at most
    max_colours colours, else None. palette_bgr holds 3 bytes per colour."""
    _check_rect(fb, x, y, w, h)
    if not 1 <= max_colours <= 256:
        raise ValueError("max_colours must lie in 1..256")
    cdef uint32_t palette[256]
    idx = bytearray(<size_t>w * h)
    cdef uint8_t[::1] iv = idx
    cdef const uint8_t *src = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    cdef int n
    with nogil:
        n = sc_palette_build(src, stride, w, h, max_colours, palette, &iv[0])
    if n < 0:
        return None
    cdef int bits = index_bits(n)
    cdef int i
    pal = bytearray(3 * n)
    for i in range(n):
        pal[3 * i] = palette[i] & 0xFF
        pal[3 * i + 1] = (palette[i] >> 8) & 0xFF
        pal[3 * i + 2] = (palette[i] >> 16) & 0xFF
    if bits == 8:
        return bits, pal, idx
    packed = bytearray(sc_index_row_bytes(w, bits) * h)
    cdef uint8_t[::1] pv = packed
    with nogil:
        sc_pack_indices(&iv[0], w, h, bits, &pv[0])
    return bits, pal, packed


def unpack_bgr(const uint8_t[::1] src, uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """Write w*h*3 bytes of B, G, R into the rect (X := 255)."""
    unpack_filtered(src, fb, x, y, w, h, False, False)


def fill(uint8_t[:, :, :] fb, int x, int y, int w, int h, uint32_t rgb):
    """Fill the rect with colour 0x00RRGGBB (X := 255)."""
    _check_rect(fb, x, y, w, h)
    cdef uint8_t *dst = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    with nogil:
        sc_fill(dst, stride, w, h, rgb)


def check_indices(const uint8_t[::1] packed, int w, int h, int bits, int colours):
    """Raise DecodeError unless ``packed`` is a valid index image for the palette."""
    if bits not in (1, 2, 4, 8):
        raise DecodeError(f"palette: {bits} bits per index is not 1, 2, 4 or 8")
    if not 1 <= colours <= (1 << bits):
        raise DecodeError(f"palette: {colours} colours do not fit {bits}-bit indices")
    if w <= 0 or h <= 0 or packed.shape[0] != <Py_ssize_t>(sc_index_row_bytes(w, bits) * h):
        raise DecodeError(f"palette: {packed.shape[0]} index bytes for a {w}x{h} rect")
    cdef int bad
    with nogil:
        bad = sc_check_indices(&packed[0], w, h, bits, colours)
    if bad:
        raise DecodeError("palette: an index points past the palette")


def palette_apply(const uint8_t[::1] packed, int bits, const uint8_t[::1] palette_bgr,
                  uint8_t[:, :, :] fb, int x, int y, int w, int h):
    """Expand checked indices through the palette into the rect (X := 255)."""
    _check_rect(fb, x, y, w, h)
    cdef Py_ssize_t n = palette_bgr.shape[0] // 3
    check_indices(packed, w, h, bits, n)
    if palette_bgr.shape[0] != 3 * n:
        raise DecodeError("palette: colour table is not a whole number of BGR triples")
    cdef uint32_t lut[256]
    memset(lut, 0, sizeof(lut))
    cdef Py_ssize_t i
    for i in range(n):
        lut[i] = palette_bgr[3 * i] | (palette_bgr[3 * i + 1] << 8) | (<uint32_t>palette_bgr[3 * i + 2] << 16)
    cdef uint8_t *dst = &fb[y, x, 0]
    cdef ptrdiff_t stride = fb.strides[0]
    with nogil:
        sc_palette_apply(&packed[0], w, h, bits, lut, dst, stride)
