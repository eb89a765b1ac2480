"""Building messages. The encoder side trusts its own inputs but still checks
ranges, so a bug surfaces here rather than as a corrupt stream."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..geometry import Rect
from .format import (
    CURSOR_MAX_SIZE,
    CURSOR_POSITION,
    CURSOR_SHAPE,
    HASH,
    HEADER,
    MAGIC,
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

__all__ = [
    "EncodedOp",
    "build_cursor_position",
    "build_cursor_shape",
    "build_message",
    "build_update",
    "zstream_op",
]


class EncodedOp:
    """One op ready for the wire: its kind, rectangle and payload bytes."""

    __slots__ = ("flags", "op", "payload", "rect")

    def __init__(
        self, op: Op, rect: Rect, payload: bytes | bytearray | memoryview, flags: int = 0
    ) -> None:
        self.op = op
        self.rect = rect
        self.payload = payload
        self.flags = flags

    def __repr__(self) -> str:
        return f"EncodedOp({self.op.name}, {self.rect}, {len(self.payload)} bytes)"


def zstream_op(
    rect: Rect, position: int, data: bytes | bytearray, *, reset: bool = False
) -> EncodedOp:
    """A ZSTREAM op: ``data`` is the next bytes of the session's zstd stream
    (whole blocks; with ``reset``, a new frame's header first), which
    decompress to the rect's B, G, R rows; ``position`` is how many bytes the
    stream had decompressed to before them, since its RESET."""
    payload = ZSTREAM_HEADER.pack(position & 0xFFFFFFFF) + data
    return EncodedOp(Op.ZSTREAM, rect, payload, int(ZStreamFlags.RESET) if reset else 0)


def build_message(kind: MessageType, parts: Sequence[bytes | bytearray | memoryview]) -> bytes:
    length = sum(len(p) for p in parts)
    return b"".join([HEADER.pack(MAGIC, VERSION, kind, length), *parts])


def build_update(
    sequence: int,
    width: int,
    height: int,
    ops: Iterable[EncodedOp],
    *,
    keyframe: bool = False,
    framebuffer_hash: int | None = None,
) -> bytes:
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise ValueError(f"frame size {width}x{height} outside the wire's limits")
    flags = UpdateFlags.NONE
    if keyframe:
        flags |= UpdateFlags.KEYFRAME
    parts: list[bytes | bytearray | memoryview] = []
    if framebuffer_hash is not None:
        flags |= UpdateFlags.HASH
        parts.append(HASH.pack(framebuffer_hash))
    count = 0
    for e in ops:
        r = e.rect
        if r.x < 0 or r.y < 0 or r.w <= 0 or r.h <= 0 or r.right > width or r.bottom > height:
            raise ValueError(f"{e!r} lies outside the {width}x{height} frame")
        parts.append(OP_HEADER.pack(e.op, e.flags, r.x, r.y, r.w, r.h, len(e.payload)))
        parts.append(e.payload)
        count += 1
    head = UPDATE_HEADER.pack(sequence & 0xFFFFFFFF, flags, width, height, 0, count)
    return build_message(MessageType.UPDATE, [head, *parts])


def build_cursor_shape(
    shape_id: int, width: int, height: int, hotspot: tuple[int, int], bgra: bytes
) -> bytes:
    if not (1 <= width <= CURSOR_MAX_SIZE and 1 <= height <= CURSOR_MAX_SIZE):
        raise ValueError(f"cursor size {width}x{height} is not supported")
    if len(bgra) != width * height * 4:
        raise ValueError("cursor pixels do not match its size")
    hx = min(max(hotspot[0], 0), width - 1)
    hy = min(max(hotspot[1], 0), height - 1)
    head = CURSOR_SHAPE.pack(shape_id & 0xFFFFFFFFFFFFFFFF, width, height, hx, hy)
    return build_message(MessageType.CURSOR_SHAPE, [head, bgra])


def build_cursor_position(x: int, y: int, shape_id: int, *, visible: bool = True) -> bytes:
    x = min(max(x, -(1 << 31)), (1 << 31) - 1)
    y = min(max(y, -(1 << 31)), (1 << 31) - 1)
    body = CURSOR_POSITION.pack(x, y, shape_id & 0xFFFFFFFFFFFFFFFF, int(visible))
    return build_message(MessageType.CURSOR_POSITION, [body])
