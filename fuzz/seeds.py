"""Decoder states and seed messages shared by the fuzz harness and the corpus
generator. Everything is built from fixed seeds, so runs are reproducible."""

from __future__ import annotations

import numpy as np

from screencodec.codecs import copy_op
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, build_cursor_position, build_cursor_shape, build_update

#: (width, height) of the pictures a fuzz input may start from; index 0 is a
#: decoder that has seen nothing yet.
SIZES: list[tuple[int, int] | None] = [None, (40, 24), (7, 3), (96, 64), (40, 24)]
#: States whose picture came from a history encoder: their ZSTREAM stream is open.
HISTORY_STATES = frozenset({4})


def frames(seed: int, w: int, h: int) -> list[np.ndarray]:
    """Screen-like frames: flat, text, gradient, scrolled, noisy, few colours."""
    rng = np.random.default_rng(seed)
    base = np.zeros((h, w, 4), np.uint8)
    base[..., 3] = 255
    base[..., :3] = (40, 40, 48)
    text = base.copy()
    text[h // 4 : h // 4 + h // 2, 2 : 2 + w // 2, :3] = (
        rng.integers(0, 2, (h // 2, w // 2), dtype=np.uint8)[..., None] * 200
    )
    grad = text.copy()
    grad[: h // 3, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    scrolled = np.roll(grad, -1, axis=0)
    noisy = scrolled.copy()
    noisy[h // 2 :, w // 2 :, :3] = rng.integers(0, 256, (h - h // 2, w - w // 2, 3))
    few = noisy.copy()
    pal = rng.integers(0, 256, (5, 3), dtype=np.uint8)
    few[: h // 2, : w // 2, :3] = pal[rng.integers(0, 5, (h // 2, w // 2))]
    return [base, text, grad, scrolled, noisy, few]


def setup_message(state: int) -> bytes | None:
    """The keyframe that puts a fresh decoder into ``state`` (None: fresh)."""
    size = SIZES[state]
    if size is None:
        return None
    w, h = size
    enc = ScreenEncoder(w, h, threads=1, history=state in HISTORY_STATES)
    return enc.encode(frames(w * h, w, h)[-1])


def next_to_setup(msg: bytes) -> bytes:
    """``msg`` numbered 1 if it is a delta update: the number that follows
    every setup keyframe (0), so a decoder does not refuse it as a gap."""
    if msg[3] != 1 or msg[12] & 1:
        return msg
    return msg[:8] + (1).to_bytes(4, "little") + msg[12:]


def seed_messages() -> list[tuple[int, bytes]]:
    """(state, message) pairs: real encoder output and hand-built ops, deltas
    numbered to follow the setup keyframe."""
    return [(state, next_to_setup(m)) for state, m in _seed_messages()]


def _seed_messages() -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for state, size in enumerate(SIZES):
        if size is None:
            continue
        w, h = size
        fs = frames(w * h, w, h)
        history = state in HISTORY_STATES
        for integrity in (False, True):
            enc = ScreenEncoder(w, h, threads=1, integrity=integrity, history=history)
            enc.encode(fs[-1])  # now in step with setup_message(state)
            for f in fs:
                out.append((state, enc.encode(f)))
                if history:  # back in step: the same keyframe restarts the same stream
                    enc.request_keyframe()
                    enc.encode(fs[-1])
            enc.request_keyframe()
            out.append((state, enc.encode(fs[1])))
            out.append((0, enc.encode(fs[2])))  # a delta for a fresh decoder
        scroll = build_update(
            9,
            w,
            h,
            [
                copy_op(0, 1, Rect(0, 0, w, h - 1)),
                EncodedOp(Op.FILL, Rect(0, h - 1, w, 1), b"\1\2\3"),
            ],
        )
        out.append((state, scroll))
    out.append((0, ScreenEncoder(40, 24, threads=1).encode(frames(1, 40, 24)[4])))
    out.append((1, build_cursor_shape(5, 3, 2, (1, 1), bytes(range(24)))))
    out.append((1, build_cursor_position(-4, 9, 5)))
    out += stream_seeds()
    out += video_seeds()
    return out


def stream_seeds() -> list[tuple[int, bytes]]:
    """Byte streams (meant for the chunked mode) that exercise skipping and
    resynchronisation: an unknown type, another version, lost framing before
    a keyframe, and a keyframe-like header whose length hides the real one."""
    enc = ScreenEncoder(40, 24, threads=1)
    fs = frames(7, 40, 24)
    key, delta = enc.encode(fs[0]), enc.encode(fs[1])
    unknown = b"SC\x01\x09" + (4).to_bytes(4, "little") + b"abcd"
    v2 = b"SC\x02\x01" + (2).to_bytes(4, "little") + b"xy"
    fake = b"SC\x01\x01" + (16 + 14 + len(key)).to_bytes(4, "little") + key[8:24] + bytes(14)
    return [
        (0, key + unknown + delta),
        (0, key + v2 + delta + key),
        (1, b"XX\x01\x01junk" + key + delta),
        (1, b"\xff" * 9 + fake + key + delta),
    ]


def video_seeds() -> list[tuple[int, bytes]]:
    """VIDEO ops of a 32x32 region of the 96x64 picture, when PyAV is installed."""
    try:
        from screencodec.video.codec import VideoStream
        from screencodec.video.h264 import H264Options
    except ImportError:
        return []
    out = []
    w, h = SIZES[3]  # type: ignore[misc]
    fs = frames(w * h, w, h)
    for chroma in ("444", "420"):
        stream = VideoStream(1, 32, 32, H264Options(chroma=chroma))
        ref = fs[-1].copy()
        rect = Rect(16, 16, 32, 32)
        ops = [stream.encode(f, ref, rect) for f in fs[2:5]]
        out.append((3, build_update(20, w, h, ops[:1])))
        out.append((3, build_update(20, w, h, ops[:2])))  # IDR + P in one update
        out.append((3, build_update(20, w, h, ops)))
    return out
