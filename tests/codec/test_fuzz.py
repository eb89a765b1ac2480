"""Property tests and a bounded mutation fuzzer for the decoder.

Valid updates built with the wire builder decode exactly as a NumPy model of
docs/protocol.md says; arbitrary and mutated bytes give either a clean decode
or a DecodeError that leaves the framebuffer unchanged, never anything else.
The long-running libFuzzer harness is fuzz/fuzz_decoder.py.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screencodec.codecs import copy_op
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError
from screencodec.frames import framebuffer_hash
from screencodec.geometry import Rect
from screencodec.wire import (
    EncodedOp,
    Op,
    build_cursor_position,
    build_cursor_shape,
    build_update,
    parse_header,
    zstream_op,
)
from screencodec.wire.format import OP_HEADER, PALETTE_HEADER
from screencodec.wire.parse import MAX_OP_COVERAGE

Frame = np.ndarray


# -- a NumPy model of applying an update (docs/protocol.md, "Applying an update") --


@dataclass(frozen=True)
class ModelOp:
    kind: Op
    rect: Rect
    bgr: bytes  # the rect's B, G, R as it ends up (FILL/RAW/ZSTD/PALETTE/ZSTREAM)
    src: tuple[int, int] = (0, 0)  # COPY source


def model_apply(fb: Frame, ops: list[ModelOp]) -> Frame:
    before = fb.copy()
    out = fb.copy()
    for o in ops:
        if o.kind is Op.COPY:
            sx, sy = o.src
            r = o.rect
            out[r.y : r.bottom, r.x : r.right] = before[sy : sy + r.h, sx : sx + r.w]
    for o in ops:
        if o.kind is not Op.COPY:
            r = o.rect
            out[r.y : r.bottom, r.x : r.right, :3] = np.frombuffer(o.bgr, np.uint8).reshape(
                r.h, r.w, 3
            )
            out[r.y : r.bottom, r.x : r.right, 3] = 255
    return out


def pack_indices(idx: np.ndarray, bits: int) -> bytes:
    """MSB-first, rows padded to whole bytes (independent of the C packer)."""
    rows = []
    for y in range(idx.shape[0]):
        bitstr = "".join(format(int(v), f"0{bits}b") for v in idx[y])
        bitstr += "0" * (-len(bitstr) % 8)
        rows.append(int(bitstr, 2).to_bytes(len(bitstr) // 8, "big"))
    return b"".join(rows)


CCTX = zstandard.ZstdCompressor(write_content_size=True)
STREAM_CCTX = zstandard.ZstdCompressor(
    compression_params=zstandard.ZstdCompressionParameters.from_level(
        1, window_log=23, write_content_size=0, write_checksum=0, write_dict_id=0
    )
)


def with_streams(pairs: list[tuple[EncodedOp, ModelOp]]) -> list[EncodedOp]:
    """The ops, ZSTREAM ones given their payloads: one new stream (the first
    has RESET), compressed in op order, a block flushed per op."""
    cobj, position = None, 0
    for e, m in pairs:
        if e.op is Op.ZSTREAM:
            first = cobj is None
            if cobj is None:
                cobj = STREAM_CCTX.compressobj()
            data = cobj.compress(m.bgr) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
            z = zstream_op(e.rect, position, data, reset=first)
            e.payload, e.flags = z.payload, z.flags
            position += len(m.bgr)
    return [e for e, _ in pairs]


@st.composite
def wire_op(draw: st.DrawFn, w: int, h: int) -> tuple[EncodedOp, ModelOp]:
    rx = draw(st.integers(0, w - 1))
    ry = draw(st.integers(0, h - 1))
    rect = Rect(rx, ry, draw(st.integers(1, w - rx)), draw(st.integers(1, h - ry)))
    kind = draw(st.sampled_from([Op.FILL, Op.RAW, Op.ZSTD, Op.PALETTE, Op.COPY, Op.ZSTREAM]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind is Op.COPY:
        sx, sy = draw(st.integers(0, w - rect.w)), draw(st.integers(0, h - rect.h))
        return copy_op(sx, sy, rect), ModelOp(kind, rect, b"", (sx, sy))
    if kind is Op.FILL:
        colour = rng.integers(0, 256, 3, dtype=np.uint8).tobytes()
        return EncodedOp(kind, rect, colour), ModelOp(kind, rect, colour * rect.area)
    if kind is Op.PALETTE:
        bits = draw(st.sampled_from([1, 2, 4, 8]))
        n = draw(st.integers(1, 1 << bits))
        table = rng.integers(0, 256, (n, 3), dtype=np.uint8)
        idx = rng.integers(0, n, (rect.h, rect.w))
        payload = PALETTE_HEADER.pack(bits, 0, n) + table.tobytes()
        payload += CCTX.compress(pack_indices(idx, bits))
        return EncodedOp(kind, rect, payload), ModelOp(kind, rect, table[idx].tobytes())
    data = rng.integers(0, 256, rect.area * 3, dtype=np.uint8).tobytes()
    if kind is Op.ZSTREAM:  # with_streams() compresses it, in op order
        return EncodedOp(kind, rect, b""), ModelOp(kind, rect, data)
    payload = data if kind is Op.RAW else CCTX.compress(data)
    return EncodedOp(kind, rect, payload), ModelOp(kind, rect, data)


def noise(seed: int, w: int, h: int) -> Frame:
    f = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    f[..., 3] = 255
    return f


@given(data=st.data(), w=st.integers(1, 24), h=st.integers(1, 16), hashed=st.booleans())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_valid_random_updates_decode_exactly(
    data: st.DataObject, w: int, h: int, hashed: bool
) -> None:
    start = noise(w * 100 + h, w, h)
    dec = ScreenDecoder()
    dec.decode(ScreenEncoder(w, h, threads=1).encode(start))
    assert np.array_equal(dec.framebuffer, start)
    # at most 4 ops of at most the whole frame: within the coverage cap
    pairs = data.draw(st.lists(wire_op(w, h), max_size=4))
    expected = model_apply(start, [m for _, m in pairs])
    fb_hash = framebuffer_hash(expected) if hashed else None
    dec.decode(build_update(1, w, h, with_streams(pairs), framebuffer_hash=fb_hash))
    assert np.array_equal(dec.framebuffer, expected)
    # an empty delta without a hash does not count (protocol.md, "Sequence numbers")
    assert dec.sequence == (1 if pairs or hashed else 0)
    assert not dec.needs_keyframe


@given(data=st.data(), w=st.integers(1, 24), h=st.integers(1, 16))
@settings(max_examples=60, deadline=None)
def test_valid_keyframes_decode_exactly(data: st.DataObject, w: int, h: int) -> None:
    """A keyframe (ops covering the frame, no COPY) gives the same picture
    whatever the decoder held, of this size or another."""
    whole = Rect(0, 0, w, h)
    fill = (
        EncodedOp(Op.FILL, whole, b"\x07\x08\x09"),
        ModelOp(Op.FILL, whole, b"\x07\x08\x09" * w * h),
    )
    # the whole-frame FILL and at most 3 more ops of at most the whole frame:
    # within the coverage cap (MAX_OP_COVERAGE, 4x the frame)
    drawn = data.draw(st.lists(wire_op(w, h), max_size=MAX_OP_COVERAGE - 1))
    pairs = [fill, *(p for p in drawn if p[0].op is not Op.COPY)]
    start = np.zeros((h, w, 4), np.uint8)
    expected = model_apply(start, [m for _, m in pairs])
    for held in ((3, 2), (w, h)):
        dec = ScreenDecoder()
        dec.decode(ScreenEncoder(*held, threads=1).encode(noise(1, *held)))
        dec.decode(build_update(0, w, h, with_streams(pairs), keyframe=True))
        assert np.array_equal(dec.framebuffer[..., :3], expected[..., :3])
        assert (dec.framebuffer[..., 3] == 255).all()


# -- arbitrary bytes -----------------------------------------------------------------


def synced_decoder(w: int = 16, h: int = 12) -> ScreenDecoder:
    dec = ScreenDecoder()
    dec.decode(ScreenEncoder(w, h, threads=1).encode(noise(7, w, h)))
    return dec


def check_decode(dec: ScreenDecoder, data: bytes) -> bool:
    """Decode; True on success. Only DecodeError may escape, and it must leave
    the framebuffer as it was."""
    before = None if dec.framebuffer is None else dec.framebuffer.copy()
    try:
        dec.decode(data)
    except DecodeError:
        if before is None:
            assert dec.framebuffer is None
        else:
            assert np.array_equal(dec.framebuffer, before)
        assert dec.needs_keyframe or not is_update(data)
        return False
    fb = dec.framebuffer
    if fb is None:  # a cursor message before any keyframe: valid, no pixels yet
        assert not is_update(data)
        return True
    assert fb.dtype == np.uint8 and fb.shape[2] == 4
    assert (fb[..., 3] == 255).all()
    return True


def is_update(data: bytes) -> bool:
    return len(data) >= 4 and data[3] == 1


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    assert not check_decode(synced_decoder(), data) or data[:4] in (b"SC\x01\x01", b"SC\x01\x03")


@given(
    kind=st.sampled_from([1, 1, 1, 2, 3, 0, 4]),
    flags=st.sampled_from([0, 1, 2, 3, 4]),
    w=st.sampled_from([16, 15, 17, 0, 1, 65535]),
    h=st.sampled_from([12, 11, 13, 0, 1, 65535]),
    count=st.integers(0, 5),
    tail=st.binary(max_size=300),
)
@settings(max_examples=400, deadline=None)
def test_random_bodies_behind_a_valid_header(  # noqa: PLR0917
    kind: int, flags: int, w: int, h: int, count: int, tail: bytes
) -> None:
    """Random bytes past a well-formed header and update header reach the op
    parser and the codecs instead of stopping at the magic."""
    body = struct.pack("<IHHHHI", 1, flags, w, h, 0, count) + tail if kind == 1 else tail
    msg = b"SC\x01" + bytes([kind]) + struct.pack("<I", len(body)) + body
    check_decode(synced_decoder(), msg)


@given(chunks=st.lists(st.binary(max_size=64), max_size=8))
@settings(max_examples=150, deadline=None)
def test_random_stream_chunks_only_raise_decode_error(chunks: list[bytes]) -> None:
    dec = synced_decoder()
    before = dec.framebuffer.copy()  # type: ignore[union-attr]
    applied = 0
    for c in chunks:
        try:
            applied += dec.feed(c)
        except DecodeError:
            assert dec.needs_keyframe
    assert applied or np.array_equal(dec.framebuffer, before)


# -- the bounded mutation fuzzer -----------------------------------------------------


def synthetic_frames(seed: int, w: int, h: int) -> list[Frame]:
    """Screen-like frames: flat areas, few-colour text, gradients, noise and a scroll."""
    rng = np.random.default_rng(seed)
    base = np.zeros((h, w, 4), np.uint8)
    base[..., 3] = 255
    base[..., :3] = (40, 40, 48)
    frames = [base.copy()]
    text = base.copy()
    glyphs = rng.integers(0, 2, (h // 2, w // 2), dtype=np.uint8)
    text[h // 4 : h // 4 + h // 2, 2 : 2 + w // 2, :3] = glyphs[..., None] * 200
    frames.append(text)
    grad = text.copy()
    grad[: h // 3, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    grad[: h // 3, :, 1] = np.arange(h // 3, dtype=np.uint8)[:, None] * 7
    frames.append(grad)
    frames.append(np.roll(grad, -3, axis=0))  # scrolled
    noisy = frames[-1].copy()
    noisy[h // 2 :, w // 2 :, :3] = rng.integers(0, 256, (h - h // 2, w - w // 2, 3))
    frames.append(noisy)
    few = noisy.copy()
    palette = rng.integers(0, 256, (5, 3), dtype=np.uint8)
    few[: h // 2, : w // 2, :3] = palette[rng.integers(0, 5, (h // 2, w // 2))]
    frames.append(few)
    return frames


@dataclass
class Seed:
    """A message and the keyframe that puts a decoder in the state it expects."""

    setup: bytes | None
    message: bytes


def seeds() -> list[Seed]:
    out: list[Seed] = []
    for w, h, integrity in [(40, 24, False), (40, 24, True), (300, 120, False), (7, 3, True)]:
        frames = synthetic_frames(w + h, w, h)
        enc = ScreenEncoder(w, h, threads=1, integrity=integrity)
        sync = ScreenEncoder(w, h, threads=1)
        prev = None
        for f in frames:
            msg = enc.encode(f)
            setup = None if prev is None else sync_keyframe(sync, prev)
            out.append(Seed(setup, follow(setup, msg)))
            prev = f
        # hand-built ops the encoder does not emit yet: COPY (scroll) + reveal
        r = Rect(0, 0, w, h - 1)
        scroll = build_update(
            99,
            w,
            h,
            [copy_op(0, 1, r), EncodedOp(Op.FILL, Rect(0, h - 1, w, 1), b"\1\2\3")],
        )
        setup = sync_keyframe(sync, frames[-1])
        out.append(Seed(setup, follow(setup, scroll)))
    # history (ZSTREAM): a keyframe that starts the stream, and the delta after it
    for w, h in [(40, 24), (300, 120)]:
        frames = synthetic_frames(w * h, w, h)
        enc = ScreenEncoder(w, h, threads=1, history=True)
        for a, b in itertools.pairwise(frames):
            enc.request_keyframe()
            key = enc.encode(a)
            out += [Seed(None, key), Seed(key, enc.encode(b))]
    # cursor messages, with and without a framebuffer
    shape = build_cursor_shape(5, 3, 2, (1, 1), bytes(range(24)))
    out += [Seed(None, shape), Seed(out[0].message, build_cursor_position(-4, 9, 5))]
    return out


def follow(setup: bytes | None, msg: bytes) -> bytes:
    """``msg`` numbered as the update right after ``setup`` when it is a delta
    (a decoder refuses a delta that does not carry the next number)."""
    if setup is None or msg[3] != 1 or msg[12] & 1:
        return msg
    seq = (int.from_bytes(setup[8:12], "little") + 1) & 0xFFFFFFFF
    return msg[:8] + seq.to_bytes(4, "little") + msg[12:]


def sync_keyframe(enc: ScreenEncoder, frame: Frame) -> bytes:
    enc.request_keyframe()
    return enc.encode(frame)


def op_length_offsets(msg: bytes) -> list[int]:
    """Offsets of the payload-length fields of an update's ops, as far as they parse."""
    if len(msg) < 24 or msg[3] != 1:
        return []
    pos = 8 + 16 + (8 if msg[12] & 2 else 0)
    count = struct.unpack_from("<I", msg, 20)[0]
    out = []
    for _ in range(count):
        if pos + OP_HEADER.size > len(msg):
            break
        out.append(pos + 10)
        pos += OP_HEADER.size + struct.unpack_from("<I", msg, pos + 10)[0]
    return out


INTERESTING_32 = [0, 1, 2, 3, 13, 14, 255, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]


def mutate(rng: random.Random, msg: bytes, other: bytes) -> bytes:
    b = bytearray(msg)
    how = rng.randrange(9)
    if how == 0 and b:  # flip 1..8 bits
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif how == 1:  # insert bytes
        i = rng.randrange(len(b) + 1)
        b[i:i] = rng.randbytes(rng.randint(1, 4))
    elif how == 2 and b:  # delete bytes
        i = rng.randrange(len(b))
        del b[i : i + rng.randint(1, 4)]
    elif how == 3:  # truncate
        del b[rng.randrange(len(b) + 1) :]
    elif how == 4 and len(b) >= 8:  # the message length field
        struct.pack_into("<I", b, 4, max(0, len(b) - 8 + rng.choice([-14, -3, -1, 1, 2, 1000])))
    elif how == 5 and (offs := op_length_offsets(msg)):  # an op's payload length
        struct.pack_into("<I", b, rng.choice(offs), rng.choice(INTERESTING_32))
    elif how == 6 and len(b) >= 4:  # an interesting 16- or 32-bit value anywhere
        v = rng.choice(INTERESTING_32)
        if rng.random() < 0.5:
            i = rng.randrange(len(b) - 1)
            struct.pack_into("<H", b, i, v & 0xFFFF)
        else:
            i = rng.randrange(len(b) - 3)
            struct.pack_into("<I", b, i, v)
    elif how == 7:  # splice two messages
        b = b[: rng.randrange(len(b) + 1)] + other[rng.randrange(len(other) + 1) :]
    elif b:  # overwrite a byte
        b[rng.randrange(len(b))] = rng.randrange(256)
    if how != 4 and len(b) >= 8 and rng.random() < 0.6:
        # make the message length agree, so the change reaches the body parser
        # and the codecs instead of stopping at "truncated" / "trailing bytes"
        struct.pack_into("<I", b, 4, len(b) - 8)
    return bytes(b)


#: Raise for a long run, e.g. under a sanitizer build (docs/fuzzing.md).
MUTATIONS = int(os.environ.get("SCREENCODEC_FUZZ_MUTATIONS", "20000"))


@pytest.mark.slow
def test_mutated_encoder_output_only_raises_decode_error() -> None:
    rng = random.Random(int(os.environ.get("SCREENCODEC_FUZZ_SEED", "0x5C0DEC"), 0))
    corpus = seeds()
    # the seeds themselves decode
    for s in corpus:
        dec = ScreenDecoder()
        if s.setup is not None:
            dec.decode(s.setup)
        fb = dec.decode(s.message)
        if s.message[3] == 2 and s.setup is None:  # a cursor shape alone: no pixels yet
            assert fb.shape == (0, 0, 4)

    decoders: dict[bytes | None, ScreenDecoder] = {}
    states: dict[bytes | None, Frame | None] = {}
    outcomes = {"ok": 0, "DecodeError": 0}
    for i in range(MUTATIONS):
        s = corpus[rng.randrange(len(corpus))]
        other = corpus[rng.randrange(len(corpus))].message
        data = mutate(rng, s.message, other)
        if rng.random() < 0.3:
            data = mutate(rng, data, other)
        dec = decoders.get(s.setup)
        # re-sync when the last mutation changed the picture or broke sync
        if (
            dec is None
            or (dec.needs_keyframe and s.setup is not None)
            or (
                dec.framebuffer is not None and not np.array_equal(dec.framebuffer, states[s.setup])
            )
        ):
            dec = ScreenDecoder()
            if s.setup is not None:
                dec.decode(s.setup)
            decoders[s.setup] = dec
            states[s.setup] = None if dec.framebuffer is None else dec.framebuffer.copy()
        # one in ten goes through the streaming path
        ok = check_feed(s.setup, data, rng) if i % 10 == 0 else check_decode(dec, data)
        outcomes["ok" if ok else "DecodeError"] += 1
    # the mutations reach both outcomes, so the loop tests something
    assert outcomes["ok"] > MUTATIONS // 50
    assert outcomes["DecodeError"] > MUTATIONS // 2


def split_all(data: bytes) -> list[bytes]:
    """The whole messages at the start of a stream, up to the first bad header."""
    out, pos = [], 0
    while len(data) - pos >= 8:
        try:
            _, length = parse_header(data[pos:])
        except DecodeError:
            break
        if pos + 8 + length > len(data):
            break
        out.append(data[pos : pos + 8 + length])
        pos += 8 + length
    return out


def check_feed(setup: bytes | None, data: bytes, rng: random.Random) -> bool:
    """Stream the bytes in random chunks into a fresh decoder, and compare with
    one-shot decoding of the same messages: the stream's picture must be the
    one-shot picture after some prefix of them (all of them without an error),
    since each refused message leaves the picture as it was."""
    dec, ref = ScreenDecoder(), ScreenDecoder()
    if setup is not None:
        dec.feed(setup)
        ref.decode(setup)
    pictures = [None if ref.framebuffer is None else ref.framebuffer.copy()]
    for m in split_all(data):
        with contextlib.suppress(DecodeError):
            ref.decode(m)
        pictures.append(None if ref.framebuffer is None else ref.framebuffer.copy())
    cuts = sorted(rng.sample(range(len(data) + 1), min(3, len(data) + 1)))
    ok = True
    try:
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            dec.feed(data[a:b])
    except DecodeError:
        ok = False
    got = dec.framebuffer
    same = [
        p is None if got is None else p is not None and np.array_equal(got, p) for p in pictures
    ]
    assert same[-1] if ok else any(same)
    return ok


@pytest.mark.parametrize(
    "corrupt",
    [lambda m: m[:-2], lambda m: m[:20] + b"\xff" * 4 + m[24:]],
    ids=["truncated", "op-count"],
)
def test_check_decode_detects_a_changed_framebuffer(corrupt: Callable[[bytes], bytes]) -> None:
    """The fuzz oracle itself: a refused message leaves the picture as it was,
    and a message that changes it passes only when it decodes."""
    dec = synced_decoder()
    assert not check_decode(dec, corrupt(build_update(1, 16, 12, [])))
    good = build_update(1, 16, 12, [EncodedOp(Op.FILL, Rect(0, 0, 2, 2), b"\0\0\0")])
    assert check_decode(dec, good)
