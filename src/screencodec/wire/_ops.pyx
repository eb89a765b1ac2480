# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The per-op loop of UPDATE parsing (docs/protocol.md, "Op header"), compiled.

An update holds one op per damaged block: 136 for a 1080p keyframe, 510 at
4K, about 50 per update of a recorded 1080p video. Each op's 14-byte header
is read and checked here byte by byte; only the OpView objects the codecs
take are built in Python terms. ``parse.parse_update`` checks the update
header and the op count first and calls ``parse_ops`` with them; the error
messages are the wire's (see parse.py).
"""

from screencodec.errors import DecodeError
from screencodec.geometry import Rect

from .format import Op, VideoFlags, ZStreamFlags
from .messages import OpView

# The op kinds by number; None where a number names no op.
cdef tuple _KINDS = tuple(Op(i) if i in Op._value2member_map_ else None for i in range(256))
cdef object _COPY = Op.COPY
cdef object _VIDEO = Op.VIDEO
cdef object _ZSTREAM = Op.ZSTREAM
cdef int _OP_HEADER = 14
cdef unsigned long long _VIDEO_HEADER = 8
cdef unsigned long long _ZSTREAM_HEADER = 4
cdef int _ZSTREAM_FLAGS = int(ZStreamFlags.RESET)
cdef int _IDR = int(VideoFlags.IDR)


cdef inline unsigned int _u16(const unsigned char[:] b, Py_ssize_t p) noexcept:
    return b[p] | (<unsigned int>b[p + 1] << 8)


cdef inline unsigned long long _u32(const unsigned char[:] b, Py_ssize_t p) noexcept:
    return (b[p] | (<unsigned long long>b[p + 1] << 8) | (<unsigned long long>b[p + 2] << 16)
            | (<unsigned long long>b[p + 3] << 24))


def parse_ops(
    view,
    Py_ssize_t pos,
    Py_ssize_t count,
    Py_ssize_t width,
    Py_ssize_t height,
    bint keyframe,
    long long coverage,
):
    """Parse ``count`` ops of the update body ``view`` (a memoryview of bytes)
    from ``pos``; return ``(ops, end)``. ``coverage``: how many times the
    frame's area all ops may cover together. Raises DecodeError as the wire's
    rules say."""
    cdef const unsigned char[:] b = view
    cdef Py_ssize_t n = b.shape[0], i
    cdef unsigned int op, oflags, x, y, w, h
    cdef unsigned long long plen
    cdef long long area_left = coverage * width * height
    cdef list ops = []
    cdef object kind
    for i in range(count):
        # The caller's count check assumed empty payloads: earlier ops'
        # payloads may have used the room this header needs.
        if n - pos < _OP_HEADER:
            raise DecodeError(f"op {i}: truncated op header at {n - pos} bytes")
        op, oflags = b[pos], b[pos + 1]
        x, y, w, h = _u16(b, pos + 2), _u16(b, pos + 4), _u16(b, pos + 6), _u16(b, pos + 8)
        plen = _u32(b, pos + 10)
        pos += _OP_HEADER
        kind = _KINDS[op]
        if kind is None:
            raise DecodeError(f"op {i}: unknown op {op}")
        if w == 0 or h == 0 or x + w > width or y + h > height:
            raise DecodeError(
                f"op {i}: rectangle {x},{y} {w}x{h} outside the {width}x{height} frame"
            )
        area_left -= <long long>w * h
        if area_left < 0:
            raise DecodeError(
                f"op {i}: the ops cover more than {coverage}x the {width}x{height} frame"
            )
        if plen > <unsigned long long>(n - pos):
            raise DecodeError(f"op {i}: payload of {plen} bytes truncated at {n - pos}")
        if keyframe and kind is _COPY:
            raise DecodeError(f"op {i}: a KEYFRAME holds a COPY (it may not read the old picture)")
        if keyframe and kind is _VIDEO and not (plen >= _VIDEO_HEADER and b[pos + 1] & _IDR):
            # A shorter payload is the VIDEO codec's error; here it is refused
            # only because its flags cannot be read.
            raise DecodeError(f"op {i}: a KEYFRAME holds a VIDEO op that is not an IDR")
        if kind is _ZSTREAM:
            # The stream's contents are the codec's to check (it holds the
            # stream); its framing is checked here like any op's.
            if oflags & ~_ZSTREAM_FLAGS:
                raise DecodeError(f"op {i}: unknown ZSTREAM op flags 0x{oflags:02x}")
            if plen <= _ZSTREAM_HEADER:
                raise DecodeError(f"op {i}: ZSTREAM payload of {plen} bytes holds no stream data")
        ops.append(OpView(kind, oflags, Rect(x, y, w, h), view[pos : pos + plen]))
        pos += plen
    return ops, pos
