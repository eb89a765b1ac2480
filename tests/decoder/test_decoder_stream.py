"""Skipping, refusing and recovering (docs/protocol.md, "Refusing, skipping and
recovering", "Decoding a byte stream", "Versioning"), for one-shot ``decode``
and the stream decoder ``feed``; messages built from the spec's text."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError

W, H = 8, 6


def message(kind: int, body: bytes, *, version: int = 1, magic: bytes = b"SC") -> bytes:
    return magic + bytes([version, kind]) + struct.pack("<I", len(body)) + body


def fill(x: int, y: int, w: int, h: int, bgr: bytes) -> bytes:
    return struct.pack("<BBHHHHI", 1, 0, x, y, w, h, 3) + bgr


def keyframe(seq: int, bgr: bytes) -> bytes:
    return message(1, struct.pack("<IHHHHI", seq, 1, W, H, 0, 1) + fill(0, 0, W, H, bgr))


def dot(seq: int, bgr: bytes) -> bytes:
    return message(1, struct.pack("<IHHHHI", seq, 0, W, H, 0, 1) + fill(0, 0, 1, 1, bgr))


def position(x: int, y: int, shape_id: int = 0, visible: int = 1) -> bytes:
    return message(3, struct.pack("<iiQB", x, y, shape_id, visible))


def shape(shape_id: int, w: int = 2, h: int = 2, hx: int = 0, hy: int = 0) -> bytes:
    return message(2, struct.pack("<QHHHH", shape_id, w, h, hx, hy) + bytes(range(w * h * 4)))


def colour(dec: ScreenDecoder) -> bytes:
    fb = dec.framebuffer
    assert fb is not None
    return bytes(fb[0, 0, :3]) + bytes(fb[-1, -1, :3])


def feed_all(dec: ScreenDecoder, data: bytes, step: int) -> list[DecodeError]:
    """Feed ``data`` in chunks of ``step`` bytes; the errors raised."""
    errors = []
    for i in range(0, len(data), step):
        try:
            dec.feed(data[i : i + step])
        except DecodeError as e:
            errors.append(e)
    return errors


# -- unknown types are skipped --------------------------------------------------------


@pytest.mark.parametrize("kind", [0, 4, 200, 255])
def test_decode_skips_an_unknown_type(kind: int) -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(0, b"\1\1\1"))
    dec.decode(message(kind, b"new things"))
    assert dec.ignored == 1 and not dec.needs_keyframe
    dec.decode(dot(1, b"\2\2\2"))
    assert colour(dec) == b"\2\2\2\1\1\1"


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_feed_skips_unknown_types_by_their_length(step: int) -> None:
    """Regression: one unknown type used to wedge feed() for good."""
    stream = (
        keyframe(0, b"\1\1\1")
        + message(9, b"SC\x01\x01" + bytes(40))  # a body that looks like a header
        + dot(1, b"\2\2\2")
        + message(77, b"")
        + position(3, 4)
        + dot(2, b"\3\3\3")
    )
    dec = ScreenDecoder()
    assert feed_all(dec, stream, step) == []
    assert dec.ignored == 2 and dec.updates == 3 and not dec.needs_keyframe
    assert colour(dec) == b"\3\3\3\1\1\1"
    assert dec.cursor is not None and (dec.cursor.x, dec.cursor.y) == (3, 4)


# -- another version is refused but framed ---------------------------------------------


def test_another_version_is_refused_and_stepped_over() -> None:
    dec = ScreenDecoder()
    stream = keyframe(0, b"\1\1\1") + message(1, bytes(30), version=2) + dot(1, b"\2\2\2")
    errors = feed_all(dec, stream + keyframe(5, b"\4\4\4") + dot(6, b"\5\5\5"), 7)
    assert [str(e) for e in errors] == ["unsupported wire version 2 (this decoder reads 1)"]
    assert dec.skipped == 1  # the delta after it, while a keyframe was needed
    assert colour(dec) == b"\5\5\5\4\4\4" and not dec.needs_keyframe
    with pytest.raises(DecodeError, match="unsupported wire version 2"):
        dec.decode(message(2, b"", version=2))
    assert dec.needs_keyframe


# -- lost framing: search for the next keyframe -------------------------------------------


@pytest.mark.parametrize("step", [1, 3, 64, 100_000])
@pytest.mark.parametrize(
    "damage",
    [b"XX\x01\x01\x00\x00\x00\x00", b"SC\x01\x01\xff\xff\xff\xff", b"\x00" * 9],
    ids=["bad magic", "huge length", "zeros"],
)
def test_lost_framing_recovers_at_the_next_keyframe(step: int, damage: bytes) -> None:
    dec = ScreenDecoder(max_message_size=1 << 20)
    stream = (
        keyframe(0, b"\1\1\1")
        + damage
        + dot(1, b"\2\2\2")  # lost with the framing: skipped over by the search
        + position(7, 7)
        + keyframe(5, b"\4\4\4")
        + dot(6, b"\5\5\5")
        + position(9, 9)
    )
    errors = feed_all(dec, stream, step)
    assert len(errors) == 1 and "framing is lost" in str(errors[0])
    assert colour(dec) == b"\5\5\5\4\4\4" and not dec.needs_keyframe
    assert dec.cursor is not None and (dec.cursor.x, dec.cursor.y) == (9, 9)
    assert dec.updates == 3  # 0, 5 and 6: the dot after the damage never applied


def test_a_false_keyframe_header_does_not_hide_the_real_one() -> None:
    """A keyframe-like header whose length covers the real keyframe is tried,
    refused, and the search goes on from its second byte."""
    real = keyframe(5, b"\4\4\4")
    fake_body = struct.pack("<IHHHHI", 0, 1, W, H, 0, 1) + bytes(14)  # op 0: refused
    fake = b"SC\x01\x01" + struct.pack("<I", len(fake_body) + len(real)) + fake_body
    stream = keyframe(0, b"\1\1\1") + b"garbage!" + fake + real + dot(6, b"\5\5\5")
    dec = ScreenDecoder()
    errors = feed_all(dec, stream, 1)
    assert len(errors) == 2  # the lost framing, then the fake keyframe
    assert colour(dec) == b"\5\5\5\4\4\4" and not dec.needs_keyframe


def test_the_search_keeps_a_mark_cut_by_a_chunk() -> None:
    dec = ScreenDecoder()
    with pytest.raises(DecodeError):
        dec.feed(keyframe(0, b"\1\1\1") + b"\xff" * 50 + b"S")
    dec.feed(b"C" + keyframe(3, b"\2\2\2")[2:])
    assert colour(dec) == b"\2\2\2\2\2\2" and not dec.needs_keyframe


# -- cursor messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        shape(0),  # id 0 names no shape
        shape(5, hx=2),  # hotspot outside
        shape(5, w=0),
        message(2, struct.pack("<QHHHH", 5, 2, 2, 0, 0) + bytes(15)),  # pixels short
        position(1, 1, visible=2),
        message(3, bytes(16)),  # 16 of 17 bytes
    ],
    ids=["id 0", "hotspot", "width 0", "pixels", "visible 2", "short position"],
)
def test_a_refused_cursor_message_needs_a_keyframe(bad: bytes) -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(0, b"\1\1\1"))
    before = dec.framebuffer.copy()  # type: ignore[union-attr]
    with pytest.raises(DecodeError):
        dec.decode(bad)
    assert dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, before)
    dec.decode(dot(1, b"\2\2\2"))
    assert dec.skipped == 1
    dec.decode(keyframe(2, b"\3\3\3"))
    assert not dec.needs_keyframe


def test_shape_ids_are_opaque_keys_and_position_id_0_is_no_shape() -> None:
    dec = ScreenDecoder()
    dec.decode(shape(12345))  # not the xxh3 of the shape: not checked
    img = dec.cursor_image(12345)
    assert img is not None and img.pixels.shape == (2, 2, 4)
    dec.decode(shape(12345, w=1, h=1))  # the same id replaces the shape
    img = dec.cursor_image(12345)
    assert img is not None and img.pixels.shape == (1, 1, 4)
    dec.decode(position(3, 4, 0))
    assert dec.cursor is not None and dec.cursor.shape_id == 0
    assert dec.cursor_image(0) is None
