"""UPDATE rules of docs/protocol.md, each with messages built from the text:
what a KEYFRAME must be, the order of overlapping COPYs, and the op-count
bound after the hash."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.wire import covers_frame

W, H = 8, 6


def message(body: bytes) -> bytes:
    return b"SC\x01\x01" + struct.pack("<I", len(body)) + body


def update(seq: int, ops: list[bytes], *, key: bool = False, fb_hash: bytes = b"") -> bytes:
    flags = (1 if key else 0) | (2 if fb_hash else 0)
    return message(struct.pack("<IHHHHI", seq, flags, W, H, 0, len(ops)) + fb_hash + b"".join(ops))


def op(kind: int, rect: tuple[int, int, int, int], payload: bytes) -> bytes:
    return struct.pack("<BBHHHHI", kind, 0, *rect, len(payload)) + payload


def fill(x: int, y: int, w: int, h: int, bgr: bytes) -> bytes:
    return op(1, (x, y, w, h), bgr)


def raw(x: int, y: int, w: int, h: int, seed: int) -> bytes:
    return op(2, (x, y, w, h), bytes((seed + i) % 256 for i in range(w * h * 3)))


def copy(src: tuple[int, int], rect: tuple[int, int, int, int]) -> bytes:
    return op(5, rect, struct.pack("<HH", *src))


def video(x: int, y: int, w: int, h: int, flags: int) -> bytes:
    """A VIDEO op header (codec 1, ``flags``, stream 3, frame 0) and no picture."""
    return op(6, (x, y, w, h), struct.pack("<BBHI", 1, flags, 3, 0) + b"\0\0\0\1")


def synced() -> ScreenDecoder:
    dec = ScreenDecoder()
    dec.decode(update(0, [raw(0, 0, W, H, 1)], key=True))
    return dec


# -- KEYFRAME ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "ops",
    [
        [fill(0, 0, W, H, b"\1\2\3")],
        [fill(0, 0, 4, H, b"\1\2\3"), fill(4, 0, 4, H, b"\4\5\6")],
        [fill(0, 0, W, H, b"\1\2\3"), raw(2, 2, 3, 3, 9)],  # overlaps are fine
        [
            raw(0, 0, 5, 4, 1),
            raw(3, 2, 5, 4, 2),
            fill(0, 4, 3, 2, b"\7" * 3),
            fill(5, 0, 3, 2, b"\1" * 3),
        ],
    ],
    ids=["one fill", "two halves", "overlap", "pinwheel"],
)
def test_a_covering_keyframe_gives_the_same_picture_whatever_was_before(ops: list[bytes]) -> None:
    pictures = []
    for before in (None, 1, 2):
        dec = ScreenDecoder()
        if before is not None:
            dec.decode(update(0, [raw(0, 0, W, H, before)], key=True))
        dec.decode(update(1, ops, key=True))
        pictures.append(dec.framebuffer.copy())  # type: ignore[union-attr]
    assert all(np.array_equal(p, pictures[0]) for p in pictures)


@pytest.mark.parametrize(
    ("ops", "match"),
    [
        ([], "do not cover"),
        ([fill(0, 0, W, H - 1, b"\1\2\3")], "do not cover"),  # the last row is missing
        ([fill(0, 0, 4, H, b"\1\2\3"), fill(5, 0, 3, H, b"\1\2\3")], "do not cover"),  # a column
        (
            [raw(0, 0, 5, 4, 1), raw(3, 2, 5, 4, 2), fill(0, 4, 3, 2, b"\7" * 3)],
            "do not cover",  # the pinwheel without its last blade
        ),
        ([fill(0, 0, W, H, b"\1\2\3"), copy((0, 0), (1, 1, 2, 2))], "COPY"),
        ([fill(0, 0, W, H, b"\1\2\3"), video(0, 0, 2, 2, 0)], "not an IDR"),
        ([fill(0, 0, W, H, b"\1\2\3"), video(0, 0, 2, 2, 2)], "not an IDR"),  # 4:2:0, no IDR
        ([fill(0, 0, W, H, b"\1\2\3"), op(6, (0, 0, 2, 2), b"\1")], "not an IDR"),  # too short
    ],
    ids=["no ops", "row", "column", "pinwheel gap", "copy", "p picture", "p 420", "short"],
)
def test_a_keyframe_that_depends_on_the_old_picture_is_refused(
    ops: list[bytes], match: str
) -> None:
    dec = synced()
    before = dec.framebuffer.copy()  # type: ignore[union-attr]
    with pytest.raises(DecodeError, match=match):
        dec.decode(update(1, ops, key=True))
    assert np.array_equal(dec.framebuffer, before) and dec.needs_keyframe


def test_covers_frame_against_a_pixel_mask() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        w, h = int(rng.integers(1, 12)), int(rng.integers(1, 9))
        rects = []
        for _ in range(int(rng.integers(0, 6))):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            rects.append((x, y, int(rng.integers(1, w - x + 1)), int(rng.integers(1, h - y + 1))))
        mask = np.zeros((h, w), bool)
        for x, y, rw, rh in rects:
            mask[y : y + rh, x : x + rw] = True
        arr = np.array(rects, np.int64).reshape(-1, 4)
        assert covers_frame(arr, w, h) == bool(mask.all()), (w, h, rects)


# -- COPY ---------------------------------------------------------------------------


def test_overlapping_copy_destinations_apply_in_op_order() -> None:
    """Both read the old picture; where their destinations overlap the later
    one's pixels stay, then the other ops paint in op order."""
    for order in ((0, 1), (1, 0)):
        dec = synced()
        old = dec.framebuffer.copy()  # type: ignore[union-attr]
        copies = [copy((0, 0), (2, 2, 3, 3)), copy((5, 3), (3, 3, 3, 3))]
        dec.decode(
            update(1, [copies[order[0]], copies[order[1]], fill(4, 4, 1, 1, b"\x09\x09\x09")])
        )
        fb = dec.framebuffer
        assert fb is not None
        first, second = ((0, 0), (5, 3)) if order == (0, 1) else ((5, 3), (0, 0))
        dst = {(0, 0): (2, 2), (5, 3): (3, 3)}
        expect = old.copy()
        for sx, sy in (first, second):
            dx, dy = dst[sx, sy]
            expect[dy : dy + 3, dx : dx + 3] = old[sy : sy + 3, sx : sx + 3]
        expect[4, 4, :3] = 9
        assert np.array_equal(fb, expect), order


# -- op count ----------------------------------------------------------------------


def test_the_op_count_bound_counts_the_bytes_after_the_hash() -> None:
    """(length - 16 - 8) / 14 with HASH: the hash's 8 bytes are not room for an op."""
    dec = synced()
    body = struct.pack("<IHHHHI", 1, 2, W, H, 0, 1) + bytes(8) + bytes(13)
    with pytest.raises(DecodeError, match="op count 1 does not fit in 13 bytes"):
        dec.decode(message(body))
    body = struct.pack("<IHHHHI", 1, 0, W, H, 0, 2) + bytes(8) + bytes(13)  # 21 bytes: 1 op
    with pytest.raises(DecodeError, match="op count 2 does not fit in 21 bytes"):
        dec.decode(message(body))
