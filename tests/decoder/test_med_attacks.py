"""Attacks on the ZSTD op's MED filter (op flags MED | PLANAR = 6) and on the
decoder's COPY path (motion._rowhash.apply_copies, in place), each test named
for the outcome it expects.

MED: zstd frames that declare or hold one byte more or less than w*h*3
(also at 16384x16384, where w*h*3 and w*h*4 come near 2**30), payloads cut
or extended, refused flag values after COPYs, rects of 1x1, one row, one
column at the frame's edges against the spec's inverse written here case by
case, every bit of a payload flipped. COPY: many overlapping, chained and
swapped COPYs against a NumPy model of docs/protocol.md, a COPY followed by
a refused op, HASH mismatches undone. Then the same hostile messages through
the page's JS decoder, which must refuse exactly what Python refuses and
leave its framebuffer as Python leaves its own.
"""

from __future__ import annotations

import json
import runpy
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zstandard

from screencodec.codecs import _pixels, copy_op
from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError, IntegrityError
from screencodec.frames import framebuffer_hash
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, build_update, zstream_op
from screencodec.wire.format import PALETTE_HEADER

ROOT = Path(__file__).resolve().parents[2]
MED = 6
W, H = 37, 23
REFUSED_FLAGS = (4, 5, 7, 8, 0x0E, 0x46, 0x86, 0xFF)

# -- building blocks -----------------------------------------------------------


def noise(seed: int, w: int = W, h: int = H) -> np.ndarray:
    f = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    f[..., 3] = 255
    return f


def keyframe(pic: np.ndarray, seq: int = 0) -> bytes:
    h, w = pic.shape[:2]
    raw = EncodedOp(Op.RAW, Rect(0, 0, w, h), np.ascontiguousarray(pic[..., :3]).tobytes())
    return build_update(seq, w, h, [raw], keyframe=True)


def synced(seed: int = 1, w: int = W, h: int = H) -> tuple[ScreenDecoder, np.ndarray]:
    """A decoder holding a noise picture, expecting update 1 next."""
    pic = noise(seed, w, h)
    dec = ScreenDecoder()
    dec.decode(keyframe(pic))
    return dec, pic


def zstd_frame(data: bytes, **kw: Any) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=True, **kw).compress(data)


def raw_frame(data: bytes, declared: int | None = None, *, checksum: int | None = None) -> bytes:
    """One zstd frame of raw blocks holding ``data`` that declares
    ``declared`` bytes (len(data) by default) in an 8-byte size field."""
    declared = len(data) if declared is None else declared
    fhd = 0xE0 | (4 if checksum is not None else 0)
    out = bytearray(b"\x28\xb5\x2f\xfd" + bytes([fhd]) + (declared % 2**64).to_bytes(8, "little"))
    for i in range(0, max(len(data), 1), 1 << 17):
        chunk = data[i : i + (1 << 17)]
        out += (int(i + (1 << 17) >= len(data)) | (len(chunk) << 3)).to_bytes(3, "little") + chunk
    if checksum is not None:
        out += checksum.to_bytes(4, "little")
    return bytes(out)


def rle_frame(declared: int, produced: int) -> bytes:
    """A zstd frame declaring ``declared`` bytes, with RLE blocks of 128 KiB
    holding ``produced``: a few bytes on the wire for gigabytes."""
    out = bytearray(b"\x28\xb5\x2f\xfd\xe0" + (declared % 2**64).to_bytes(8, "little"))
    left = produced
    while True:
        k = min(left, 1 << 17)
        left -= k
        out += (int(left == 0) | (1 << 1) | (k << 3)).to_bytes(3, "little") + b"\x55"
        if left == 0:
            return bytes(out)


def med_residuals(pic: np.ndarray, rect: Rect) -> bytes:
    return bytes(_pixels.pack_med(pic, rect.x, rect.y, rect.w, rect.h))


def med(rect: Rect, payload: bytes, flags: int = MED) -> EncodedOp:
    return EncodedOp(Op.ZSTD, rect, payload, flags)


def spec_inverse(residuals: bytes, w: int, h: int) -> np.ndarray:
    """docs/protocol.md's MED | PLANAR inverse, case by case (a test oracle:
    small rects only): (h, w, 3) B, G, R."""
    res = np.frombuffer(residuals, np.uint8).reshape(3, h, w).astype(int)
    planes = np.zeros((3, h, w), int)
    for c in range(3):
        p = planes[c]
        for y in range(h):
            for x in range(w):
                if x == 0 and y == 0:
                    pred = 0
                elif y == 0:
                    pred = p[y, x - 1]
                elif x == 0:
                    pred = p[y - 1, x]
                else:
                    a, b, cc = p[y, x - 1], p[y - 1, x], p[y - 1, x - 1]
                    if cc >= max(a, b):
                        pred = min(a, b)
                    elif cc <= min(a, b):
                        pred = max(a, b)
                    else:
                        pred = a + b - cc
                p[y, x] = (res[c, y, x] + pred) % 256
    g = planes[1]
    return np.stack([(planes[0] + g) % 256, g, (planes[2] + g) % 256], axis=-1).astype(np.uint8)


def assert_refused(dec: ScreenDecoder, msg: bytes, before: np.ndarray | None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        dec.decode(msg)
    if before is None:
        assert dec.framebuffer is None
    else:
        assert dec.framebuffer is not None
        assert np.array_equal(dec.framebuffer, before)
    assert dec.needs_keyframe
    return info.value


#: Every hostile message of this module with the state it starts from, for
#: the JS cross-check at the end: (name, messages).
HOSTILE: list[tuple[str, list[bytes]]] = []


def hostile(name: str, pic: np.ndarray, *msgs: bytes) -> None:
    """Remember ``msgs``, each to follow a keyframe of ``pic``."""
    key = keyframe(pic)
    HOSTILE.append((name, [m for msg in msgs for m in (key, msg)]))


# -- MED: sizes ------------------------------------------------------------------

RECT = Rect(5, 4, 13, 11)


DECLARED = [-1, 1, -3, 3, -RECT.area * 3, 2**32, -(2**32) + 1]


@pytest.mark.parametrize("delta", DECLARED)
def test_frame_declaring_other_than_w_h_3_is_refused_and_the_picture_kept(delta: int) -> None:
    """A MED op whose zstd frame declares (and holds) w*h*3 + delta bytes is
    refused, even when delta is a multiple of 2**32 (a 32-bit size field
    would wrap to the right value), and the framebuffer is unchanged."""
    dec, pic = synced()
    data = med_residuals(noise(9), RECT)
    declared = len(data) + delta
    body = (data * 2)[: max(declared, 0)] if 0 <= declared <= 2 * len(data) else data
    msg = build_update(1, W, H, [med(RECT, raw_frame(body, declared))])
    hostile(f"declared{delta}", pic, msg)
    err = assert_refused(dec, msg, pic)
    assert "declares" in str(err)


@pytest.mark.parametrize("delta", [-1, 1, 2**32, 2**31])
def test_declared_sizes_at_16384_squared_are_refused_before_allocating(delta: int) -> None:
    """At 16384x16384, w*h*3 = 805,306,368: a keyframe whose one MED op
    declares that plus delta (also + 2**32 and + 2**31, what 32-bit
    arithmetic would confuse) is refused before any framebuffer exists."""
    n = 16384 * 16384 * 3
    msg = build_update(
        0, 16384, 16384, [med(Rect(0, 0, 16384, 16384), rle_frame(n + delta, 1 << 17))],
        keyframe=True,
    )  # fmt: skip
    dec = ScreenDecoder()
    err = assert_refused(dec, msg, None)
    assert "declares" in str(err)


def test_a_frame_declaring_w_h_3_but_holding_less_is_refused_at_16384_squared() -> None:
    """The declared size right (805,306,368 bytes) but blocks holding 128 KiB:
    refused as corrupt, and no framebuffer comes of it."""
    n = 16384 * 16384 * 3
    msg = build_update(
        0, 16384, 16384, [med(Rect(0, 0, 16384, 16384), rle_frame(n, 1 << 17))], keyframe=True
    )
    assert_refused(ScreenDecoder(), msg, None)


@pytest.mark.parametrize("held", [-1, 1])
def test_raw_blocks_holding_one_byte_more_or_less_than_declared_are_refused(held: int) -> None:
    """The frame declares w*h*3 but its raw blocks hold one byte less or
    more: refused, the framebuffer unchanged."""
    dec, pic = synced()
    data = med_residuals(noise(3), RECT)
    body = data[:-1] if held < 0 else data + b"\x07"
    frame = bytearray(raw_frame(body))
    frame[5:13] = len(data).to_bytes(8, "little")  # declare the right size
    msg = build_update(1, W, H, [med(RECT, bytes(frame))])
    hostile(f"held{held}", pic, msg)
    assert_refused(dec, msg, pic)


def _bad_payloads(good: bytes, data: bytes) -> dict[str, bytes]:
    skippable = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"junk"
    return {
        "trailing byte": good + b"\0",
        "trailing frame": good + zstd_frame(b"\1\2\3"),
        "trailing skippable frame": good + skippable,
        "skippable frame first": skippable + good,
        "no content size": zstandard.ZstdCompressor(write_content_size=False).compress(data),
        "bad checksum": raw_frame(data, checksum=0x12345678),
        "empty": b"",
        "magic only": good[:4],
        **{f"cut {k}": good[: len(good) - k] for k in (1, 2, 3, 4, len(good) // 2, len(good) - 5)},
    }


def test_payloads_cut_or_extended_are_refused_and_the_picture_kept() -> None:
    """A MED op's payload cut at every length, followed by a byte, a frame
    or a skippable frame, without a content size, with a wrong checksum:
    each refused, the framebuffer unchanged; the good one decodes exactly."""
    dec, pic = synced()
    src = noise(5)
    data = med_residuals(src, RECT)
    good = zstd_frame(data)
    msgs = {f"cut at {k}": good[:k] for k in range(len(good))}
    msgs.update(_bad_payloads(good, data))
    for payload in msgs.values():
        msg = build_update(1, W, H, [med(RECT, payload)])
        assert_refused(dec, msg, pic)
        dec.decode(keyframe(pic))
    hostile("payloads", pic, *(build_update(1, W, H, [med(RECT, p)]) for p in msgs.values()))
    fb = dec.decode(build_update(1, W, H, [med(RECT, good)]))
    want = pic.copy()
    want[RECT.slices()] = src[RECT.slices()]
    assert np.array_equal(fb, want)


@pytest.mark.parametrize("flags", REFUSED_FLAGS)
def test_refused_flag_values_after_copies_leave_the_picture_unchanged(flags: int) -> None:
    """COPYs (a swap) and a valid MED op, then a ZSTD op with flags 4, 5, 7,
    8 or more carrying a valid MED payload: the update is refused before
    the copies write anything."""
    dec, pic = synced()
    src = noise(6)
    payload = zstd_frame(med_residuals(src, RECT))
    msg = build_update(1, W, H, [
        copy_op(0, 0, Rect(20, 10, 10, 10)),
        copy_op(20, 10, Rect(0, 0, 10, 10)),
        med(RECT, payload),
        med(Rect(1, 1, 3, 3), zstd_frame(med_residuals(src, Rect(1, 1, 3, 3))), flags),
    ])  # fmt: skip
    hostile(f"flags{flags}", pic, msg)
    err = assert_refused(dec, msg, pic)
    assert "op flags" in str(err)


# -- MED: exactness --------------------------------------------------------------

EDGE_RECTS = [
    Rect(0, 0, 1, 1),
    Rect(W - 1, 0, 1, 1),
    Rect(0, H - 1, 1, 1),
    Rect(W - 1, H - 1, 1, 1),
    Rect(0, H - 1, W, 1),
    Rect(W - 1, 0, 1, H),
    Rect(0, 0, W, 2),
    Rect(0, 0, 2, H),
    Rect(0, 0, W, H),
]


def _patterns(n: int, seed: int) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {
        "uniform": rng.integers(0, 256, n, np.uint8).tobytes(),
        "zeros": bytes(n),
        "255s": b"\xff" * n,
        "0/255": bytes((0, 255)) * (n // 2) + b"\0" * (n % 2),
        "128/127": bytes((128, 127, 1)) * (n // 3) + b"\x80" * (n % 3),
        "extremes": rng.choice(np.array([0, 1, 127, 128, 254, 255], np.uint8), n).tobytes(),
    }


@pytest.mark.parametrize("rect", EDGE_RECTS, ids=str)
def test_med_at_the_frame_edges_is_the_spec_inverse(rect: Rect) -> None:
    """Residuals of every kind (uniform, all 0, all 255, alternating
    extremes: every branch of the predictor, wrapping both ways) in rects of
    1x1, one row, one column at each edge and the whole frame: exactly the
    spec's inverse lands in the rect, nothing outside changes, X is 255."""
    dec, pic = synced()
    for name, res in _patterns(rect.area * 3, rect.area).items():
        fb = dec.decode(build_update(1, W, H, [med(rect, raw_frame(res))]))
        want = pic.copy()
        want[rect.slices()][..., :3] = spec_inverse(res, rect.w, rect.h)
        assert np.array_equal(fb, want), name
        dec.decode(keyframe(pic))


def test_every_bit_flip_of_a_med_payload_refuses_or_stays_inside_its_rect() -> None:
    """Each bit of a compressed MED op flipped: never anything but a
    DecodeError; a refusal leaves the picture as it was; an accepted one
    changes only the rect, with X = 255. Flips inside a raw block always
    decode, to exactly the spec's inverse of the flipped residuals."""
    dec, pic = synced()
    rect = Rect(3, 2, 9, 7)
    data = med_residuals(noise(11), rect)
    outside = np.ones((H, W), bool)
    outside[rect.slices()] = False
    outcomes = {"refused": 0, "accepted": 0}
    for payload in (zstd_frame(data), raw_frame(data)):
        raw = payload[4] == 0xE0
        for bit in range(len(payload) * 8):
            flipped = bytearray(payload)
            flipped[bit // 8] ^= 1 << (bit % 8)
            msg = build_update(1, W, H, [med(rect, bytes(flipped))])
            try:
                fb = dec.decode(msg)
            except DecodeError:
                assert dec.framebuffer is not None
                assert np.array_equal(dec.framebuffer, pic), bit
                assert dec.needs_keyframe
                outcomes["refused"] += 1
            else:
                assert fb.shape == pic.shape
                assert np.array_equal(fb[outside], pic[outside]), bit
                assert (fb[..., 3] == 255).all()
                if raw and bit >= 16 * 8:  # past the frame and block headers
                    res = bytes(flipped[16:])
                    assert np.array_equal(fb[rect.slices()][..., :3], spec_inverse(res, 9, 7))
                outcomes["accepted"] += 1
            dec.decode(keyframe(pic))
    assert outcomes["refused"] > 0
    assert outcomes["accepted"] > len(data) * 8


# -- COPY ------------------------------------------------------------------------


def model(pic: np.ndarray, ops: list[EncodedOp], src_of: dict[int, tuple[int, int]]) -> np.ndarray:
    """docs/protocol.md, "Applying an update": every COPY reads the picture
    as it was, COPYs are written first in op order, then the other ops."""
    out: np.ndarray = pic.copy()
    for i, op in enumerate(ops):
        if op.op is Op.COPY:
            sx, sy = src_of[i]
            r = op.rect
            out[r.slices()] = pic[sy : sy + r.h, sx : sx + r.w]
    for op in ops:
        r = op.rect
        if op.op is Op.FILL:
            out[r.slices()] = (*op.payload, 255)
        elif op.op is Op.ZSTD:
            res = zstandard.ZstdDecompressor().decompress(op.payload)
            out[r.slices()] = np.dstack([spec_inverse(res, r.w, r.h), np.full((r.h, r.w), 255)])
    return out


def hostile_copies(
    rng: np.random.Generator, w: int, h: int
) -> tuple[list[EncodedOp], dict[int, tuple[int, int]]]:
    """Up to 14 COPYs: random, chained (a source is an earlier destination),
    swapped, at the frame's edges, whole-frame; sometimes FILL and MED ops
    after them; within the op-area cap."""
    ops: list[EncodedOp] = []
    src_of: dict[int, tuple[int, int]] = {}
    budget = 4 * w * h
    for _ in range(int(rng.integers(1, 15))):
        cw, ch = int(rng.integers(1, w + 1)), int(rng.integers(1, h + 1))
        kind = rng.integers(5)
        if kind == 0:  # pinned to the right/bottom edges
            dx, dy, sx, sy = w - cw, h - ch, int(rng.integers(0, w - cw + 1)), 0
        elif kind == 1 and ops and ops[-1].op is Op.COPY:  # chain / swap with the last
            last = ops[-1].rect
            cw, ch = last.w, last.h
            sx, sy = last.x, last.y
            dx, dy = src_of[len(ops) - 1] if rng.random() < 0.5 else (
                int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)))  # fmt: skip
        elif kind == 2:  # a scroll of the whole frame
            cw, ch = w, h - 1 if h > 1 else 1
            sx, dx = 0, 0
            sy, dy = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, h - ch + 1))
        else:
            sx, sy = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            dx, dy = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        if cw * ch > budget:
            break
        budget -= cw * ch
        src_of[len(ops)] = (sx, sy)
        ops.append(copy_op(sx, sy, Rect(dx, dy, cw, ch)))
    for _ in range(int(rng.integers(0, 3))):
        rw, rh = int(rng.integers(1, min(w, 6) + 1)), int(rng.integers(1, min(h, 6) + 1))
        r = Rect(int(rng.integers(0, w - rw + 1)), int(rng.integers(0, h - rh + 1)), rw, rh)
        if r.area > budget:
            break
        budget -= r.area
        if rng.random() < 0.5:
            ops.append(EncodedOp(Op.FILL, r, bytes(rng.integers(0, 256, 3, np.uint8))))
        else:
            ops.append(med(r, raw_frame(rng.integers(0, 256, r.area * 3, np.uint8).tobytes())))
    return ops, src_of


COPY_SIZES = [(1, 1), (1, 7), (7, 1), (2, 2), (W, H)]


@pytest.mark.parametrize("size", COPY_SIZES, ids=str)
def test_hostile_copies_follow_the_spec(size: tuple[int, int]) -> None:
    """150 updates of overlapping, chained, swapped and edge COPYs (one COPY
    moves in place, several go through the kept scratch buffer, whose size
    changes from update to update), some with FILL and MED after them, on one
    decoder: each picture exactly the model's, with and without HASH."""
    w, h = size
    rng = np.random.default_rng(w * 100 + h)
    dec = ScreenDecoder()
    pic = noise(w + h, w, h)
    dec.decode(keyframe(pic))
    msgs = [keyframe(pic)]
    for seq in range(1, 151):
        ops, src_of = hostile_copies(rng, w, h)
        want = model(pic, ops, src_of)
        hashed = seq % 3 == 0
        msg = build_update(
            seq, w, h, ops, framebuffer_hash=framebuffer_hash(want) if hashed else None
        )
        fb = dec.decode(msg)
        assert np.array_equal(fb, want), (seq, ops)
        msgs.append(msg)
        pic = want
    HOSTILE.append((f"copies-{w}x{h}", msgs))


def _refused_after_copies(src: np.ndarray) -> dict[str, EncodedOp]:
    bad_palette = PALETTE_HEADER.pack(1, 0, 1) + b"\1\2\3" + zstd_frame(b"\xff" * 2)
    data = med_residuals(src, Rect(0, 0, 4, 2))
    frame = bytearray(raw_frame(data))
    frame[13] |= 6  # block type 3: reserved
    reserved_block = bytes(frame)
    return {
        "MED declares one byte less": med(Rect(0, 0, 4, 2), raw_frame(data[:-1])),
        "MED block of the reserved type": med(Rect(0, 0, 4, 2), reserved_block),
        "MED flags 7": med(Rect(0, 0, 4, 2), zstd_frame(data), 7),
        "COPY source outside": copy_op(W - 2, 0, Rect(0, 0, 4, 2)),
        "PALETTE index past the table": EncodedOp(Op.PALETTE, Rect(0, 0, 8, 2), bad_palette),
        "ZSTREAM without a stream": zstream_op(Rect(0, 0, 4, 2), 0, b"\0\0\0"),
        "FILL of 4 bytes": EncodedOp(Op.FILL, Rect(0, 0, 4, 2), b"\1\2\3\4"),
    }


@pytest.mark.parametrize("copies", [1, 3])
def test_copies_then_a_refused_op_leave_the_picture_unchanged(copies: int) -> None:
    """One COPY (moved in place by the kernel) or three (chained through
    the scratch buffer), a valid MED op, then an op the decoder refuses:
    every op is prepared before any COPY writes, so the picture is as it
    was; the next keyframe and delta decode exactly."""
    dec, pic = synced()
    src = noise(8)
    moves = [copy_op(0, 0, Rect(1, 1, 30, 20)), copy_op(1, 1, Rect(0, 0, 30, 20)),
             copy_op(5, 5, Rect(6, 2, 10, 10))][:copies]  # fmt: skip
    good = med(RECT, zstd_frame(med_residuals(src, RECT)))
    msgs = []
    for name, bad in _refused_after_copies(src).items():
        msg = build_update(1, W, H, [*moves, good, bad])
        msgs.append(msg)
        assert_refused(dec, msg, pic)
        dec.decode(keyframe(pic))
        # The same update without the bad op, to show the copies did run.
        src_of = {i: (m.payload[0] | m.payload[1] << 8, m.payload[2] | m.payload[3] << 8)
                  for i, m in enumerate(moves)}  # fmt: skip
        fb = dec.decode(build_update(1, W, H, [*moves, good]))
        assert np.array_equal(fb, model(pic, [*moves, good], src_of)), name
        dec.decode(keyframe(pic))
    hostile(f"refused-after-{copies}-copies", pic, *msgs)


@pytest.mark.parametrize("copies", [1, 2, 5])
def test_a_hash_mismatch_after_copies_and_med_is_undone_exactly(copies: int) -> None:
    """COPYs (in place for one, through scratch for several, overlapping
    each other and the MED op) and a MED op under a wrong HASH: an
    IntegrityError, every pixel restored, including the COPY destinations;
    under the right HASH, the model's picture."""
    dec, pic = synced()
    src = noise(12)
    moves = [copy_op(0, 0, Rect(2, 1, 33, 21)), copy_op(2, 1, Rect(0, 0, 20, 20)),
             copy_op(10, 3, Rect(4, 4, 9, 9)), copy_op(4, 4, Rect(10, 3, 9, 9)),
             copy_op(36, 22, Rect(0, 22, 1, 1))][:copies]  # fmt: skip
    ops = [*moves, med(RECT, zstd_frame(med_residuals(src, RECT)))]
    src_of = {i: (m.payload[0] | m.payload[1] << 8, m.payload[2] | m.payload[3] << 8)
              for i, m in enumerate(moves)}  # fmt: skip
    want = model(pic, ops, src_of)
    wrong = build_update(1, W, H, ops, framebuffer_hash=framebuffer_hash(want) ^ 1)
    with pytest.raises(IntegrityError):
        dec.decode(wrong)
    assert dec.framebuffer is not None
    assert np.array_equal(dec.framebuffer, pic)
    assert dec.needs_keyframe
    dec.decode(keyframe(pic))
    right = build_update(1, W, H, ops, framebuffer_hash=framebuffer_hash(want))
    assert np.array_equal(dec.decode(right), want)
    hostile(f"hash-{copies}-copies", pic, wrong, right)


def test_an_op_failing_at_apply_time_after_copies_leaves_the_picture_or_resyncs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An op that fails while it is written (a MemoryError; unpack_med itself
    now allocates nothing) comes after the COPY before it was written. The
    update must then leave the picture as it was, or at least the decoder
    must wait for a keyframe instead of building on half of it."""
    dec, pic = synced()
    src = noise(13)
    ops = [copy_op(0, 0, Rect(0, 5, 10, 10)), med(RECT, zstd_frame(med_residuals(src, RECT)))]

    def no_memory(*args: object) -> None:
        raise MemoryError("MED filter: no memory for two rows")

    monkeypatch.setattr(_pixels, "unpack_med", no_memory)
    with pytest.raises(MemoryError):
        dec.decode(build_update(1, W, H, ops))
    assert dec.framebuffer is not None
    assert np.array_equal(dec.framebuffer, pic) or dec.needs_keyframe


# -- the page's decoder ------------------------------------------------------------


def _build_hostile_streams() -> None:
    for delta in DECLARED:
        test_frame_declaring_other_than_w_h_3_is_refused_and_the_picture_kept(delta)
    for held in (-1, 1):
        test_raw_blocks_holding_one_byte_more_or_less_than_declared_are_refused(held)
    test_payloads_cut_or_extended_are_refused_and_the_picture_kept()
    for flags in REFUSED_FLAGS:
        test_refused_flag_values_after_copies_leave_the_picture_unchanged(flags)
    for size in COPY_SIZES:
        test_hostile_copies_follow_the_spec(size)
    for copies in (1, 3):
        test_copies_then_a_refused_op_leave_the_picture_unchanged(copies)
    for copies in (1, 2, 5):
        test_a_hash_mismatch_after_copies_and_med_is_undone_exactly(copies)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_js_decoder_refuses_exactly_what_python_refuses(tmp_path: Path) -> None:
    """Every hostile stream above (each message after a keyframe of its
    picture) through the page's decoder under node, checked by
    tests/web/js/crosscheck.mjs against Python's verdicts: the same
    refusals, the same framebuffer hash after every message (so a refused
    message leaves the JS framebuffer unchanged too), the same keyframe
    state; and a 16384x16384 keyframe whose MED frame declares a wrong size,
    refused by a JS decoder allowed that many pixels."""
    # Built here whatever ran before: under pytest-xdist the tests that also
    # fill HOSTILE may have run in another process, or only some of them here.
    HOSTILE.clear()
    _build_hostile_streams()
    tools = runpy.run_path(str(ROOT / "tests" / "web" / "test_js_decoder.py"))
    for name, messages in HOSTILE:
        tools["write_stream"](tmp_path, name.replace(" ", "_"), messages)
    proc = tools["run_node"](str(ROOT / "tests" / "web" / "js" / "crosscheck.mjs"), str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["streams"] == len(HOSTILE) >= 27
    assert report["mismatches"] == []

    n = 16384 * 16384 * 3
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for declared in (n - 1, n + 1, n + 2**32, n):
            m = build_update(0, 16384, 16384, [med(Rect(0, 0, 16384, 16384),
                             rle_frame(declared, 1 << 17))], keyframe=True)  # fmt: skip
            f.write(struct.pack("<I", len(m)) + m)
    script = f"""
import {{ readFileSync }} from 'node:fs';
import {{ DecodeError, ScreenDecoder }} from '{ROOT}/src/screencodec/web/static/decoder/index.js';
const data = readFileSync('{big}');
const out = [];
for (let pos = 0; pos < data.length;) {{
  const n = data.readUInt32LE(pos);
  const dec = new ScreenDecoder({{ maxPixels: 16384 * 16384 }});
  const msg = new Uint8Array(data.subarray(pos + 4, pos + 4 + n));
  try {{ await dec.decode(msg); out.push('accepted'); }}
  catch (e) {{ out.push((e instanceof DecodeError ? 'refused' : 'threw ' + e.name) +
                        (dec.framebuffer === null ? '' : ' with a framebuffer')); }}
  pos += 4 + n;
}}
console.log(JSON.stringify(out));
"""
    (tmp_path / "big.mjs").write_text(script)
    proc = tools["run_node"](str(tmp_path / "big.mjs"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["refused"] * 4
