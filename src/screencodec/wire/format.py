"""Constants and layouts of the wire format (docs/protocol.md is the specification).

All integers are little-endian. Every message starts with an 8-byte header that
makes it self-delimiting, so messages can be concatenated on a stream.
"""

from __future__ import annotations

import enum
import struct

__all__ = [
    "COPY_PAYLOAD",
    "CURSOR_MAX_SIZE",
    "CURSOR_POSITION",
    "CURSOR_SHAPE",
    "HASH",
    "HEADER",
    "MAGIC",
    "MAX_BODY_SIZE",
    "MAX_DIMENSION",
    "OP_HEADER",
    "PALETTE_HEADER",
    "UPDATE_HEADER",
    "VERSION",
    "VIDEO_HEADER",
    "ZSTREAM_HEADER",
    "ZSTREAM_MAX_WINDOW",
    "MessageType",
    "Op",
    "UpdateFlags",
    "VideoFlags",
    "ZStreamFlags",
    "ZstdFlags",
]

MAGIC = b"SC"
VERSION = 1

#: magic, version, message type, body length
HEADER = struct.Struct("<2sBBI")
#: sequence, flags, width, height, reserved (0), op count
UPDATE_HEADER = struct.Struct("<IHHHHI")
#: xxh3-64 of the framebuffer after the update, present with UpdateFlags.HASH
HASH = struct.Struct("<Q")
#: op, op flags (0), x, y, w, h, payload length
OP_HEADER = struct.Struct("<BBHHHHI")
#: bits per index, reserved (0), colour count
PALETTE_HEADER = struct.Struct("<BBH")
#: source x, source y
COPY_PAYLOAD = struct.Struct("<HH")
#: stream position: bytes the stream has decompressed to since its RESET, mod 2**32
ZSTREAM_HEADER = struct.Struct("<I")
#: Largest window a ZSTREAM stream may declare (window_log 23): what a viewer
#: that decodes ZSTREAM keeps in memory for it.
ZSTREAM_MAX_WINDOW = 1 << 23
#: VIDEO payload: codec, flags (VideoFlags), stream id, frame number; the
#: access unit follows (the codec is screencodec.video's; the parser reads
#: only the flags, for the KEYFRAME rule)
VIDEO_HEADER = struct.Struct("<BBHI")
#: shape id, width, height, hotspot x, hotspot y; BGRA pixels follow
CURSOR_SHAPE = struct.Struct("<QHHHH")
#: x, y (may lie off-screen), shape id, visible (0 or 1)
CURSOR_POSITION = struct.Struct("<iiQB")
#: Largest cursor image, in either direction.
CURSOR_MAX_SIZE = 256

#: Largest width or height a stream may declare.
MAX_DIMENSION = 16384
#: Largest body a message may declare (1 GiB); decoders usually cap lower.
MAX_BODY_SIZE = 1 << 30


class MessageType(enum.IntEnum):
    UPDATE = 1
    CURSOR_SHAPE = 2
    CURSOR_POSITION = 3


class UpdateFlags(enum.IntFlag):
    NONE = 0
    #: The ops cover the whole frame; the decoder may (re)allocate its framebuffer.
    KEYFRAME = 1
    #: An xxh3-64 of the resulting framebuffer follows the update header.
    HASH = 2


class ZstdFlags(enum.IntFlag):
    """Op flags of a ZSTD op: how its B, G, R bytes were filtered before zstd."""

    NONE = 0
    #: Every byte minus the same byte one row up (mod 256); row 0 as it is.
    DELTA_UP = 1
    #: All B bytes, then all G, then all R, instead of B, G, R per pixel.
    PLANAR = 2
    #: Green subtracted (B - G, G, R - G), then LOCO-I median-edge residuals
    #: per plane. Only as MED | PLANAR, and only to a viewer that declared it
    #: (``Capabilities.ZSTD_MED``); docs/protocol.md has the exact rules.
    MED = 4


class VideoFlags(enum.IntFlag):
    """The flags byte of a VIDEO payload."""

    NONE = 0
    #: The picture is an IDR that starts its stream afresh.
    IDR = 1
    #: 4:2:0 chroma (otherwise 4:4:4).
    CHROMA_420 = 2


class ZStreamFlags(enum.IntFlag):
    """Op flags of a ZSTREAM op."""

    NONE = 0
    #: The op starts a new zstd frame: the decoder drops its stream state first.
    RESET = 1


class Op(enum.IntEnum):
    FILL = 1
    RAW = 2
    ZSTD = 3
    PALETTE = 4
    COPY = 5
    VIDEO = 6
    #: The next bytes of the session's zstd stream (history across updates).
    ZSTREAM = 7
