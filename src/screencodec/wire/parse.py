"""Strict parsing: every field is checked before anything is trusted.

The parser only splits and validates structure (sizes, bounds, counts, known
types). It never decompresses: codecs do that with output capped at what the
op's rectangle allows. The per-op loop of an update is compiled (``_ops``):
a keyframe holds hundreds of ops.
"""

from __future__ import annotations

import numpy as np

from ..errors import DecodeError
from ._ops import parse_ops
from .coverage import covers_frame
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
    MessageType,
    UpdateFlags,
    ZStreamFlags,
)
from .messages import CursorPosition, CursorShape, Update

__all__ = [
    "MessageReader",
    "check_version",
    "keyframe_header_length",
    "parse_cursor_position",
    "parse_cursor_shape",
    "parse_header",
    "parse_update",
    "read_header",
    "split_frame",
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


def read_header(
    data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_SIZE, offset: int = 0
) -> tuple[int, int, int]:
    """Check the framing of the 8-byte header at ``offset``: its magic and
    length, which every version keeps. Returns ``(version, type, body
    length)`` unchecked otherwise; DecodeError when the bytes there cannot be
    a message (the framing of a stream is then lost)."""
    if len(data) - offset < HEADER.size:
        raise DecodeError(f"truncated header: {len(data) - offset} of {HEADER.size} bytes")
    magic, version, kind, length = HEADER.unpack_from(data, offset)
    if magic != MAGIC:
        raise DecodeError(f"bad magic {bytes(magic)!r}: not a screencodec message")
    if length > min(max_body, MAX_BODY_SIZE):
        raise DecodeError(f"message body of {length} bytes exceeds the limit of {max_body}")
    return version, kind, length


def check_version(version: int) -> None:
    if version != VERSION:
        raise DecodeError(f"unsupported wire version {version} (this decoder reads {VERSION})")


def parse_header(
    data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_SIZE
) -> tuple[MessageType, int]:
    """Validate the 8-byte header strictly (this version, a known type);
    return the message type and body length."""
    version, kind, length = read_header(data, max_body)
    check_version(version)
    try:
        mtype = MessageType(kind)
    except ValueError:
        raise DecodeError(f"unknown message type {kind}") from None
    return mtype, length


def split_frame(
    data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_SIZE
) -> tuple[int, int, memoryview]:
    """Check that ``data`` is exactly one message of any version and type;
    return ``(version, type, body)`` (see ``read_header``)."""
    view = memoryview(data).cast("B")
    version, kind, length = read_header(view, max_body)
    end = HEADER.size + length
    if len(view) < end:
        raise DecodeError(f"truncated message: {len(view)} of {end} bytes")
    if len(view) > end:
        raise DecodeError(f"{len(view) - end} trailing bytes after the message")
    return version, kind, view[HEADER.size : end]


def split_message(
    data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_SIZE
) -> tuple[MessageType, memoryview]:
    """Validate that ``data`` is exactly one message of this version and a
    known type; return its type and body."""
    version, kind, body = split_frame(data, max_body)
    check_version(version)
    try:
        return MessageType(kind), body
    except ValueError:
        raise DecodeError(f"unknown message type {kind}") from None


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
    keyframe = bool(uflags & UpdateFlags.KEYFRAME)
    if uflags & UpdateFlags.HASH:
        if len(body) < pos + HASH.size:
            raise DecodeError("truncated update hash")
        (fb_hash,) = HASH.unpack_from(body, pos)
        pos += HASH.size
    # Each op takes at least its header: a count beyond that is a lie, and
    # checking it first keeps a hostile count from driving a long loop.
    if count > (len(body) - pos) // OP_HEADER.size:
        raise DecodeError(f"op count {count} does not fit in {len(body) - pos} bytes")
    ops, pos = parse_ops(body, pos, count, width, height, keyframe, MAX_OP_COVERAGE)
    if pos != len(body):
        raise DecodeError(f"{len(body) - pos} stray bytes after the last op")
    if keyframe:
        rects = np.array([(o.rect.x, o.rect.y, o.rect.w, o.rect.h) for o in ops], np.int64)
        if not covers_frame(rects.reshape(-1, 4), width, height):
            raise DecodeError(f"the ops of a KEYFRAME do not cover the {width}x{height} frame")
    return Update(seq, uflags, width, height, tuple(ops), fb_hash)


def parse_cursor_shape(body: memoryview) -> CursorShape:
    if len(body) < CURSOR_SHAPE.size:
        raise DecodeError("truncated cursor shape")
    shape_id, w, h, hx, hy = CURSOR_SHAPE.unpack_from(body)
    if shape_id == 0:
        raise DecodeError("cursor shape id 0 is reserved: it names no shape")
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


#: Version 1, UPDATE: how a keyframe's header starts after the magic.
_RESYNC_MARK = MAGIC + bytes([VERSION, MessageType.UPDATE])
_RESYNC_SPAN = HEADER.size + UPDATE_HEADER.size


def keyframe_header_length(data: bytes | bytearray, offset: int, max_body: int) -> int | None:
    """The body length if the 24 bytes at ``offset`` can start a keyframe
    (docs/protocol.md, "Decoding a byte stream"): magic, version 1, type
    UPDATE, a length within the limit, and an update header with KEYFRAME
    set, no unknown flag, a size in range, reserved 0 and 1 to as many ops as
    the length holds; else None."""
    magic, version, kind, length = HEADER.unpack_from(data, offset)
    if magic != MAGIC or version != VERSION or kind != MessageType.UPDATE:
        return None
    if not UPDATE_HEADER.size <= length <= min(max_body, MAX_BODY_SIZE):
        return None
    _, flags, width, height, reserved, count = UPDATE_HEADER.unpack_from(data, offset + HEADER.size)
    if not flags & UpdateFlags.KEYFRAME or flags & ~_KNOWN_FLAGS or reserved:
        return None
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        return None
    room = length - UPDATE_HEADER.size - (HASH.size if flags & UpdateFlags.HASH else 0)
    if not 1 <= count <= room // OP_HEADER.size:
        return None
    return int(length)


class MessageReader:
    """Splits a byte stream into whole messages, and finds its way back to a
    keyframe when the stream's framing is lost (docs/protocol.md, "Decoding a
    byte stream").

    ``push`` appends a chunk of any size; ``pop`` returns the next whole
    message (header included, as bytes, of any version and type: the caller
    judges those) or None until more bytes come. When the bytes where a
    header should start cannot be one (bad magic, a length over the limit),
    ``pop`` raises DecodeError once, before anything of that length is
    buffered; the reader is then *resynchronising*: it drops bytes up to the
    next offset where a keyframe header starts and returns that message. A
    caller that refuses such a message calls ``reject``, and the search goes
    on from the byte after that header's first (the header may have been
    pixels that only looked like one, its length hiding the real keyframe).

    State: the buffered bytes, whether the framing is known (``synced``) and
    the last message found by a search (until the next ``pop``). Not
    thread-safe.
    """

    def __init__(self, max_body: int = MAX_BODY_SIZE) -> None:
        self._buf = bytearray()
        self._max_body = max_body
        self.synced = True
        self._found: bytes | None = None

    def push(self, chunk: bytes | bytearray | memoryview) -> None:
        self._buf += chunk

    def pop(self) -> bytes | None:
        self._found = None
        if not self.synced:
            return self._search()
        if len(self._buf) < HEADER.size:
            return None
        try:
            _, _, length = read_header(self._buf, self._max_body)
        except DecodeError as e:
            self.synced = False
            del self._buf[:1]
            raise DecodeError(f"{e}; the stream's framing is lost until a keyframe") from None
        end = HEADER.size + length
        if len(self._buf) < end:
            return None
        msg = bytes(self._buf[:end])
        del self._buf[:end]
        return msg

    def reject(self) -> None:
        """The message the last ``pop`` found by searching was refused: search
        on from its second byte. Does nothing after any other ``pop``."""
        if self._found is not None:
            self._buf[:0] = self._found[1:]
            self._found = None
            self.synced = False

    def _search(self) -> bytes | None:
        buf, start = self._buf, 0
        while True:
            i = buf.find(_RESYNC_MARK, start)
            if i < 0:
                # Keep what could be the start of a mark cut by the chunk's end.
                del buf[: max(0, len(buf) - len(_RESYNC_MARK) + 1)]
                return None
            if len(buf) - i < _RESYNC_SPAN:
                del buf[:i]
                return None
            length = keyframe_header_length(buf, i, self._max_body)
            if length is not None:
                break
            start = i + 1
        del buf[:i]
        end = HEADER.size + length
        if len(buf) < end:
            return None
        msg = self._found = bytes(buf[:end])
        del buf[:end]
        self.synced = True
        return msg

    @property
    def pending(self) -> int:
        """Bytes buffered towards an incomplete message."""
        return len(self._buf)
