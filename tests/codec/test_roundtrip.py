"""ScreenEncoder -> ScreenDecoder: bit-exact B, G, R in every case a caller meets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import screencodec
from screencodec.wire import Op, UpdateFlags, parse_update, split_message


def decode_ops(data: bytes) -> list[Op]:
    _, body = split_message(data)
    return [o.op for o in parse_update(body).ops]


def assert_exact(fb: np.ndarray, frame: np.ndarray) -> None:
    assert fb.shape == frame.shape
    assert np.array_equal(fb[..., :3], frame[..., :3])
    assert (fb[..., 3] == 255).all()


def desktop(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Flat background, a few-colour 'text' block and a noisy 'photo' block."""
    f = np.empty((h, w, 4), np.uint8)
    f[...] = (40, 30, 20, 0)
    f[h // 8 : h // 2, w // 8 : w // 2, :3] = (
        rng.integers(0, 3, (h // 2 - h // 8, w // 2 - w // 8, 3)) * 120
    )
    f[h // 2 :, w // 2 :] = rng.integers(0, 256, (h - h // 2, w - w // 2, 4))
    return f


@pytest.mark.parametrize("integrity", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_sequence_of_edits_is_bit_exact(integrity: bool, threads: int) -> None:
    rng = np.random.default_rng(1)
    h, w = 270, 481  # odd sizes: partial tiles and blocks
    f = desktop(rng, h, w)
    with screencodec.ScreenEncoder(w, h, integrity=integrity, threads=threads) as enc:
        dec = screencodec.ScreenDecoder()
        assert_exact(dec.decode(enc.encode(f)), f)
        for i in range(25):
            y, x = rng.integers(0, h - 20), rng.integers(0, w - 30)
            f[y : y + rng.integers(1, 20), x : x + rng.integers(1, 30)] = rng.integers(0, 256, 4)
            if i % 7 == 0:
                f[rng.integers(0, h), :, :3] = rng.integers(0, 256, (w, 3))
            assert_exact(dec.decode(enc.encode(f)), f)
        assert dec.updates == 26 and dec.skipped == 0


def test_padding_byte_is_ignored() -> None:
    rng = np.random.default_rng(2)
    f = desktop(rng, 64, 96)
    enc, dec = screencodec.ScreenEncoder(96, 64), screencodec.ScreenDecoder()
    dec.decode(enc.encode(f))
    f[..., 3] = rng.integers(0, 256, (64, 96))  # an X server scribbling in padding
    data = enc.encode(f)
    assert decode_ops(data) == []
    assert len(data) == 24  # header 8 + update header 16, no ops
    assert_exact(dec.decode(data), f)


def test_unchanged_frame_costs_a_few_bytes_and_keyframe_on_request() -> None:
    f = desktop(np.random.default_rng(3), 100, 100)
    enc, dec = screencodec.ScreenEncoder(100, 100), screencodec.ScreenDecoder()
    first = enc.encode(f)
    assert parse_update(split_message(first)[1]).flags & UpdateFlags.KEYFRAME
    dec.decode(first)
    assert len(enc.encode(f)) == 24
    enc.request_keyframe()
    again = enc.encode(f)
    u = parse_update(split_message(again)[1])
    assert u.keyframe and sum(o.rect.area for o in u.ops) == 100 * 100
    # A viewer that joins late starts from the keyframe alone.
    late = screencodec.ScreenDecoder()
    assert_exact(late.decode(again), f)


def test_strided_and_foreign_layouts() -> None:
    rng = np.random.default_rng(4)
    big = rng.integers(0, 256, (120, 200, 4), dtype=np.uint8)
    view = big[10:90, 20:150]  # row-strided view
    assert not view.flags.c_contiguous
    enc, dec = screencodec.ScreenEncoder(130, 80), screencodec.ScreenDecoder()
    assert_exact(dec.decode(enc.encode(view)), view)
    flipped = big[::-1, :130][:80]  # negative row stride: converted once
    assert_exact(dec.decode(enc.encode(flipped)), flipped)
    fortran = np.asfortranarray(big[:80, :130])
    assert_exact(dec.decode(enc.encode(fortran)), fortran)


def test_encoder_keeps_no_reference_to_the_callers_frame() -> None:
    rng = np.random.default_rng(5)
    f = desktop(rng, 64, 64)
    enc, dec = screencodec.ScreenEncoder(64, 64), screencodec.ScreenDecoder()
    dec.decode(enc.encode(f))
    expected = f.copy()
    f[:] = 0  # the caller reuses its buffer
    assert np.array_equal(enc.reference[..., :3], expected[..., :3])
    f[:] = expected
    assert decode_ops(enc.encode(f)) == []


def test_resolution_change_mid_stream() -> None:
    rng = np.random.default_rng(6)
    enc, dec = screencodec.ScreenEncoder(64, 48), screencodec.ScreenDecoder()
    for h, w in [(48, 64), (100, 33), (1, 1), (48, 64)]:
        f = desktop(rng, h, w) if h > 8 else rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        data = enc.encode(f)
        assert parse_update(split_message(data)[1]).keyframe
        assert_exact(dec.decode(data), f)
        g = f.copy()
        g[0, 0, 0] ^= 0xFF
        assert_exact(dec.decode(enc.encode(g)), g)


def test_encoding_choices_per_rect() -> None:
    f = np.zeros((64, 256, 4), np.uint8)
    f[:, :64, :3] = 200  # solid
    rng = np.random.default_rng(7)
    f[:, 64:128, :3] = rng.integers(0, 2, (64, 64, 1)) * 255  # two colours
    f[:, 128:, :3] = rng.integers(0, 256, (64, 128, 3))  # noise
    enc = screencodec.ScreenEncoder(256, 64, threads=1)
    enc.encode(np.zeros_like(f))
    ops = []
    for x0, x1 in [(0, 64), (64, 128), (128, 256)]:
        g = enc.reference.copy()
        g[:, x0:x1] = f[:, x0:x1]
        ops += decode_ops(enc.encode(g))
    assert ops == [Op.FILL, Op.PALETTE, Op.RAW]  # noise does not compress: sent raw


def test_bad_frames_are_refused_clearly() -> None:
    enc = screencodec.ScreenEncoder(10, 10)
    for bad in (
        np.zeros((10, 10, 3), np.uint8),
        np.zeros((10, 10, 4), np.uint16),
        np.zeros((10, 10), np.uint8),
        np.zeros((0, 10, 4), np.uint8),
        np.zeros((20000, 1, 4), np.uint8),
    ):
        with pytest.raises(screencodec.FrameError):
            enc.encode(bad)
    with pytest.raises(ValueError, match="frame size 0x10"):  # FrameError is a ValueError
        screencodec.ScreenEncoder(0, 10)
    with pytest.raises(screencodec.FrameError):
        screencodec.ScreenEncoder(10, 10, tile_size=8)


@given(
    h=st.integers(1, 80),
    w=st.integers(1, 80),
    tile=st.sampled_from([16, 32, 64, 256]),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_property_random_streams_round_trip(h: int, w: int, tile: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (rng.integers(1, 6), 4), dtype=np.uint8)
    f = palette[rng.integers(0, len(palette), (h, w))]
    enc = screencodec.ScreenEncoder(w, h, tile_size=tile, integrity=True, threads=1)
    dec = screencodec.ScreenDecoder()
    for _ in range(4):
        assert_exact(dec.decode(enc.encode(f)), f)
        n = int(rng.integers(0, 4))
        for _ in range(n):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            f[y : y + int(rng.integers(1, 9)), x : x + int(rng.integers(1, 9))] = palette[
                int(rng.integers(0, len(palette)))
            ]


def test_framebuffer_is_read_only() -> None:
    f = desktop(np.random.default_rng(8), 32, 32)
    dec = screencodec.ScreenDecoder()
    fb = dec.decode(screencodec.ScreenEncoder(32, 32).encode(f))
    with pytest.raises(ValueError, match="read-only"):
        fb[0, 0, 0] = 1


def test_streaming_feed_in_odd_chunks() -> None:
    rng = np.random.default_rng(9)
    f = desktop(rng, 48, 80)
    enc, dec = screencodec.ScreenEncoder(80, 48), screencodec.ScreenDecoder()
    stream = bytearray(enc.encode(f))
    frames = [f.copy()]
    for _ in range(5):
        f[rng.integers(0, 48), :, :3] = rng.integers(0, 256, 3)
        stream += enc.encode(f)
        frames.append(f.copy())
    applied = 0
    for i in range(0, len(stream), 7):
        applied += dec.feed(stream[i : i + 7])
    assert applied == 6
    fb = dec.framebuffer
    assert fb is not None
    assert_exact(fb, frames[-1])


def test_photo_like_rects_go_filtered_zstd_and_beat_plain_zstd() -> None:
    import zstandard

    rng = np.random.default_rng(10)
    yy, xx = np.mgrid[0:96, 0:160]
    f = np.zeros((96, 160, 4), np.uint8)
    f[..., 0] = (xx + yy) % 256
    f[..., 1] = (2 * yy + rng.integers(0, 6, (96, 160))) % 256  # gradient + grain
    f[..., 2] = 255 - xx
    enc, dec = screencodec.ScreenEncoder(160, 96, threads=1), screencodec.ScreenDecoder()
    data = enc.encode(f)
    _, body = split_message(data)
    (zop,) = parse_update(body).ops
    assert zop.op is Op.ZSTD and zop.flags == 6  # MED | PLANAR, the default
    plain = zstandard.ZstdCompressor(level=1).compress(np.ascontiguousarray(f[..., :3]).data)
    assert len(zop.payload) < 0.7 * len(plain)
    assert_exact(dec.decode(data), f)


def test_close_from_another_thread_never_breaks_a_running_encode() -> None:
    # A session ending closes the encoder from another thread. The close used to
    # shut the block pool down between an encode's taking it and its submitting
    # ("cannot schedule new futures after shutdown"), after the reference had
    # been updated: that update was lost and the viewer silently out of step.
    import threading

    rng = np.random.default_rng(11)
    w, h = 512, 256  # several blocks, over the parallel threshold
    enc, dec = screencodec.ScreenEncoder(w, h, threads=4), screencodec.ScreenDecoder()
    stop = threading.Event()

    def closer() -> None:
        while not stop.is_set():
            enc.close()

    t = threading.Thread(target=closer)
    t.start()
    try:
        for _ in range(60):
            f = rng.integers(0, 4, (h, w, 4), dtype=np.uint8) * 60
            assert_exact(dec.decode(enc.encode(f)), f)
    finally:
        stop.set()
        t.join()
        enc.close()


def test_cursor_messages_before_any_keyframe_are_applied_not_refused() -> None:
    from screencodec.wire import build_cursor_position, build_cursor_shape

    dec = screencodec.ScreenDecoder()
    shape = bytes(range(4 * 3 * 2))
    assert dec.decode(build_cursor_shape(7, 3, 2, (1, 1), shape)).shape == (0, 0, 4)
    assert dec.decode(build_cursor_position(-4, 9, 7)).shape == (0, 0, 4)
    assert dec.cursor is not None and (dec.cursor.x, dec.cursor.y) == (-4, 9)
    image = dec.cursor_image(7)
    assert image is not None and image.pixels.tobytes() == shape and image.hotspot == (1, 1)
    assert dec.needs_keyframe  # still waiting for pixels
