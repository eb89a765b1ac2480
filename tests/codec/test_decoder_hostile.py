"""The decoder against hostile updates: every rejection is a DecodeError, leaves
the framebuffer exactly as it was, and makes the decoder wait for a keyframe."""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import pytest
import zstandard

from screencodec.codecs import copy_op
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError, IntegrityError
from screencodec.frames import framebuffer_hash
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, build_cursor_position, build_update, zstream_op
from screencodec.wire.format import PALETTE_HEADER
from screencodec.wire.parse import MAX_OP_COVERAGE

W, H = 48, 32


def zstd(data: bytes, *, content_size: bool = True) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=content_size).compress(data)


def bgr(rng: np.random.Generator, w: int, h: int) -> bytes:
    return rng.integers(0, 256, w * h * 3, dtype=np.uint8).tobytes()


def noise_frame(seed: int, w: int = W, h: int = H) -> np.ndarray:
    f = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    f[..., 3] = 255
    return f


@pytest.fixture
def synced() -> ScreenDecoder:
    """A decoder holding a noisy W x H picture, in sync (no keyframe needed)."""
    dec = ScreenDecoder()
    dec.decode(ScreenEncoder(W, H, threads=1).encode(noise_frame(1)))
    assert not dec.needs_keyframe
    return dec


def delta(*ops: EncodedOp, seq: int = 1, w: int = W, h: int = H, **kw: object) -> bytes:
    return build_update(seq, w, h, ops, **kw)  # type: ignore[arg-type]


def op(kind: Op, rect: Rect, payload: bytes) -> EncodedOp:
    return EncodedOp(kind, rect, payload)


def palette(bits: int, n: int, indices: bytes, *, reserved: int = 0, colours: int | None = None):
    table = bytes(i % 256 for i in range(3 * (n if colours is None else colours)))
    return PALETTE_HEADER.pack(bits, reserved, n) + table + zstd(indices)


def bad_checksum(data: bytes) -> bytes:
    frame = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(data))
    frame[-1] ^= 0xFF
    return bytes(frame)


def stream(data: bytes, *, window_log: int = 23) -> bytes:
    """A new ZSTREAM frame holding ``data``: header and one flushed block."""
    params = zstandard.ZstdCompressionParameters.from_level(
        1, window_log=window_log, write_content_size=0, write_checksum=0, write_dict_id=0
    )
    cobj = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return cobj.compress(data) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)


R = Rect(4, 2, 8, 4)  # 32 pixels: 96 BGR bytes; 1-bit indices are 4 bytes
SMALL = Rect(0, 0, 2, 2)
R_BGR = bytes(range(96))
ZSTREAM_FRAME = b"\x28\xb5\x2f\xfd\x00" + bytes([13 << 3])  # magic, descriptor, 8 MiB window

# Each case: (id, message, expected error type, substring of its message).
HOSTILE: list[tuple[str, bytes, str]] = [
    # decompression bombs and wrong sizes
    ("zstd declares a huge size", delta(op(Op.ZSTD, R, zstd(b"\0" * (96 * 4096)))), "declares"),
    (
        "zstd declares no size",
        delta(op(Op.ZSTD, R, zstd(b"\0" * 96, content_size=False))),
        "declares -1",
    ),
    ("zstd declares too little", delta(op(Op.ZSTD, R, zstd(b"\0" * 95))), "declares 95"),
    ("zstd not a frame", delta(op(Op.ZSTD, R, b"garbage garbage")), "zstd frame"),
    ("zstd empty payload", delta(op(Op.ZSTD, R, b"")), "zstd frame"),
    (
        "zstd corrupt body",
        delta(op(Op.ZSTD, R, bad_checksum(bytes(range(96))))),
        "corrupt zstd data",
    ),
    ("zstd trailing bytes", delta(op(Op.ZSTD, R, zstd(bytes(96)) + b"junk")), "unused data"),
    ("zstd two frames", delta(op(Op.ZSTD, R, zstd(bytes(96)) * 2)), "unused data"),
    ("raw too short", delta(op(Op.RAW, R, bytes(95))), "RAW"),
    ("raw too long", delta(op(Op.RAW, R, bytes(97))), "RAW"),
    ("fill too short", delta(op(Op.FILL, R, b"\0\0")), "FILL"),
    ("fill too long", delta(op(Op.FILL, R, b"\0\0\0\0")), "FILL"),
    # palette
    ("palette bits 3", delta(op(Op.PALETTE, R, palette(3, 2, bytes(12)))), "3-bit"),
    ("palette bits 0", delta(op(Op.PALETTE, R, palette(0, 1, bytes(0)))), "0-bit"),
    ("palette bits 16", delta(op(Op.PALETTE, R, palette(16, 2, bytes(64)))), "16-bit"),
    ("palette zero colours", delta(op(Op.PALETTE, R, palette(1, 0, bytes(4)))), "0 colours"),
    ("palette too many colours", delta(op(Op.PALETTE, R, palette(1, 3, bytes(4)))), "3 colours"),
    (
        "palette 8-bit 257 colours",
        delta(op(Op.PALETTE, R, palette(8, 257, bytes(32)))),
        "257 colours",
    ),
    ("palette reserved", delta(op(Op.PALETTE, R, palette(1, 2, bytes(4), reserved=1))), "reserved"),
    ("palette truncated header", delta(op(Op.PALETTE, R, b"\x01\x00\x02")), "truncated header"),
    (
        "palette truncated table",
        delta(op(Op.PALETTE, R, PALETTE_HEADER.pack(8, 0, 200) + bytes(9))),
        "colour table",
    ),
    (
        "palette index past n",
        delta(op(Op.PALETTE, R, palette(2, 3, bytes(7) + b"\x03"))),
        "past the palette",
    ),
    (
        "palette 8-bit index past n",
        delta(op(Op.PALETTE, R, palette(8, 5, bytes(31) + b"\x05"))),
        "past the palette",
    ),
    (
        "palette index image too big",
        delta(op(Op.PALETTE, R, palette(1, 2, bytes(5)))),
        "declares 5",
    ),
    ("palette index bomb", delta(op(Op.PALETTE, R, palette(8, 2, bytes(1 << 20)))), "declares"),
    (
        "palette no index image",
        delta(op(Op.PALETTE, R, PALETTE_HEADER.pack(1, 0, 2) + bytes(6))),
        "zstd frame",
    ),
    # copy
    (
        "copy source past right",
        delta(op(Op.COPY, R, struct.pack("<HH", W - R.w + 1, 0))),
        "outside the frame",
    ),
    (
        "copy source past bottom",
        delta(op(Op.COPY, R, struct.pack("<HH", 0, H - R.h + 1))),
        "outside the frame",
    ),
    (
        "copy source at 65535",
        delta(op(Op.COPY, R, struct.pack("<HH", 0xFFFF, 0xFFFF))),
        "outside the frame",
    ),
    ("copy short payload", delta(op(Op.COPY, R, b"\0\0\0")), "COPY"),
    ("copy long payload", delta(op(Op.COPY, R, bytes(5))), "COPY"),
    ("video empty payload", delta(op(Op.VIDEO, R, b"")), "VIDEO"),
    # history stream (more in test_history.py)
    (
        "zstream without a stream",
        delta(zstream_op(R, 0, stream(bytes(96))[6:])),
        "no stream to continue",
    ),
    ("zstream reset at a position", delta(zstream_op(R, 7, stream(bytes(96)), reset=True)), "at"),
    ("zstream too little", delta(zstream_op(R, 0, stream(bytes(95)), reset=True)), "gave 95"),
    ("zstream too much", delta(zstream_op(R, 0, stream(bytes(99)), reset=True)), "over 96"),
    (
        "zstream window 16 MiB",
        delta(zstream_op(R, 0, stream(bytes(96), window_log=24), reset=True)),
        "window of",
    ),
    ("zstream truncated", delta(zstream_op(R, 0, stream(R_BGR)[:-1], reset=True)), "truncated"),
    ("zstream garbage", delta(zstream_op(R, 0, b"garbage garbage", reset=True)), "zstd frame"),
    (
        "zstream bomb",
        delta(zstream_op(R, 0, stream(bytes(96 * 4096)), reset=True)),
        "more than 1 blocks for 96 bytes",
    ),
    (
        "zstream RLE bomb",
        # frame header, then one RLE block of 96,000 zero bytes
        delta(
            zstream_op(
                R, 0, ZSTREAM_FRAME + (96000 << 3 | 2).to_bytes(3, "little") + b"\0", reset=True
            )
        ),
        "RLE blocks of more than 96 bytes",
    ),
    # size
    (
        "size change without keyframe",
        delta(op(Op.FILL, SMALL, b"\0\0\0"), w=W + 1),
        "without a keyframe",
    ),
    # one bad op spoils the good ones before it
    (
        "good ops then a bad one",
        delta(
            op(Op.FILL, Rect(0, 0, W, H), b"\x01\x02\x03"),
            copy_op(0, 0, Rect(1, 1, 4, 4)),
            op(Op.RAW, R, bytes(95)),
        ),
        "RAW",
    ),
    # the whole structure is checked before anything is written
    (
        "bad op after good ops is structural",
        delta(op(Op.FILL, Rect(0, 0, W, H), b"\x01\x02\x03"))[:-1],
        "truncated",
    ),
]


def with_op_flags(message: bytes, flags: int) -> bytes:
    """Set the op-flags byte of the first op (message header 8 + update header 16)."""
    b = bytearray(message)
    b[8 + 16 + 1] = flags
    return bytes(b)


HOSTILE += [
    ("fill op flags", with_op_flags(delta(op(Op.FILL, R, b"\0\0\0")), 1), "op flags"),
    ("copy op flags", with_op_flags(delta(copy_op(0, 0, R)), 0x80), "op flags"),
    ("zstd op flags", with_op_flags(delta(op(Op.ZSTD, R, zstd(bytes(96)))), 4), "op flags"),
    (
        "zstream op flags",
        with_op_flags(delta(zstream_op(R, 0, stream(bytes(96)), reset=True)), 3),
        "op flags",
    ),
]


@pytest.mark.parametrize(
    ("message", "match"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_hostile_update_is_refused_and_changes_nothing(
    synced: ScreenDecoder, message: bytes, match: str
) -> None:
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    updates, seq = synced.updates, synced.sequence
    with pytest.raises(DecodeError, match=match):
        synced.decode(message)
    assert np.array_equal(synced.framebuffer, before)
    assert synced.needs_keyframe
    assert (synced.updates, synced.sequence) == (updates, seq)


def test_every_hostile_case_is_a_valid_message_otherwise(synced: ScreenDecoder) -> None:
    """Guard against cases that fail for a reason other than the one tested:
    each fix-up of the bad field must decode."""
    good = [
        delta(op(Op.ZSTD, R, zstd(bytes(96)))),
        delta(op(Op.RAW, R, bytes(96))),
        delta(op(Op.FILL, R, b"\0\0\0")),
        delta(op(Op.PALETTE, R, palette(2, 4, bytes(7) + b"\x03"))),
        delta(op(Op.PALETTE, R, palette(8, 6, bytes(31) + b"\x05"))),
        delta(op(Op.COPY, R, struct.pack("<HH", W - R.w, H - R.h))),
        delta(zstream_op(R, 0, stream(bytes(96)), reset=True)),
        delta(zstream_op(R, 0, stream(R_BGR), reset=True)),
        delta(zstream_op(R, 0, stream(bytes(96), window_log=17), reset=True)),
    ]
    for i, m in enumerate(good):
        synced.decode(bytes(m[:8]) + (1 + i).to_bytes(4, "little") + bytes(m[12:]))
    assert synced.updates == 1 + len(good)


# -- the memory-amplification cap (regression: a few kB once cost gigabytes) ----


def test_many_full_frame_copies_are_refused_before_gathering(synced: ScreenDecoder) -> None:
    """Every COPY source is gathered before the first write, so 300 full-frame
    COPYs (5 kB of message) once made a 1080p decoder hold 2.4 GB; the ops of an
    update may now cover at most MAX_OP_COVERAGE frames."""
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    full = Rect(0, 0, W, H)
    ok = delta(*[copy_op(0, 0, full)] * MAX_OP_COVERAGE)
    synced.decode(ok)  # exactly at the cap: fine
    bomb = delta(*[copy_op(0, 0, full)] * (MAX_OP_COVERAGE + 1))
    with pytest.raises(DecodeError, match="cover more than"):
        synced.decode(bomb)
    assert np.array_equal(synced.framebuffer, before)


def test_copies_at_the_cap_apply_in_order_and_leave_no_lasting_buffer(
    synced: ScreenDecoder,
) -> None:
    """Overlapping COPYs covering 4 frames in one update: every source is read
    before any write and the last copy wins where they overlap (as in
    docs/protocol.md); the sources saved for it (4 frames' worth) are not kept
    for later updates, whose memory stays bounded by one frame."""
    fb = synced.framebuffer
    assert fb is not None
    before = fb.copy()
    full, half = Rect(0, 0, W, H), Rect(0, 0, W, H // 2)
    ops = [copy_op(0, 0, full), copy_op(0, 0, full), copy_op(0, 0, full),
           copy_op(0, H - H // 2, half)]  # fmt: skip
    synced.decode(delta(*ops))
    expect = before.copy()
    expect[: H // 2] = before[H - H // 2 :]
    assert np.array_equal(synced.framebuffer, expect)
    kept = synced._copy_scratch  # the bound under test
    assert kept is None or kept.nbytes <= expect.nbytes
    # A later scroll (two copies: saved sources, within one frame) still works.
    synced.decode(delta(copy_op(0, 1, Rect(0, 0, W, H - 1)), copy_op(0, 0, Rect(0, H - 1, W, 1)),
                        seq=2))  # fmt: skip
    again = expect.copy()
    again[: H - 1], again[H - 1] = expect[1:], expect[0]
    assert np.array_equal(synced.framebuffer, again)


def test_many_full_frame_zstd_ops_are_refused_before_decompressing() -> None:
    """The same bomb with ZSTD ops: each one alone is capped at its rect, but
    all are decompressed before any is applied. Big frame, tiny message."""
    w, h = 4096, 4096
    payload = zstd(bytes(w * h * 3))  # 48 MiB of output from ~1.5 kB
    assert len(payload) < 4096
    msg = build_update(0, w, h, [op(Op.ZSTD, Rect(0, 0, w, h), payload)] * 64, keyframe=True)
    assert len(msg) < 256 * 1024
    dec = ScreenDecoder()
    with pytest.raises(DecodeError, match="cover more than"):
        dec.decode(msg)
    assert dec.framebuffer is None


def test_coverage_counts_every_op_kind(synced: ScreenDecoder) -> None:
    pixel = Rect(0, 0, 1, 1)
    ops = [op(Op.FILL, Rect(0, 0, W, H), b"\0\0\0")] * MAX_OP_COVERAGE + [
        op(Op.RAW, pixel, b"\0\0\0")
    ]
    with pytest.raises(DecodeError, match="op 4: the ops cover more than"):
        synced.decode(delta(*ops))


# -- keyframe state machine ------------------------------------------------------


def test_delta_before_any_keyframe_is_refused() -> None:
    dec = ScreenDecoder()
    with pytest.raises(DecodeError, match="before any keyframe"):
        dec.decode(delta(op(Op.FILL, R, b"\0\0\0")))
    assert dec.framebuffer is None
    assert dec.needs_keyframe
    assert dec.skipped == 0


def test_failed_keyframe_of_new_size_keeps_old_framebuffer(synced: ScreenDecoder) -> None:
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    bad = build_update(9, W * 2, H, [op(Op.RAW, Rect(0, 0, W * 2, H), bytes(5))], keyframe=True)
    with pytest.raises(DecodeError, match="RAW"):
        synced.decode(bad)
    assert synced.size == (W, H)
    assert np.array_equal(synced.framebuffer, before)


def test_hash_mismatch_restores_every_written_rect(synced: ScreenDecoder) -> None:
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    rng = np.random.default_rng(5)
    ops = [
        copy_op(10, 10, Rect(0, 0, 20, 12)),  # overlaps the RAW and the FILL below
        op(Op.RAW, Rect(5, 5, 16, 8), bgr(rng, 16, 8)),
        op(Op.FILL, Rect(8, 0, 30, 30), b"\x10\x20\x30"),
        op(Op.ZSTD, Rect(W - 8, H - 8, 8, 8), zstd(bgr(rng, 8, 8))),
    ]
    # The right hash first, on a scratch decoder in the same state, to prove the
    # ops themselves are fine and only the hash is wrong.
    scratch = ScreenDecoder()
    scratch.decode(ScreenEncoder(W, H, threads=1).encode(noise_frame(1)))
    scratch.decode(delta(*ops))
    right = framebuffer_hash(np.ascontiguousarray(scratch.framebuffer))
    assert not np.array_equal(scratch.framebuffer, before)

    with pytest.raises(IntegrityError, match="hash"):
        synced.decode(delta(*ops, framebuffer_hash=right ^ 1))
    assert np.array_equal(synced.framebuffer, before)
    assert synced.needs_keyframe
    # IntegrityError is a DecodeError is a ValueError
    assert issubclass(IntegrityError, DecodeError)
    assert issubclass(DecodeError, ValueError)


def test_keyframe_hash_mismatch_same_size_restores(synced: ScreenDecoder) -> None:
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    msg = build_update(
        5, W, H, [op(Op.FILL, Rect(0, 0, W, H), b"\1\2\3")], keyframe=True, framebuffer_hash=0
    )
    with pytest.raises(IntegrityError):
        synced.decode(msg)
    assert np.array_equal(synced.framebuffer, before)


def test_verify_off_ignores_the_hash() -> None:
    dec = ScreenDecoder(verify=False)
    dec.decode(
        build_update(
            0, 4, 4, [op(Op.FILL, Rect(0, 0, 4, 4), b"\1\2\3")], keyframe=True, framebuffer_hash=0
        )
    )
    assert dec.framebuffer[0, 0].tolist() == [1, 2, 3, 255]  # type: ignore[index]


def test_deltas_are_skipped_until_a_keyframe_then_recovery(synced: ScreenDecoder) -> None:
    enc = ScreenEncoder(W, H, threads=1, integrity=True)
    dec = ScreenDecoder()
    frames = [noise_frame(s) for s in range(10, 16)]
    dec.decode(enc.encode(frames[0]))
    with pytest.raises(DecodeError):
        dec.decode(delta(op(Op.RAW, R, b"short")))
    stuck = dec.framebuffer.copy()  # type: ignore[union-attr]
    for f in frames[1:4]:
        dec.decode(enc.encode(f))  # deltas: counted, not applied
    assert dec.skipped == 3
    assert dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, stuck)
    enc.request_keyframe()
    dec.decode(enc.encode(frames[4]))
    assert not dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, frames[4])
    dec.decode(enc.encode(frames[5]))  # deltas apply again
    assert np.array_equal(dec.framebuffer, frames[5])
    assert dec.skipped == 3


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda m: m[:-1],
        lambda m: m + b"\0",
        lambda m: m[:2] + b"\x02" + m[3:],
        lambda m: b"XY" + m[2:],
    ],
    ids=["truncated", "trailing", "version 2", "magic"],
)
def test_structural_errors_are_decode_errors(
    synced: ScreenDecoder, corrupt: Callable[[bytes], bytes]
) -> None:
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    msg = ScreenEncoder(W, H, threads=1).encode(noise_frame(3))
    with pytest.raises(DecodeError):
        synced.decode(corrupt(msg))
    assert np.array_equal(synced.framebuffer, before)


def test_max_dimensions_and_message_size_are_enforced() -> None:
    dec = ScreenDecoder(max_width=64, max_height=64, max_message_size=1000)
    with pytest.raises(DecodeError, match="frame size 65x1"):
        dec.decode(
            build_update(0, 65, 1, [op(Op.FILL, Rect(0, 0, 65, 1), b"\0\0\0")], keyframe=True)
        )
    with pytest.raises(DecodeError, match="exceeds the limit of 1000"):
        dec.decode(
            build_update(
                0, 64, 64, [op(Op.RAW, Rect(0, 0, 64, 8), bytes(64 * 8 * 3))], keyframe=True
            )
        )
    with pytest.raises(DecodeError, match="exceeds the limit"):
        dec.feed(b"SC\x01\x01" + struct.pack("<I", 1001))
    assert dec.framebuffer is None


# -- lost messages need a keyframe too (regression) -------------------------------


def test_a_truncated_message_makes_the_decoder_wait_for_a_keyframe() -> None:
    """A refused message may have been an update: applying the next delta on
    top of the old picture would silently show a wrong screen."""
    enc, dec = ScreenEncoder(W, H, threads=1), ScreenDecoder()
    dec.decode(enc.encode(noise_frame(20)))
    lost = enc.encode(noise_frame(21))
    with pytest.raises(DecodeError, match="truncated message"):
        dec.decode(lost[:-1])
    assert dec.needs_keyframe
    dec.decode(enc.encode(noise_frame(22)))  # builds on frame 21, which never arrived
    assert dec.skipped == 1
    assert np.array_equal(dec.framebuffer, noise_frame(20))


def test_feed_bad_header_makes_the_decoder_wait_for_a_keyframe(synced: ScreenDecoder) -> None:
    before = synced.framebuffer.copy()  # type: ignore[union-attr]
    with pytest.raises(DecodeError, match="bad magic"):
        synced.feed(b"XX\x01\x01\0\0\0\0")
    assert synced.needs_keyframe
    assert np.array_equal(synced.framebuffer, before)


def test_feed_goes_on_after_a_failed_message() -> None:
    """A keyframe after a bad update in the same chunk is applied, not dropped."""
    enc, dec = ScreenEncoder(W, H, threads=1), ScreenDecoder()
    dec.decode(enc.encode(noise_frame(30)))
    bad = delta(op(Op.RAW, R, b"short"))
    enc.request_keyframe()
    key = enc.encode(noise_frame(31))
    cursor = build_cursor_position(5, 6, 7)
    with pytest.raises(DecodeError, match="RAW"):
        dec.feed(bad + key + cursor)
    assert not dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, noise_frame(31))
    assert dec.cursor is not None and (dec.cursor.x, dec.cursor.y) == (5, 6)
    # the first error is the one raised when several fail
    bad2 = delta(op(Op.RAW, R, b"short"), seq=2)
    with pytest.raises(DecodeError, match="RAW"):
        dec.feed(bad2 + delta(op(Op.FILL, R, b"\0"), seq=2))
    assert dec.needs_keyframe


# -- the write kernels check before they index raw memory --------------------------


@pytest.mark.parametrize(
    ("x", "y", "w", "h"),
    [(-1, 0, 1, 1), (0, -1, 1, 1), (0, 0, 0, 1), (0, 0, 1, 0), (9, 0, 2, 1), (0, 7, 1, 2)],
)
def test_decode_kernels_refuse_rects_outside_the_frame(x: int, y: int, w: int, h: int) -> None:
    from screencodec.codecs import _pixels
    from screencodec.errors import FrameError

    fb = noise_frame(4, 10, 8)
    before = fb.copy()
    n = max(w, 1) * max(h, 1)
    for call in (
        lambda: _pixels.unpack_bgr(bytes(3 * n), fb, x, y, w, h),
        lambda: _pixels.fill(fb, x, y, w, h, 0x123456),
        lambda: _pixels.palette_apply(bytes(n), 8, b"\1\2\3", fb, x, y, w, h),
    ):
        with pytest.raises(FrameError, match="outside"):
            call()
    assert np.array_equal(fb, before)


def test_palette_apply_rechecks_its_inputs() -> None:
    """apply() is documented not to fail, but the kernel still refuses indices
    it was not shown to be safe for, rather than reading past its table."""
    from screencodec.codecs import _pixels

    fb = noise_frame(4, 10, 8)
    before = fb.copy()
    with pytest.raises(DecodeError, match="past the palette"):
        _pixels.palette_apply(bytes([0, 1, 2, 3]), 8, b"\1\2\3" * 3, fb, 0, 0, 4, 1)
    with pytest.raises(DecodeError, match="index bytes"):
        _pixels.palette_apply(bytes(3), 8, b"\1\2\3", fb, 0, 0, 4, 1)
    with pytest.raises(DecodeError, match="colours"):
        _pixels.palette_apply(bytes(4), 8, b"", fb, 0, 0, 4, 1)
    with pytest.raises(DecodeError, match="BGR triples"):
        _pixels.palette_apply(bytes(4), 8, b"\1\2\3\4", fb, 0, 0, 4, 1)
    with pytest.raises(DecodeError, match="pixel data"):
        _pixels.unpack_bgr(bytes(11), fb, 0, 0, 2, 2)
    assert np.array_equal(fb, before)
