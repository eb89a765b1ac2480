"""History compression (ZSTREAM): one zstd stream across updates.

Round trips stay bit-exact with the stream on; keyframes and lost updates
reset it the way docs/protocol.md says; hostile stream data is refused whole,
with the framebuffer unchanged and the stream dropped; the session layer
turns it on only for viewers that declare it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.capture.replay import Recording
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.codecs import HistoryDecoder, HistoryEncoder, LosslessEncoder
from screencodec.codecs.history import BLOCK_SIZE, FLUSH_SIZE, parse_frame_header
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.transport.session import messages
from screencodec.transport.session._msglink import LEGACY_OPS, Capabilities
from screencodec.transport.session.encoding import choose_encoder, session_encoder
from screencodec.wire import (
    ZSTREAM_MAX_WINDOW,
    EncodedOp,
    Op,
    OpView,
    build_update,
    parse_update,
    split_message,
    zstream_op,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "recording"
W, H = 48, 32


def frame(seed: int, w: int = W, h: int = H, colours: int = 0) -> np.ndarray:
    """Noise, or (with ``colours``) a few-colour picture that the lossless
    coder sends as ZSTREAM when history is on."""
    rng = np.random.default_rng(seed)
    if colours:
        pal = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
        f = pal[rng.integers(0, colours, (h, w))]
    else:
        f = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    f[..., 3] = 255
    return f


def ops_of(message: bytes) -> list[OpView]:
    return list(parse_update(split_message(message)[1]).ops)


def stream_bytes(chunks: list[bytes], window_log: int = 23, level: int = 1) -> list[bytes]:
    """What a stream compressor gives for ``chunks``, one flushed block each."""
    params = zstandard.ZstdCompressionParameters.from_level(
        level, window_log=window_log, write_content_size=0, write_checksum=0, write_dict_id=0
    )
    cobj = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return [cobj.compress(c) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for c in chunks]


def roundtrip(frames: list[np.ndarray], **options: object) -> tuple[int, dict[Op, int]]:
    """Encode and decode every frame, checking each picture; bytes and op counts."""
    w, h = frames[0].shape[1], frames[0].shape[0]
    enc = ScreenEncoder(w, h, integrity=True, **options)  # type: ignore[arg-type]
    dec = ScreenDecoder()
    total, counts = 0, dict.fromkeys(Op, 0)
    for i, f in enumerate(frames):
        data = enc.encode(f, now=i / 20)
        total += len(data)
        for op, n in enc.last.ops.items():
            counts[op] += n
        got = dec.decode(data)
        assert np.array_equal(got[..., :3], f[..., :3]), f"frame {i}"
        assert np.array_equal(got, enc.reference)
    return total, counts


# -- bit-exact round trips -------------------------------------------------------


@pytest.mark.parametrize("scenario", ["typing", "terminal", "browser", "drag", "idle"])
def test_synthetic_scenarios_round_trip_exactly(scenario: str) -> None:
    src = SyntheticDesktop(480, 270, scenario=scenario, seed=4)
    frames = [src.frame_at(i) for i in range(14)]
    _, counts = roundtrip(frames, history=True, threads=2)
    assert counts[Op.ZSTREAM] > 0
    assert counts[Op.PALETTE] == 0  # every few-colour block went through the stream


@pytest.mark.parametrize("name", ["terminal-log", "vim-typing"])
def test_real_recordings_round_trip_exactly_and_cost_less(name: str) -> None:
    with Recording.open(DATA / name) as rec:
        frames = [rec.frame(i).copy() for i in range(len(rec.times))]  # frame() is a view
    today, _ = roundtrip(frames, history=False, threads=1)
    streamed, counts = roundtrip(frames, history=True, threads=1)
    assert counts[Op.ZSTREAM] > 0
    assert streamed < today


def test_side_by_side_streamed_blocks_go_as_one_op_per_band() -> None:
    """A wide area of text is cut into 256 x 64 blocks for the lossless coder;
    those that go through the stream are joined again, one op per band
    (each op costs a block flush), a photo among them keeps its own ZSTD op,
    and every picture is exact."""
    w, h = 1280, 256
    f0 = frame(3, w, h, colours=4)
    f1 = frame(4, w, h, colours=4)
    yy, xx = np.mgrid[0:64, 0:256]
    grain = np.random.default_rng(9).integers(0, 3, (64, 256))
    for c in range(3):  # a photo-like block: smooth, many colours, hardly flat
        f1[64:128, 512:768, c] = (xx * (c + 1) + yy * 2 + grain) % 256
    enc = ScreenEncoder(w, h, integrity=True, threads=1, history=True)
    dec = ScreenDecoder()
    rects = []
    for f in (f0, f1):
        data = enc.encode(f)
        assert np.array_equal(dec.decode(data)[..., :3], f[..., :3])
        rects.append([(o.op, o.rect) for o in ops_of(data)])
    assert rects[0] == [(Op.ZSTREAM, Rect(0, y, w, 64)) for y in range(0, h, 64)]
    band = [(Op.ZSTREAM, Rect(0, 64, 512, 64)), (Op.ZSTD, Rect(512, 64, 256, 64))]
    band.append((Op.ZSTREAM, Rect(768, 64, 512, 64)))
    assert rects[1] == [(Op.ZSTREAM, Rect(0, 0, w, 64)), *band] + [
        (Op.ZSTREAM, Rect(0, y, w, 64)) for y in (128, 192)
    ]


def test_large_rects_span_several_blocks() -> None:
    """Rects past one block (the screen encoder's blocks never are): raw, RLE
    and compressed blocks, sizes around the 126 KiB flush size."""
    f = frame(1, 700, 300, colours=5)
    f[:, 300:] = frame(2, 400, 300)  # noise: raw blocks
    f[200:] = (7, 8, 9, 255)  # solid: RLE blocks
    enc, dec = HistoryEncoder(), HistoryDecoder()
    rects = [Rect(0, 0, 700, 300), Rect(0, 0, 512, 252), Rect(3, 5, 1, 1), Rect(0, 0, 700, 300)]
    for i, r in enumerate(rects):
        op = enc.encode_rect(f, r)
        assert op.flags == (1 if i == 0 else 0)
        view = ops_of(build_update(i, 700, 300, [op]))[0]
        prepared = dec.prepare(view, (700, 300))
        out = np.zeros_like(f)
        dec.apply(prepared, out)
        assert np.array_equal(out[r.slices()][..., :3], f[r.slices()][..., :3])
    assert len(enc.encode_rect(f, rects[1]).payload) < 512 * 252 * 3


def test_lossless_coder_keeps_photos_out_of_the_stream() -> None:
    """Photo-like blocks (many colours, few equal neighbours) keep their
    filtered ZSTD op; text-like ones (flat, or few colours) are streamed."""
    photo = np.zeros((64, 256, 4), np.uint8)
    photo[..., 0] = np.arange(256, dtype=np.uint8)[None, :]
    photo[..., 1] = np.arange(64, dtype=np.uint8)[:, None] * 3
    photo[..., 2] = frame(3, 256, 64)[..., 2] // 8
    # >256 colours, but 2 of 3 pixels equal their left neighbour, as in text
    text = np.ascontiguousarray(np.repeat(photo[:, ::3], 3, axis=1)[:, :256])
    coder = LosslessEncoder(stream=True)
    r = Rect(0, 0, 256, 64)
    assert coder.encode_rect(photo, r).op is Op.ZSTD
    assert coder.encode_rect(text, r).op is Op.ZSTREAM
    assert coder.encode_rect(frame(5, 256, 64, colours=9), r).op is Op.ZSTREAM
    assert coder.encode_rect(frame(6, 256, 64), r).op is Op.ZSTREAM  # noise: RAW before
    solid = np.full((64, 256, 4), 9, np.uint8)
    assert coder.encode_rect(solid, r).op is Op.FILL
    assert LosslessEncoder().encode_rect(text, r).op is Op.ZSTD  # without stream: as before


@pytest.mark.skipif(
    not __import__("screencodec.video").video.available(), reason="needs PyAV"
)  # fmt: skip
@pytest.mark.parametrize("scenario", ["drag", "idle"])
def test_history_under_rate_control_keeps_the_reference_exact(scenario: str) -> None:
    """Lossy stills, refinement and the stream together: every update's hash
    (of the host's reference) verifies at the viewer."""
    src = SyntheticDesktop(480, 270, scenario=scenario, seed=2)
    enc = ScreenEncoder(480, 270, integrity=True, lossy=True, history=True, threads=1)
    enc.set_rate(100_000, interval=1 / 20)
    dec = ScreenDecoder()
    streamed = lossy = 0
    for i in range(24):
        dec.decode(enc.encode(src.frame_at(i), now=i / 20))
        streamed += enc.last.ops.get(Op.ZSTREAM, 0)
        lossy += enc.last.lossy_pixels
    assert streamed > 0 and lossy > 0
    assert np.array_equal(dec.framebuffer, enc.reference)


# -- keyframes and lost updates ---------------------------------------------------


def terminal_frames(n: int) -> list[np.ndarray]:
    src = SyntheticDesktop(480, 270, scenario="terminal", seed=1)
    return [src.frame_at(i) for i in range(n)]


def test_keyframe_request_resets_the_stream_and_a_late_joiner_follows() -> None:
    frames = terminal_frames(12)
    enc = ScreenEncoder(480, 270, history=True, threads=1, integrity=True)
    dec = ScreenDecoder()
    for f in frames[:6]:
        dec.decode(enc.encode(f))
    enc.request_keyframe()
    key = enc.encode(frames[6])
    streamed = [o for o in ops_of(key) if o.op is Op.ZSTREAM]
    assert streamed[0].flags == 1 and all(o.flags == 0 for o in streamed[1:])
    late = ScreenDecoder()  # joins at the keyframe: needs nothing before it
    for d in (dec, late):
        d.decode(key)
    for f in frames[7:]:
        data = enc.encode(f)
        for d in (dec, late):
            assert np.array_equal(d.decode(data)[..., :3], f[..., :3])


def test_a_lost_update_is_refused_then_a_keyframe_recovers() -> None:
    frames = [frame(10 + i, colours=6) for i in range(8)]
    enc = ScreenEncoder(W, H, history=True, threads=1, motion=False)
    dec = ScreenDecoder()
    dec.decode(enc.encode(frames[0]))
    dec.decode(enc.encode(frames[1]))
    enc.encode(frames[2])  # lost on the way
    shown = dec.framebuffer.copy()  # type: ignore[union-attr]
    with pytest.raises(DecodeError, match="an update was lost"):
        dec.decode(enc.encode(frames[3]))
    assert dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, shown)
    dec.decode(enc.encode(frames[4]))  # a delta: skipped, not decoded
    assert dec.skipped == 1
    enc.request_keyframe()
    dec.decode(enc.encode(frames[5]))
    for f in frames[6:]:
        assert np.array_equal(dec.decode(enc.encode(f))[..., :3], f[..., :3])


def test_a_refused_update_drops_the_stream() -> None:
    """Even one whose own ZSTREAM ops decoded: a later op failed, the update
    is refused, and the next ZSTREAM op without RESET cannot be decoded."""
    enc = ScreenEncoder(W, H, history=True, threads=1, motion=False)
    dec = ScreenDecoder()
    dec.decode(enc.encode(frame(1, colours=6)))
    good = ops_of(enc.encode(frame(2, colours=6)))
    zs = [EncodedOp(o.op, o.rect, bytes(o.payload), o.flags) for o in good]
    bad = build_update(1, W, H, [*zs, EncodedOp(Op.RAW, Rect(0, 0, 1, 1), b"xx")])
    with pytest.raises(DecodeError, match="RAW"):
        dec.decode(bad)
    dec.needs_keyframe = False  # pretend it went on: the stream is still gone
    with pytest.raises(DecodeError, match="no stream to continue"):
        dec.decode(enc.encode(frame(3, colours=6)))


def test_a_keyframe_must_restart_the_stream() -> None:
    """A keyframe's first ZSTREAM op has RESET, even when the decoder holds a
    stream it could continue."""
    enc = ScreenEncoder(W, H, history=True, threads=1, motion=False)
    dec = ScreenDecoder()
    dec.decode(enc.encode(frame(1, colours=6)))
    delta = enc.encode(frame(2, colours=6))
    u = parse_update(split_message(delta)[1])
    continued = [EncodedOp(o.op, o.rect, bytes(o.payload), o.flags) for o in u.ops]
    with pytest.raises(DecodeError, match="no stream to continue"):
        dec.decode(build_update(u.sequence, W, H, continued, keyframe=True))


def test_encoder_resets_after_an_unfinished_update_or_reordered_ops() -> None:
    f = frame(7, 300, 80, colours=4)
    enc, dec = HistoryEncoder(), ScreenDecoder()
    enc.begin(keyframe=True)
    a, b = enc.encode_rect(f, Rect(0, 0, 100, 80)), enc.encode_rect(f, Rect(100, 0, 200, 80))
    enc.finish([b, a], f)  # reordered by a caller: compressed again, in this order
    assert (b.flags, a.flags) == (1, 0)
    dec.decode(build_update(0, 300, 80, [b, a], keyframe=True))
    assert np.array_equal(dec.framebuffer, f)
    enc.begin(keyframe=False)
    enc.encode_rect(f, Rect(0, 0, 5, 5))  # an update that never finished (encode raised)
    enc.begin(keyframe=False)
    c = enc.encode_rect(f, Rect(0, 0, 300, 80))
    enc.finish([c], f)
    assert c.flags == 1
    dec.decode(build_update(1, 300, 80, [c]))  # a delta may reset too
    assert np.array_equal(dec.framebuffer, f)


# -- hostile stream data ---------------------------------------------------------

R = Rect(4, 2, 8, 4)  # 96 bytes of B, G, R
PIXELS = bytes(range(96))


def block_header(kind: int, size: int, last: int = 0) -> bytes:
    return (size << 3 | kind << 1 | last).to_bytes(3, "little")


def frame_header(window_descriptor: int = 13 << 3) -> bytes:
    return b"\x28\xb5\x2f\xfd\x00" + bytes([window_descriptor])


def reset_op(data: bytes, rect: Rect = R, position: int = 0) -> EncodedOp:
    return zstream_op(rect, position, data, reset=True)


def continuing(position: int, data: bytes, rect: Rect = R) -> EncodedOp:
    return zstream_op(rect, position, data)


GOOD = stream_bytes([PIXELS, PIXELS[::-1]])
RAW_BLOCK = block_header(0, 96) + PIXELS
# Each case: ops of one delta update, the error it must raise. The decoder
# starts in sync and with an open stream (see ``streaming``).
HOSTILE_STREAMS: list[tuple[str, list[EncodedOp], str]] = [
    ("too short", [reset_op(frame_header() + block_header(0, 95) + PIXELS[:95])], "cannot hold"),
    ("too long", [reset_op(frame_header() + block_header(1, 99) + b"\7")], "more than 96"),
    (
        "compressed too long",
        [reset_op(stream_bytes([bytes(99)])[0])],
        "blocks gave over 96 bytes",
    ),
    ("window 16 MiB", [reset_op(stream_bytes([PIXELS], window_log=24)[0])], "window of"),
    ("window 64 KiB", [reset_op(frame_header(6 << 3) + RAW_BLOCK)], "window of"),
    ("window mantissa", [reset_op(frame_header(13 << 3 | 1) + RAW_BLOCK)], "window of"),
    ("content size", [reset_op(zstandard.ZstdCompressor().compress(PIXELS))], "descriptor"),
    ("not a frame", [reset_op(b"garbage garbage garbage")], "does not start"),
    ("truncated header", [reset_op(frame_header()[:5])], "truncated zstd frame header"),
    ("truncated block", [reset_op(GOOD[0][:-1])], "truncated block"),
    ("truncated block header", [reset_op(frame_header() + b"\1\2")], "truncated block header"),
    ("no block", [reset_op(frame_header())], "no block"),
    ("last block", [reset_op(frame_header() + block_header(0, 96, last=1) + PIXELS)], "ends"),
    ("reserved block", [reset_op(frame_header() + block_header(3, 4) + bytes(4))], "reserved"),
    ("block too big", [reset_op(frame_header() + block_header(2, BLOCK_SIZE + 1))], "at most"),
    (
        "too many blocks",
        [reset_op(frame_header() + (block_header(0, 48) + PIXELS[:48]) * 2)],
        "more than 1 blocks",
    ),
    ("garbage blocks", [reset_op(frame_header() + block_header(2, 20) + bytes(20))], "corrupt"),
    ("reset at a position", [reset_op(GOOD[0], position=96)], "RESET op at stream position"),
    ("lost update", [continuing(0, GOOD[1])], "an update was lost"),
    ("bad flags", [EncodedOp(Op.ZSTREAM, R, bytes(4) + GOOD[0], 2)], "op flags"),
    ("good then bad", [reset_op(GOOD[0]), continuing(96, GOOD[1][:-2])], "truncated"),
]


@pytest.fixture
def streaming() -> ScreenDecoder:
    """A decoder in sync whose stream decoded 96 bytes (so 'lost update' is
    one): position 96."""
    dec = ScreenDecoder()
    fill = EncodedOp(Op.FILL, Rect(0, 0, W, H), b"\1\2\3")
    dec.decode(build_update(0, W, H, [fill], keyframe=True))
    dec.decode(build_update(1, W, H, [reset_op(GOOD[0])]))
    return dec


@pytest.mark.parametrize(
    ("ops", "match"), [c[1:] for c in HOSTILE_STREAMS], ids=[c[0] for c in HOSTILE_STREAMS]
)
def test_hostile_stream_is_refused_whole(
    streaming: ScreenDecoder, ops: list[EncodedOp], match: str
) -> None:
    before = streaming.framebuffer.copy()  # type: ignore[union-attr]
    with pytest.raises(DecodeError, match=match):
        streaming.decode(build_update(2, W, H, ops))
    assert np.array_equal(streaming.framebuffer, before)
    assert streaming.needs_keyframe
    streaming.needs_keyframe = False  # the stream is gone regardless
    with pytest.raises(DecodeError, match="no stream to continue"):
        streaming.decode(build_update(3, W, H, [continuing(96, GOOD[1])]))


def test_the_hostile_cases_differ_from_valid_ones_only_where_named(
    streaming: ScreenDecoder,
) -> None:
    streaming.decode(build_update(2, W, H, [continuing(96, GOOD[1])]))
    assert shown(streaming, R) == PIXELS[::-1]
    for seq, data in enumerate(
        (frame_header() + RAW_BLOCK, frame_header() + block_header(1, 96) + b"\7"), 3
    ):
        streaming.decode(build_update(seq, W, H, [reset_op(data)]))
        assert shown(streaming, R) in (PIXELS, b"\7" * 96)
    streaming.decode(build_update(5, W, H, [reset_op(stream_bytes([PIXELS], window_log=17)[0])]))
    assert shown(streaming, R) == PIXELS
    assert parse_frame_header(frame_header(13 << 3)) == ZSTREAM_MAX_WINDOW


def shown(dec: ScreenDecoder, r: Rect) -> bytes:
    fb = dec.framebuffer
    assert fb is not None
    return fb[r.slices()][..., :3].tobytes()


def test_a_first_op_without_reset_is_refused() -> None:
    dec = ScreenDecoder()
    fill = EncodedOp(Op.FILL, Rect(0, 0, W, H), b"\1\2\3")  # a keyframe covers the frame
    with pytest.raises(DecodeError, match="no stream to continue"):
        dec.decode(build_update(0, W, H, [fill, continuing(0, GOOD[0][6:])], keyframe=True))
    assert dec.framebuffer is None


def test_more_blocks_than_the_flush_size_needs_are_refused() -> None:
    """Compressed in one go, zstd (1.5.7, even at level 1) splits some full
    128 KiB blocks in two; the host flushes every 126 KiB, which it never
    splits, and the decoder holds it to that many blocks."""
    f = frame(1, 700, 300, colours=5)
    f[:, 300:] = frame(2, 400, 300)
    f[200:] = (7, 8, 9, 255)
    data = f[..., :3].tobytes()
    rect = Rect(0, 0, 700, 300)
    (whole,) = stream_bytes([data])
    blocks = ops_of(build_update(0, 700, 300, [reset_op(whole, rect)]))[0]
    limit = -(-len(data) // FLUSH_SIZE)
    if count_blocks(whole[6:]) > limit:  # this zstd split blocks
        with pytest.raises(DecodeError, match=f"more than {limit} blocks"):
            HistoryDecoder().prepare(blocks, (700, 300))
    op = HistoryEncoder().encode_rect(f, rect)
    assert count_blocks(bytes(op.payload)[4 + 6 :]) == limit
    with pytest.raises(ValueError, match="levels up to 9"):
        HistoryEncoder(level=16)


def count_blocks(data: bytes) -> int:
    pos = n = 0
    while pos < len(data):
        head = int.from_bytes(data[pos : pos + 3], "little")
        pos += 3 + (1 if head >> 1 & 3 == 1 else head >> 3)
        n += 1
    return n


@given(st.binary(max_size=300), st.booleans(), st.integers(0, 200))
@settings(max_examples=300, deadline=None)
def test_arbitrary_stream_bytes_only_raise_decode_error(
    data: bytes, reset: bool, position: int
) -> None:
    dec = HistoryDecoder()
    dec.prepare(ops_of(build_update(0, W, H, [reset_op(GOOD[0])]))[0], (W, H))
    payload = (frame_header() + data) if reset and position % 2 else data
    at = (0 if position % 3 else 96) if reset else (96 if position < 100 else position)
    op = zstream_op(R, at, payload, reset=reset)
    if not payload:
        op.payload = bytes(4) + b"x"
    try:
        prepared = dec.prepare(ops_of(build_update(1, W, H, [op]))[0], (W, H))
    except DecodeError:
        assert not dec.active
    else:
        assert len(prepared.data) == R.area * 3


# -- capabilities ----------------------------------------------------------------


def test_capabilities_decide_history() -> None:
    full = Capabilities.full()
    assert full.decodes(Op.ZSTREAM) and full.max_cache == ZSTREAM_MAX_WINDOW == 8 << 20
    assert Op.ZSTREAM not in LEGACY_OPS and frozenset(Op) - {Op.ZSTREAM} == LEGACY_OPS
    assert not Capabilities.legacy().decodes(Op.ZSTREAM)
    assert choose_encoder(full).history
    assert not choose_encoder(Capabilities.legacy()).history
    small = Capabilities(full.ops, full.video, full.flags, ZSTREAM_MAX_WINDOW - 1)
    assert not choose_encoder(small).history
    no_op = Capabilities(full.ops & ~(1 << Op.ZSTREAM), full.video, full.flags, 1 << 30)
    assert not choose_encoder(no_op).history
    assert messages.decode(messages.encode(full)) == full
    enc = session_encoder(64, 48)
    assert enc.encode(frame(1, 64, 48, colours=4)) and enc.last.ops.get(Op.ZSTREAM)  # type: ignore[attr-defined]
