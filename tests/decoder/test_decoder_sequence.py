"""Sequence numbers (docs/protocol.md, "Sequence numbers"), with messages
built byte by byte from the spec's text, and the reference encoder's numbering."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError
from screencodec.frames import framebuffer_hash

W, H = 8, 6


def message(kind: int, body: bytes) -> bytes:
    return b"SC" + bytes([1, kind]) + struct.pack("<I", len(body)) + body


def update(
    seq: int, ops: bytes = b"", count: int = 0, *, key: bool = False, fb_hash: int | None = None
) -> bytes:
    flags = (1 if key else 0) | (2 if fb_hash is not None else 0)
    body = struct.pack("<IHHHHI", seq, flags, W, H, 0, count)
    if fb_hash is not None:
        body += struct.pack("<Q", fb_hash)
    return message(1, body + ops)


def fill(x: int, y: int, w: int, h: int, bgr: bytes) -> bytes:
    """Op FILL (1), flags 0, the rect, payload length 3, the colour."""
    return struct.pack("<BBHHHHI", 1, 0, x, y, w, h, 3) + bgr


def keyframe(seq: int, bgr: bytes = b"\x10\x20\x30") -> bytes:
    return update(seq, fill(0, 0, W, H, bgr), 1, key=True)


def dot(seq: int, bgr: bytes) -> bytes:
    """A delta painting pixel (0, 0)."""
    return update(seq, fill(0, 0, 1, 1, bgr), 1)


def pixel(dec: ScreenDecoder) -> bytes:
    fb = dec.framebuffer
    assert fb is not None
    return bytes(fb[0, 0, :3])


def test_deltas_must_follow_by_one() -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(40))
    dec.decode(dot(41, b"\1\1\1"))
    dec.decode(dot(42, b"\2\2\2"))
    assert dec.sequence == 42 and pixel(dec) == b"\2\2\2"


@pytest.mark.parametrize("seq", [44, 42, 0, 40], ids=["gap", "repeat", "restart", "behind"])
def test_a_delta_out_of_sequence_is_refused_and_needs_a_keyframe(seq: int) -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(40))
    dec.decode(dot(41, b"\1\1\1"))
    dec.decode(dot(42, b"\2\2\2"))
    before = dec.framebuffer.copy()  # type: ignore[union-attr]
    with pytest.raises(DecodeError, match=r"an update was lost"):
        dec.decode(dot(seq, b"\3\3\3"))
    assert dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, before)
    # what follows is skipped until a keyframe, which may carry any number
    dec.decode(dot(43, b"\4\4\4"))
    assert dec.skipped == 1 and pixel(dec) == b"\2\2\2"
    dec.decode(keyframe(7, b"\5\5\5"))
    assert not dec.needs_keyframe and dec.sequence == 7
    dec.decode(dot(8, b"\6\6\6"))
    assert pixel(dec) == b"\6\6\6"


def test_numbers_wrap_at_2_32() -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(0xFFFFFFFE))
    dec.decode(dot(0xFFFFFFFF, b"\1\1\1"))
    dec.decode(dot(0, b"\2\2\2"))
    assert dec.sequence == 0 and pixel(dec) == b"\2\2\2"


def test_an_empty_delta_carries_the_next_number_and_does_not_count() -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(5))
    dec.decode(update(6))  # empty: the number the next update will carry
    dec.decode(update(6))
    assert dec.sequence == 5
    dec.decode(dot(6, b"\1\1\1"))  # which it does
    assert dec.sequence == 6
    with pytest.raises(DecodeError, match="an update was lost"):
        dec.decode(update(6))  # an empty delta is checked too: 7 belongs here


def test_a_hashed_delta_is_judged_by_its_hash_not_its_number() -> None:
    dec = ScreenDecoder()
    dec.decode(keyframe(0))
    expect = dec.framebuffer.copy()  # type: ignore[union-attr]
    expect[0, 0, :3] = (1, 2, 3)
    dec.decode(update(9, fill(0, 0, 1, 1, b"\1\2\3"), 1, fb_hash=framebuffer_hash(expect)))
    assert dec.sequence == 9 and not dec.needs_keyframe
    dec.decode(update(10, fb_hash=framebuffer_hash(expect)))  # hashed: counts even empty
    assert dec.sequence == 10
    dec.decode(dot(11, b"\1\2\3"))  # and an unhashed delta follows it by one


def test_keyframes_and_size_changes_do_not_restart_the_encoders_count() -> None:
    enc, dec = ScreenEncoder(64, 64, threads=1), ScreenDecoder()
    src = SyntheticDesktop(64, 64, scenario="typing", seed=2)
    numbers = []
    for i in range(12):
        if i == 4:
            enc.request_keyframe()
        frame = src.frame_at(i)
        if i >= 8:
            frame = np.ascontiguousarray(frame[:48])  # a new size: a keyframe
        dec.decode(enc.encode(frame))
        numbers.append((enc.last.sequence, enc.last.keyframe, bool(enc.last.ops)))
    assert numbers[0] == (0, True, True)
    counted = 0
    for seq, key, has_ops in numbers:
        assert seq == counted
        counted += key or has_ops
    assert numbers[4][1] and numbers[8][1] and numbers[8][0] > 0


def test_dropping_every_empty_update_leaves_no_gap() -> None:
    """What the session does: empty deltas stay unsent. An idle desktop
    makes many; the viewer must see a gap-free sequence."""
    src = SyntheticDesktop(96, 64, scenario="typing", seed=1)
    enc, dec = ScreenEncoder(96, 64, threads=1), ScreenDecoder()
    sent = dropped = 0
    for i in range(40):
        data = enc.encode(src.frame_at(i // 4))  # every frame shown 4 times: idle stretches
        if not enc.last.keyframe and not enc.last.ops:
            dropped += 1
            continue
        dec.decode(data)
        sent += 1
    assert dropped >= 25 and sent >= 5
    assert dec.sequence == sent - 1 and not dec.needs_keyframe
    assert np.array_equal(dec.framebuffer[..., :3], src.frame_at(9)[..., :3])  # type: ignore[index]
