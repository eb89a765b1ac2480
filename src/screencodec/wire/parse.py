"""Strict parsing: every field is checked before anything is trusted.

The parser only splits and validates structure (sizes, bounds, counts, known
types). It never decompresses: codecs do that with output capped at what the
op's rectangle allows.
"""

from __future__ import annotations

from ..errors import DecodeError
from ..geometry import Rect
from .format import (
    CURSOR_MAX_SIZE,
    CURSOR_POSITION,
    CURSOR_SHAPE,
    HASH,
    HEADER,
    MAGIC,
    MAX_BODY_SIZE,
    MAX_DIMENSION,
    OP_HEADER,
    UPDATE_HEADER,
    VERSION,
    ZSTREAM_HEADER,
    MessageType,
    Op,
    UpdateFlags,
    ZStreamFlags,
)
from .messages import CursorPosition, CursorShape, OpView, Update

__all__ = [
    "MessageReader",
    "parse_cursor_position",
    "parse_cursor_shape",
    "parse_header",
    "parse_update",
    "split_message",
]

# A plain int: ~ of an IntFlag covering every member is 0, which would let any bit pass.
_KNOWN_FLAGS = int(UpdateFlags.KEYFRAME | UpdateFlags.HASH)
_ZSTREAM_FLAGS = int(ZStreamFlags.RESET)
#: The ops of one update may cover at most this many times the frame's area.
#: Every op is decoded (and every COPY source gathered) before the first write,
#: so without this cap a few kilobytes of full-frame ops would make the decoder
#: allocate gigabytes. An encoder's ops tile the damage (COPYs painted over by
#: what they reveal at most double it), so real updates stay far below it.
MAX_OP_COVERAGE = 4


def parse_header(
    data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_SIZE
) -> tuple[MessageType, int]:
    """Validate the 8-byte header; return the message type and body length."""
    if len(data) < HEADER.size:
        raise DecodeError(f"truncated header: {len(data)} of {HEADER.size} bytes")
    magic, version, kind, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise DecodeError(f"bad magic {bytes(magic)!r}: not a screencodec message")
    if version != VERSION:
        raise DecodeError(f"unsupported wire version {version} (this decoder reads {VERSION})")
    try:
        mtype = MessageType(kind)
    except ValueError:
        raise DecodeError(f"unknown message type {kind}") from None
    if length > min(max_body, MAX_BODY_SIZE):
        raise DecodeError(f"message body of {length} bytes exceeds the limit of {max_body}")
    return mtype, length


def split_message(
    data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_SIZE
) -> tuple[MessageType, memoryview]:
    """Validate that ``data`` is exactly one message; return its type and body."""
    view = memoryview(data).cast("B")
    mtype, length = parse_header(view, max_body)
    end = HEADER.size + length
    if len(view) < end:
        raise DecodeError(f"truncated message: {len(view)} of {end} bytes")
    if len(view) > end:
        raise DecodeError(f"{len(view) - end} trailing bytes after the message")
    return mtype, view[HEADER.size : end]


def parse_update(
    body: memoryview, max_width: int = MAX_DIMENSION, max_height: int = MAX_DIMENSION
) -> Update:
    """Parse and validate the body of an UPDATE message."""
    if len(body) < UPDATE_HEADER.size:
        raise DecodeError("truncated update header")
    seq, flags, width, height, reserved, count = UPDATE_HEADER.unpack_from(body)
    if flags & ~_KNOWN_FLAGS:
        raise DecodeError(f"unknown update flags 0x{flags:04x}")
    if reserved:
        raise DecodeError("reserved update field is not zero")
    if not (
        1 <= width <= min(max_width, MAX_DIMENSION)
        and 1 <= height <= min(max_height, MAX_DIMENSION)
    ):
        raise DecodeError(f"frame size {width}x{height} outside 1x1..{max_width}x{max_height}")
    pos = UPDATE_HEADER.size
    fb_hash = None
    uflags = UpdateFlags(flags)
    if uflags & UpdateFlags.HASH:
        if len(body) < pos + HASH.size:
            raise DecodeError("truncated update hash")
        (fb_hash,) = HASH.unpack_from(body, pos)
        pos += HASH.size
    # Each op takes at least its header: a count beyond that is a lie, and
    # checking it first keeps a hostile count from driving a long loop.
    if count > (len(body) - pos) // OP_HEADER.size:
        raise DecodeError(f"op count {count} does not fit in {len(body) - pos} bytes")
    ops = []
    area_left = MAX_OP_COVERAGE * width * height
    for i in range(count):
        # The count check above assumed empty payloads: earlier ops' payloads
        # may have used the room this header needs.
        if len(body) - pos < OP_HEADER.size:
            raise DecodeError(f"op {i}: truncated op header at {len(body) - pos} bytes")
        op, oflags, x, y, w, h, plen = OP_HEADER.unpack_from(body, pos)
        pos += OP_HEADER.size
        try:
            kind = Op(op)
        except ValueError:
            raise DecodeError(f"op {i}: unknown op {op}") from None
        if w == 0 or h == 0 or x + w > width or y + h > height:
            raise DecodeError(
                f"op {i}: rectangle {x},{y} {w}x{h} outside the {width}x{height} frame"
            )
        area_left -= w * h
        if area_left < 0:
            raise DecodeError(
                f"op {i}: the ops cover more than {MAX_OP_COVERAGE}x the {width}x{height} frame"
            )
        if plen > len(body) - pos:
            raise DecodeError(f"op {i}: payload of {plen} bytes truncated at {len(body) - pos}")
        if kind is Op.ZSTREAM:
            # The stream's contents are the codec's to check (it holds the
            # stream); its framing is checked here like any op's.
            if oflags & ~_ZSTREAM_FLAGS:
                raise DecodeError(f"op {i}: unknown ZSTREAM op flags 0x{oflags:02x}")
            if plen <= ZSTREAM_HEADER.size:
                raise DecodeError(f"op {i}: ZSTREAM payload of {plen} bytes holds no stream data")
        ops.append(OpView(kind, oflags, Rect(x, y, w, h), body[pos : pos + plen]))
        pos += plen
    if pos != len(body):
        raise DecodeError(f"{len(body) - pos} stray bytes after the last op")
    return Update(seq, uflags, width, height, tuple(ops), fb_hash)


def parse_cursor_shape(body: memoryview) -> CursorShape:
    if len(body) < CURSOR_SHAPE.size:
        raise DecodeError("truncated cursor shape")
    shape_id, w, h, hx, hy = CURSOR_SHAPE.unpack_from(body)
    if not (1 <= w <= CURSOR_MAX_SIZE and 1 <= h <= CURSOR_MAX_SIZE):
        raise DecodeError(f"cursor size {w}x{h} outside 1x1..{CURSOR_MAX_SIZE}x{CURSOR_MAX_SIZE}")
    if hx >= w or hy >= h:
        raise DecodeError(f"cursor hotspot {hx},{hy} outside the {w}x{h} shape")
    pixels = body[CURSOR_SHAPE.size :]
    if len(pixels) != w * h * 4:
        raise DecodeError(f"cursor pixels: {len(pixels)} bytes, expected {w * h * 4}")
    return CursorShape(shape_id, w, h, hx, hy, pixels)


def parse_cursor_position(body: memoryview) -> CursorPosition:
    if len(body) != CURSOR_POSITION.size:
        raise DecodeError(f"cursor position: {len(body)} bytes, expected {CURSOR_POSITION.size}")
    x, y, shape_id, visible = CURSOR_POSITION.unpack_from(body)
    if visible > 1:
        raise DecodeError("cursor visibility is neither 0 nor 1")
    return CursorPosition(x, y, shape_id, bool(visible))


class MessageReader:
    """Splits a byte stream into whole messages (streaming counterpart of split_message).

    ``feed`` takes chunks of any size and returns the complete messages they
    finish, as bytes. A bad header raises DecodeError at once, before its body
    is buffered, so a hostile length cannot make the reader hoard memory.
    """

    def __init__(self, max_body: int = MAX_BODY_SIZE) -> None:
        self._buf = bytearray()
        self._max_body = max_body

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[bytes]:
        self._buf += chunk
        out = []
        while len(self._buf) >= HEADER.size:
            _, length = parse_header(self._buf, self._max_body)
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            out.append(bytes(self._buf[:end]))
            del self._buf[:end]
        return out

    @property
    def pending(self) -> int:
        """Bytes buffered towards an incomplete message."""
        return len(self._buf)
