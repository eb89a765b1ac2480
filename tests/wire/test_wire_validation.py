"""Every validation rule of wire/parse.py, each hit by a test that names its error."""

from __future__ import annotations

import struct

import pytest

from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.wire import (
    MAX_DIMENSION,
    EncodedOp,
    MessageReader,
    MessageType,
    Op,
    build_cursor_position,
    build_cursor_shape,
    build_update,
    parse_cursor_position,
    parse_cursor_shape,
    parse_header,
    parse_update,
    split_message,
)
from screencodec.wire.format import MAX_BODY_SIZE
from screencodec.wire.parse import MAX_OP_COVERAGE


def hdr(kind: int = 1, length: int = 0, *, magic: bytes = b"SC", version: int = 1) -> bytes:
    return magic + bytes([version, kind]) + struct.pack("<I", length)


def upd(
    *,
    seq: int = 0,
    flags: int = 0,
    w: int = 10,
    h: int = 10,
    reserved: int = 0,
    count: int = 0,
    rest: bytes = b"",
) -> memoryview:
    """An UPDATE body with any field set, bypassing the builder's checks."""
    return memoryview(struct.pack("<IHHHHI", seq, flags, w, h, reserved, count) + rest)


def op(
    kind: int = 1,
    *,
    x: int = 0,
    y: int = 0,
    w: int = 1,
    h: int = 1,
    payload: bytes = b"abc",
    plen: int | None = None,
    flags: int = 0,
) -> bytes:
    n = len(payload) if plen is None else plen
    return struct.pack("<BBHHHHI", kind, flags, x, y, w, h, n) + payload


# -- header ---------------------------------------------------------------------


@pytest.mark.parametrize("n", range(8))
def test_truncated_header(n: int) -> None:
    with pytest.raises(DecodeError, match=f"truncated header: {n} of 8 bytes"):
        parse_header(hdr()[:n])


@pytest.mark.parametrize("magic", [b"SD", b"sc", b"\0\0", b"CS"])
def test_bad_magic(magic: bytes) -> None:
    with pytest.raises(DecodeError, match="bad magic"):
        parse_header(hdr(magic=magic))


@pytest.mark.parametrize("version", [0, 2, 255])
def test_wrong_version(version: int) -> None:
    with pytest.raises(DecodeError, match=f"unsupported wire version {version}"):
        parse_header(hdr(version=version))


@pytest.mark.parametrize("kind", [0, 4, 255])
def test_unknown_type(kind: int) -> None:
    with pytest.raises(DecodeError, match=f"unknown message type {kind}"):
        parse_header(hdr(kind=kind))


def test_body_length_limits() -> None:
    assert parse_header(hdr(length=MAX_BODY_SIZE)) == (MessageType.UPDATE, MAX_BODY_SIZE)
    with pytest.raises(DecodeError, match="exceeds the limit"):
        parse_header(hdr(length=MAX_BODY_SIZE + 1))
    with pytest.raises(DecodeError, match="exceeds the limit"):
        parse_header(hdr(length=0xFFFFFFFF))
    # a configured cap below the wire's
    assert parse_header(hdr(length=100), max_body=100)[1] == 100
    with pytest.raises(DecodeError, match="101 bytes exceeds the limit of 100"):
        parse_header(hdr(length=101), max_body=100)
    # and a configured cap above the wire's does not raise it
    with pytest.raises(DecodeError, match="exceeds the limit"):
        parse_header(hdr(length=MAX_BODY_SIZE + 1), max_body=1 << 40)


def test_split_message_truncated_and_trailing() -> None:
    msg = build_update(0, 4, 4, [])
    assert split_message(msg)[0] is MessageType.UPDATE
    with pytest.raises(DecodeError, match="truncated message: 23 of 24 bytes"):
        split_message(msg[:-1])
    with pytest.raises(DecodeError, match="2 trailing bytes after the message"):
        split_message(msg + b"\0\0")
    with pytest.raises(DecodeError, match="truncated header"):
        split_message(b"")


# -- update header ----------------------------------------------------------------


@pytest.mark.parametrize("n", range(16))
def test_truncated_update_header(n: int) -> None:
    with pytest.raises(DecodeError, match="truncated update header"):
        parse_update(upd()[:n])


@pytest.mark.parametrize("flags", [4, 8, 0x8000, 0xFFFF, 0x0103])
def test_unknown_update_flags(flags: int) -> None:
    with pytest.raises(DecodeError, match="unknown update flags"):
        parse_update(upd(flags=flags, rest=bytes(8)))


@pytest.mark.parametrize("reserved", [1, 0x8000])
def test_nonzero_reserved(reserved: int) -> None:
    with pytest.raises(DecodeError, match="reserved update field is not zero"):
        parse_update(upd(reserved=reserved))


@pytest.mark.parametrize(
    ("w", "h"), [(0, 1), (1, 0), (0, 0), (MAX_DIMENSION + 1, 1), (1, MAX_DIMENSION + 1), (65535, 1)]
)
def test_zero_or_oversized_dimensions(w: int, h: int) -> None:
    with pytest.raises(DecodeError, match=f"frame size {w}x{h} outside"):
        parse_update(upd(w=w, h=h))


def test_dimension_limits_inclusive_and_configurable() -> None:
    assert parse_update(upd(w=MAX_DIMENSION, h=MAX_DIMENSION)).width == MAX_DIMENSION
    assert parse_update(upd(w=1, h=1)).height == 1
    assert parse_update(upd(w=100, h=50), max_width=100, max_height=50).width == 100
    with pytest.raises(DecodeError, match="frame size 101x50"):
        parse_update(upd(w=101, h=50), max_width=100, max_height=50)
    with pytest.raises(DecodeError, match="frame size 100x51"):
        parse_update(upd(w=100, h=51), max_width=100, max_height=50)


@pytest.mark.parametrize("n", range(8))
def test_truncated_hash(n: int) -> None:
    with pytest.raises(DecodeError, match="truncated update hash"):
        parse_update(upd(flags=2, rest=bytes(n)))


def test_op_count_lie() -> None:
    one = op()
    assert len(parse_update(upd(count=1, rest=one)).ops) == 1
    with pytest.raises(DecodeError, match=r"op count 2 does not fit in 17 bytes"):
        parse_update(upd(count=2, rest=one))
    with pytest.raises(DecodeError, match=r"op count 4294967295 does not fit"):
        parse_update(upd(count=0xFFFFFFFF, rest=one))
    # the hash's 8 bytes are not room for ops
    with pytest.raises(DecodeError, match=r"op count 1 does not fit in 6 bytes"):
        parse_update(upd(flags=2, count=1, rest=bytes(8 + 6)))


@pytest.mark.parametrize("kind", [0, 8, 255])
def test_unknown_op(kind: int) -> None:
    with pytest.raises(DecodeError, match=f"op 1: unknown op {kind}"):
        parse_update(upd(count=2, rest=op() + op(kind=kind)))


def test_zstream_framing() -> None:
    """ZSTREAM's flags and its 4-byte position are checked by the parser; the
    stream data is the codec's (it holds the stream)."""
    good = op(7, payload=bytes(4) + b"x", flags=1)
    assert parse_update(upd(count=1, rest=good)).ops[0].flags == 1
    with pytest.raises(DecodeError, match="op 0: unknown ZSTREAM op flags 0x02"):
        parse_update(upd(count=1, rest=op(7, payload=bytes(5), flags=2)))
    for n in (0, 3, 4):
        with pytest.raises(DecodeError, match=f"op 0: ZSTREAM payload of {n} bytes"):
            parse_update(upd(count=1, rest=op(7, payload=bytes(n))))


@pytest.mark.parametrize(("w", "h"), [(0, 1), (1, 0), (0, 0)])
def test_zero_size_rect(w: int, h: int) -> None:
    with pytest.raises(DecodeError, match=f"op 0: rectangle 0,0 {w}x{h} outside"):
        parse_update(upd(count=1, rest=op(w=w, h=h)))


@pytest.mark.parametrize(
    ("x", "y", "w", "h"),
    [
        (0, 0, 11, 1),  # x + w > width
        (10, 0, 1, 1),  # x == width
        (9, 0, 2, 1),
        (0, 0, 1, 11),  # y + h > height
        (0, 10, 1, 1),
        (0, 9, 1, 2),
        (65535, 0, 65535, 1),  # no 16-bit wrap-around
        (0, 65535, 1, 65535),
    ],
)
def test_rect_out_of_bounds(x: int, y: int, w: int, h: int) -> None:
    with pytest.raises(DecodeError, match=f"rectangle {x},{y} {w}x{h} outside the 10x10 frame"):
        parse_update(upd(count=1, rest=op(x=x, y=y, w=w, h=h)))


def test_rect_touching_the_edges_is_fine() -> None:
    u = parse_update(upd(count=2, rest=op(x=9, y=0, w=1, h=10) + op(x=0, y=9, w=10, h=1)))
    assert [o.rect for o in u.ops] == [Rect(9, 0, 1, 10), Rect(0, 9, 10, 1)]


def test_truncated_payload() -> None:
    with pytest.raises(DecodeError, match="op 0: payload of 4 bytes truncated at 3"):
        parse_update(upd(count=1, rest=op(payload=b"abc", plen=4)))
    with pytest.raises(DecodeError, match="op 0: payload of 4294967295 bytes truncated"):
        parse_update(upd(count=1, rest=op(payload=b"abc", plen=0xFFFFFFFF)))


def test_stray_bytes() -> None:
    with pytest.raises(DecodeError, match="1 stray bytes after the last op"):
        parse_update(upd(count=1, rest=op() + b"\0"))
    with pytest.raises(DecodeError, match="13 stray bytes"):
        parse_update(upd(count=0, rest=bytes(13)))
    with pytest.raises(DecodeError, match="2 stray bytes"):
        parse_update(upd(count=1, rest=op(payload=b"abc", plen=1)))


def test_op_flags_are_passed_to_the_codec() -> None:
    # The parser keeps op flags; codecs refuse those they do not know.
    (v,) = parse_update(upd(count=1, rest=op(flags=0x80))).ops
    assert v.flags == 0x80


def test_total_op_area_is_capped() -> None:
    full = op(w=10, h=10)
    assert len(parse_update(upd(count=MAX_OP_COVERAGE, rest=full * MAX_OP_COVERAGE)).ops) == 4
    with pytest.raises(DecodeError, match=f"op {MAX_OP_COVERAGE}: the ops cover more than"):
        parse_update(upd(count=MAX_OP_COVERAGE + 1, rest=full * (MAX_OP_COVERAGE + 1)))


# -- cursor messages --------------------------------------------------------------


def shape(w: int = 2, h: int = 2, hx: int = 0, hy: int = 0, extra: int = 0) -> memoryview:
    return memoryview(struct.pack("<QHHHH", 1, w, h, hx, hy) + bytes(w * h * 4 + extra))


@pytest.mark.parametrize("n", range(16))
def test_truncated_cursor_shape(n: int) -> None:
    with pytest.raises(DecodeError, match="truncated cursor shape"):
        parse_cursor_shape(shape()[:n])


@pytest.mark.parametrize(("w", "h"), [(0, 1), (1, 0), (257, 1), (1, 257), (65535, 65535)])
def test_cursor_shape_size(w: int, h: int) -> None:
    body = memoryview(struct.pack("<QHHHH", 1, w, h, 0, 0))
    with pytest.raises(DecodeError, match=f"cursor size {w}x{h} outside"):
        parse_cursor_shape(body)


def test_cursor_shape_limits_inclusive() -> None:
    assert parse_cursor_shape(shape(256, 256, 255, 255)).width == 256
    assert parse_cursor_shape(shape(1, 1)).height == 1


@pytest.mark.parametrize(("hx", "hy"), [(2, 0), (0, 2), (65535, 0)])
def test_cursor_hotspot_outside(hx: int, hy: int) -> None:
    with pytest.raises(DecodeError, match=f"cursor hotspot {hx},{hy} outside the 2x2 shape"):
        parse_cursor_shape(shape(hx=hx, hy=hy))


@pytest.mark.parametrize("extra", [-1, 1, -16])
def test_cursor_pixels_wrong_length(extra: int) -> None:
    with pytest.raises(DecodeError, match="cursor pixels"):
        parse_cursor_shape(shape(extra=extra))


@pytest.mark.parametrize("n", [0, 16, 18, 100])
def test_cursor_position_wrong_length(n: int) -> None:
    with pytest.raises(DecodeError, match=f"cursor position: {n} bytes, expected 17"):
        parse_cursor_position(memoryview(bytes(n)))


@pytest.mark.parametrize("visible", [2, 255])
def test_cursor_visibility(visible: int) -> None:
    with pytest.raises(DecodeError, match="neither 0 nor 1"):
        parse_cursor_position(memoryview(bytes(16) + bytes([visible])))


# -- MessageReader ----------------------------------------------------------------


def stream() -> list[bytes]:
    return [
        build_update(0, 4, 4, [EncodedOp(Op.FILL, Rect(0, 0, 4, 4), b"\1\2\3")], keyframe=True),
        build_cursor_position(1, 2, 3),
        build_update(1, 4, 4, []),
        build_cursor_shape(9, 1, 1, (0, 0), b"\1\2\3\4"),
        build_update(2, 4, 4, [EncodedOp(Op.RAW, Rect(1, 1, 2, 1), bytes(6))], framebuffer_hash=5),
    ]


def feed(r: MessageReader, chunk: bytes) -> list[bytes]:
    """Push ``chunk`` and pop every message it completes."""
    r.push(chunk)
    out = []
    while (m := r.pop()) is not None:
        out.append(m)
    return out


def test_reader_splits_at_every_single_boundary() -> None:
    msgs = stream()
    data = b"".join(msgs)
    for cut in range(len(data) + 1):
        r = MessageReader()
        out = feed(r, data[:cut]) + feed(r, data[cut:])
        assert out == msgs, cut
        assert r.pending == 0


def test_reader_splits_at_every_pair_of_boundaries() -> None:
    msgs = stream()[:3]
    data = b"".join(msgs)
    for a in range(len(data) + 1):
        for b in range(a, len(data) + 1):
            r = MessageReader()
            out = feed(r, data[:a]) + feed(r, data[a:b]) + feed(r, data[b:])
            assert out == msgs, (a, b)


def test_reader_byte_by_byte_and_pending() -> None:
    msgs = stream()
    data = b"".join(msgs)
    r = MessageReader()
    out: list[bytes] = []
    ends = set()
    pos = 0
    for m in msgs:
        pos += len(m)
        ends.add(pos)
    last_end = 0
    for i in range(len(data)):
        got = feed(r, data[i : i + 1])
        out += got
        assert bool(got) == (i + 1 in ends)
        if got:
            last_end = i + 1
        assert r.pending == i + 1 - last_end
    assert out == msgs
    assert r.pending == 0
    feed(r, data[:5])
    assert r.pending == 5


def test_reader_refuses_a_bad_header_before_buffering_its_body() -> None:
    r = MessageReader(max_body=1000)
    with pytest.raises(DecodeError, match="exceeds the limit of 1000"):
        feed(r, hdr(length=1001))
    assert not r.synced
    r2 = MessageReader()
    good = build_update(0, 1, 1, [])
    r2.push(good + b"XX\x01\x01" + bytes(4))
    assert r2.pop() == good
    with pytest.raises(DecodeError, match="bad magic"):
        r2.pop()
    assert r2.pop() is None  # searching: no keyframe in what is left


def test_reader_frames_other_versions_and_unknown_types() -> None:
    """Magic and length frame every message; the caller judges the rest."""
    msgs = [hdr(version=9, length=3) + b"abc", hdr(kind=77, length=0), build_update(0, 1, 1, [])]
    assert feed(MessageReader(), b"".join(msgs)) == msgs


def test_op_header_truncated_after_an_earlier_payload() -> None:
    """Regression (found by the mutation fuzzer): the up-front count check
    assumes empty payloads, so a later op header could be cut short and
    struct.error escaped instead of a DecodeError."""
    rest = op(payload=bytes(14)) + bytes(5)  # room for 2 headers, not after the payload
    with pytest.raises(DecodeError, match="op 1: truncated op header at 5 bytes"):
        parse_update(upd(count=2, rest=rest))
