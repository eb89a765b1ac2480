"""The wire format: building and strictly parsing messages (see docs/protocol.md)."""

from __future__ import annotations

from .build import (
    EncodedOp,
    build_cursor_position,
    build_cursor_shape,
    build_message,
    build_update,
    zstream_op,
)
from .format import (
    MAX_DIMENSION,
    VERSION,
    ZSTREAM_MAX_WINDOW,
    MessageType,
    Op,
    UpdateFlags,
    ZstdFlags,
    ZStreamFlags,
)
from .messages import CursorPosition, CursorShape, OpView, Update
from .parse import (
    MessageReader,
    parse_cursor_position,
    parse_cursor_shape,
    parse_header,
    parse_update,
    split_message,
)

__all__ = [
    "MAX_DIMENSION",
    "VERSION",
    "ZSTREAM_MAX_WINDOW",
    "CursorPosition",
    "CursorShape",
    "EncodedOp",
    "MessageReader",
    "MessageType",
    "Op",
    "OpView",
    "Update",
    "UpdateFlags",
    "ZStreamFlags",
    "ZstdFlags",
    "build_cursor_position",
    "build_cursor_shape",
    "build_message",
    "build_update",
    "parse_cursor_position",
    "parse_cursor_shape",
    "parse_header",
    "parse_update",
    "split_message",
    "zstream_op",
]
