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
from .coverage import covers_frame
from .format import (
    MAX_DIMENSION,
    VERSION,
    VIDEO_HEADER,
    ZSTREAM_MAX_WINDOW,
    MessageType,
    Op,
    UpdateFlags,
    VideoFlags,
    ZstdFlags,
    ZStreamFlags,
)
from .messages import CursorPosition, CursorShape, OpView, Update
from .parse import (
    MessageReader,
    check_version,
    keyframe_header_length,
    parse_cursor_position,
    parse_cursor_shape,
    parse_header,
    parse_update,
    read_header,
    split_frame,
    split_message,
)

__all__ = [
    "MAX_DIMENSION",
    "VERSION",
    "VIDEO_HEADER",
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
    "VideoFlags",
    "ZStreamFlags",
    "ZstdFlags",
    "build_cursor_position",
    "build_cursor_shape",
    "build_message",
    "build_update",
    "check_version",
    "covers_frame",
    "keyframe_header_length",
    "parse_cursor_position",
    "parse_cursor_shape",
    "parse_header",
    "parse_update",
    "read_header",
    "split_frame",
    "split_message",
    "zstream_op",
]
