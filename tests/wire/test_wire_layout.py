"""Byte layouts of every message and op, built by hand from docs/protocol.md.

These pin the specification: the builder must produce exactly these bytes and
the parser must read them back field by field.
"""

from __future__ import annotations

import struct

import pytest

from screencodec.codecs import copy_op
from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.wire import (
    MAX_DIMENSION,
    VERSION,
    VIDEO_HEADER,
    CursorPosition,
    EncodedOp,
    MessageType,
    Op,
    UpdateFlags,
    VideoFlags,
    build_cursor_position,
    build_cursor_shape,
    build_message,
    build_update,
    parse_cursor_position,
    parse_cursor_shape,
    parse_header,
    parse_update,
    read_header,
    split_frame,
    split_message,
    zstream_op,
)


def header(kind: int, length: int) -> bytes:
    # magic "SC", version 1, type, u32 LE body length
    return b"SC" + bytes([1, kind]) + length.to_bytes(4, "little")


def test_constants_match_the_spec() -> None:
    assert VERSION == 1
    assert MAX_DIMENSION == 16384
    assert [int(t) for t in MessageType] == [1, 2, 3]
    assert {o.name: int(o) for o in Op} == {
        "FILL": 1,
        "RAW": 2,
        "ZSTD": 3,
        "PALETTE": 4,
        "COPY": 5,
        "VIDEO": 6,
        "ZSTREAM": 7,
    }
    assert (int(UpdateFlags.KEYFRAME), int(UpdateFlags.HASH)) == (1, 2)


def test_empty_delta_is_24_bytes_exactly() -> None:
    msg = build_update(0x01020304, 640, 480, [])
    body = (
        b"\x04\x03\x02\x01"  # sequence
        + b"\x00\x00"  # flags
        + b"\x80\x02"  # width 640
        + b"\xe0\x01"  # height 480
        + b"\x00\x00"  # reserved
        + b"\x00\x00\x00\x00"  # op count
    )
    assert msg == header(1, 16) + body
    assert len(msg) == 24


def test_keyframe_with_hash_and_one_fill_parses_back() -> None:
    """A KEYFRAME needs ops that cover the frame: here one FILL of 2x3."""
    fill = EncodedOp(Op.FILL, Rect(0, 0, 2, 3), b"\x01\x02\x03")
    msg = build_update(7, 2, 3, [fill], keyframe=True, framebuffer_hash=0x1122334455667788)
    expected = (
        header(1, 24 + 14 + 3)
        + struct.pack("<I", 7)
        + b"\x03\x00"  # KEYFRAME | HASH
        + b"\x02\x00\x03\x00\x00\x00"
        + b"\x01\x00\x00\x00"  # one op
        + bytes.fromhex("8877665544332211")
        + b"\x01\x00" + bytes(4) + b"\x02\x00\x03\x00" + b"\x03\x00\x00\x00\x01\x02\x03"
    )  # fmt: skip
    assert msg == expected
    mtype, body = split_message(msg)
    assert mtype is MessageType.UPDATE
    u = parse_update(body)
    assert (u.sequence, u.width, u.height, u.keyframe) == (7, 2, 3, True)
    assert u.flags == UpdateFlags.KEYFRAME | UpdateFlags.HASH
    assert u.framebuffer_hash == 0x1122334455667788
    assert [(o.op, o.rect) for o in u.ops] == [(Op.FILL, Rect(0, 0, 2, 3))]


def test_sequence_wraps_at_2_32() -> None:
    msg = build_update((1 << 32) + 5, 1, 1, [])
    assert msg[8:12] == b"\x05\x00\x00\x00"


def op_bytes(kind: int, r: Rect, payload: bytes) -> bytes:
    x, y, w, h = r.x, r.y, r.w, r.h
    # op, op flags 0, x, y, w, h (u16 each), payload length (u32), payload
    return (
        bytes([kind, 0])
        + b"".join(v.to_bytes(2, "little") for v in (x, y, w, h))
        + len(payload).to_bytes(4, "little")
        + payload
    )


OPS = [
    (Op.FILL, Rect(1, 2, 3, 4), b"\x10\x20\x30"),
    (Op.RAW, Rect(0, 0, 2, 1), bytes(range(6))),
    (Op.ZSTD, Rect(5, 5, 1, 1), b"(\xb5/\xfd anything"),  # parser does not decompress
    (Op.PALETTE, Rect(0, 1, 9, 2), b"\x01\x00\x02\x00" + bytes(6) + b"zz"),
    (Op.VIDEO, Rect(0, 0, 10, 10), b"h264"),
    (Op.ZSTREAM, Rect(2, 2, 3, 3), b"\x00\x00\x00\x00blocks"),  # nor decode streams
]


@pytest.mark.parametrize(("kind", "rect", "payload"), OPS, ids=[o[0].name for o in OPS])
def test_each_op_layout(kind: Op, rect: Rect, payload: bytes) -> None:
    msg = build_update(3, 10, 10, [EncodedOp(kind, rect, payload)])
    op = op_bytes(kind, rect, payload)
    body = struct.pack("<I", 3) + b"\x00\x00\x0a\x00\x0a\x00\x00\x00\x01\x00\x00\x00" + op
    assert msg == header(1, len(body)) + body
    u = parse_update(split_message(msg)[1])
    (v,) = u.ops
    assert (v.op, v.flags, v.rect, bytes(v.payload)) == (kind, 0, rect, payload)


def test_copy_op_layout() -> None:
    e = copy_op(0x0102, 0x0304, Rect(1, 1, 2, 2))
    assert bytes(e.payload) == b"\x02\x01\x04\x03"
    msg = build_update(0, 8, 8, [e])
    assert msg.endswith(op_bytes(5, Rect(1, 1, 2, 2), b"\x02\x01\x04\x03"))


def test_zstream_op_layout() -> None:
    """Op flag bit 0 RESET; the payload is the u32 stream position, then the
    stream's bytes as they are."""
    e = zstream_op(Rect(1, 2, 3, 4), 0x01020304, b"zstd", reset=False)
    assert (e.op, e.flags, bytes(e.payload)) == (Op.ZSTREAM, 0, b"\x04\x03\x02\x01zstd")
    r = zstream_op(Rect(1, 2, 3, 4), 0, b"(\xb5/\xfd", reset=True)
    msg = build_update(0, 8, 8, [r])
    assert msg.endswith(
        bytes([7, 1]) + struct.pack("<HHHHI", 1, 2, 3, 4, 8) + b"\0\0\0\0(\xb5/\xfd"
    )
    assert zstream_op(Rect(0, 0, 1, 1), (1 << 32) + 5, b"x").payload[:4] == b"\x05\0\0\0"


def test_several_ops_back_to_back_in_order() -> None:
    ops = [EncodedOp(k, r, p) for k, r, p in OPS]
    msg = build_update(0, 10, 10, ops, framebuffer_hash=1)
    body = split_message(msg)[1]
    assert bytes(body[24:]) == b"".join(op_bytes(k, r, p) for k, r, p in OPS)
    u = parse_update(body)
    assert [(o.op, o.rect, bytes(o.payload)) for o in u.ops] == [(k, r, p) for k, r, p in OPS]


def test_payloads_are_views_into_the_message() -> None:
    msg = bytearray(build_update(0, 4, 4, [EncodedOp(Op.RAW, Rect(0, 0, 1, 1), b"abc")]))
    (v,) = parse_update(split_message(msg)[1]).ops
    msg[-1] = ord("Z")
    assert bytes(v.payload) == b"abZ"


def test_cursor_shape_layout() -> None:
    px = bytes(range(2 * 3 * 4))
    msg = build_cursor_shape(0xAABBCCDDEEFF0011, 2, 3, (1, 2), px)
    body = bytes.fromhex("1100ffeeddccbbaa") + b"\x02\x00\x03\x00\x01\x00\x02\x00" + px
    assert msg == header(2, len(body)) + body
    s = parse_cursor_shape(split_message(msg)[1])
    assert (s.shape_id, s.width, s.height, s.hotspot_x, s.hotspot_y) == (
        0xAABBCCDDEEFF0011,
        2,
        3,
        1,
        2,
    )
    assert bytes(s.pixels) == px


def test_cursor_position_layout_is_25_bytes() -> None:
    msg = build_cursor_position(-2, 70000, 0x0102030405060708, visible=False)
    body = struct.pack("<i", -2) + struct.pack("<i", 70000) + bytes.fromhex("0807060504030201")
    assert msg == header(3, 17) + body + b"\x00"
    assert len(msg) == 25
    assert parse_cursor_position(split_message(msg)[1]) == CursorPosition(
        -2, 70000, 0x0102030405060708, False
    )
    assert build_cursor_position(0, 0, 0)[-1] == 1


def test_cursor_position_clamps_to_int32() -> None:
    p = parse_cursor_position(split_message(build_cursor_position(-(1 << 40), 1 << 40, 0))[1])
    assert (p.x, p.y) == (-(1 << 31), (1 << 31) - 1)


def test_build_message_and_header_round_trip() -> None:
    msg = build_message(MessageType.CURSOR_POSITION, [b"ab", bytearray(b"c"), memoryview(b"d")])
    assert msg == header(3, 4) + b"abcd"
    assert parse_header(msg) == (MessageType.CURSOR_POSITION, 4)


@pytest.mark.parametrize(
    ("w", "h"), [(0, 1), (1, 0), (MAX_DIMENSION + 1, 1), (1, MAX_DIMENSION + 1)]
)
def test_builder_refuses_bad_sizes(w: int, h: int) -> None:
    with pytest.raises(ValueError, match="outside the wire's limits"):
        build_update(0, w, h, [])


@pytest.mark.parametrize(
    "rect", [Rect(-1, 0, 1, 1), Rect(0, 0, 0, 1), Rect(0, 0, 1, 0), Rect(9, 0, 2, 1)]
)
def test_builder_refuses_rects_outside_the_frame(rect: Rect) -> None:
    with pytest.raises(ValueError, match="lies outside"):
        build_update(0, 10, 10, [EncodedOp(Op.FILL, rect, b"\0\0\0")])


def test_builder_cursor_checks() -> None:
    with pytest.raises(ValueError, match="not supported"):
        build_cursor_shape(1, 257, 1, (0, 0), bytes(257 * 4))
    with pytest.raises(ValueError, match="do not match"):
        build_cursor_shape(1, 2, 2, (0, 0), bytes(15))
    # an out-of-range hotspot is clamped into the shape
    s = parse_cursor_shape(split_message(build_cursor_shape(1, 2, 2, (9, -3), bytes(16)))[1])
    assert (s.hotspot_x, s.hotspot_y) == (1, 0)


def test_video_payload_header_matches_the_spec() -> None:
    """VIDEO payload: codec (1), flags (1: bit 0 IDR, bit 1 CHROMA_420),
    stream id (2), frame number (4); the KEYFRAME rule reads byte 1."""
    assert VIDEO_HEADER.pack(1, 3, 0x0203, 0x04050607) == bytes.fromhex("0103030207060504")
    assert (int(VideoFlags.IDR), int(VideoFlags.CHROMA_420)) == (1, 2)


def test_an_unknown_type_is_framed_by_magic_and_length() -> None:
    """Every version keeps the 8-byte header, so any message can be stepped over."""
    msg = header(200, 3) + b"new"
    assert read_header(msg) == (1, 200, 3)
    version, kind, body = split_frame(msg)
    assert (version, kind, bytes(body)) == (1, 200, b"new")
    with pytest.raises(DecodeError, match="unknown message type 200"):
        split_message(msg)
