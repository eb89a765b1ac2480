"""Frame factories and a checked encode -> decode round trip for the motion tests."""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from screencodec import ScreenDecoder, ScreenEncoder
from screencodec.motion import MotionStage
from screencodec.wire import MessageType, Op, parse_update, split_message

Frame = npt.NDArray[np.uint8]


def noise(rng: np.random.Generator, h: int, w: int) -> Frame:
    """Photo-like worst case: every row and segment unique. X = 255."""
    f = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    f[..., 3] = 255
    return f


def photo(rng: np.random.Generator, h: int, w: int) -> Frame:
    """A smooth, photo-like picture with a little grain (no row or segment
    repeats exactly, but neighbours are close)."""
    # Broadcast rows and columns instead of an mgrid: the same values bit
    # for bit (each element is the same float operation), half the time
    # (a 1400x640 wallpaper is made in most tests of a file).
    xx, yy = np.arange(w), np.arange(h)[:, None]
    f = np.empty((h, w, 4), np.uint8)
    f[..., 0] = (128 + 60 * np.sin(xx / 37) + 40 * np.cos(yy / 23) + rng.normal(0, 5, (h, w))).clip(
        0, 255
    )
    diagonal = np.sin(np.arange(h + w - 1) / 60)[xx + yy]  # sin((xx + yy) / 60)
    f[..., 1] = (100 + 80 * diagonal + rng.normal(0, 5, (h, w))).clip(0, 255)
    f[..., 2] = (90 + 70 * np.cos(xx / 81 - yy / 29) + rng.normal(0, 5, (h, w))).clip(0, 255)
    f[..., 3] = 255
    return f


def textish(rng: np.random.Generator, h: int, w: int, line: int = 12) -> Frame:
    """Dark 'words' on white in lines of ``line`` px with blank rows between
    them and blank stretches: content full of repeated (blank) rows."""
    f = np.full((h, w, 4), 255, np.uint8)
    for top in range(0, h - line, line):
        if rng.random() < 0.25:
            continue  # an empty line
        x = int(rng.integers(2, 12))
        while x < w - 8:
            n = int(rng.integers(3, 40))
            glyphs = rng.integers(0, 2, (line - 4, min(n, w - x)), dtype=np.uint8).astype(bool)
            colour = rng.integers(0, 120, 3, dtype=np.uint8)
            block = f[top + 2 : top + line - 2, x : x + glyphs.shape[1], :3]
            block[glyphs] = colour
            x += n + int(rng.integers(4, 12))
    return f


def stripes(h: int, w: int, period: int = 4, vertical: bool = False) -> Frame:
    """Pure stripes: every row (or column) repeats with ``period``."""
    idx = np.arange(w if vertical else h) % period
    values = (idx * (200 // max(1, period - 1))).astype(np.uint8)
    f = np.empty((h, w, 4), np.uint8)
    if vertical:
        f[..., :3] = values[None, :, None]
    else:
        f[..., :3] = values[:, None, None]
    f[..., 3] = 255
    return f


def small_stage() -> MotionStage:
    """Eager thresholds, for small test screens (and to stress verification)."""
    return MotionStage(min_area=1024, min_rows=4, min_run=8, min_copy_area=64, budget_ms=50)


def make_pair(w: int, h: int, *, eager: bool = False) -> tuple[ScreenEncoder, ScreenDecoder]:
    enc = ScreenEncoder(w, h, threads=1, integrity=True)
    if eager:
        enc.motion_stage = small_stage()
    return enc, ScreenDecoder()


def copies_in(data: bytes) -> list[tuple[int, int, int, int, int, int]]:
    """(src_x, src_y, x, y, w, h) of every COPY op of an update message."""
    mtype, body = split_message(data)
    assert mtype is MessageType.UPDATE
    out = []
    for op in parse_update(body).ops:
        if op.op is Op.COPY:
            sx, sy = struct.unpack("<HH", op.payload)
            r = op.rect
            out.append((sx, sy, r.x, r.y, r.w, r.h))
    return out


def checked_update(enc: ScreenEncoder, dec: ScreenDecoder, frame: Frame) -> bytes:
    """Encode and decode ``frame``; assert the decoded B, G, R equal it, and that
    every COPY is exact on its own: its source in the viewer's picture before
    the update equals the frame at its destination. Returns the update."""
    before = None if dec.framebuffer is None else dec.framebuffer.copy()
    data = enc.encode(frame)
    for sx, sy, x, y, w, h in copies_in(data):
        assert before is not None
        src = before[sy : sy + h, sx : sx + w, :3]
        assert same_bgr(src, frame[y : y + h, x : x + w]), (sx, sy, x, y, w, h)
    fb = dec.decode(data)
    assert same_bgr(fb, frame)
    assert same_bgr(enc.reference, frame)
    return data


def same_bgr(a: Frame, b: Frame) -> bool:
    """``np.array_equal(a[..., :3], b[..., :3])``, a channel at a time: the
    strided ``[..., :3]`` views are copied whole by array_equal (30 ms at
    1400x640, in every update of every round trip), a channel compares in
    a few."""
    return a.shape[:2] == b.shape[:2] and all(
        np.array_equal(a[..., c], b[..., c]) for c in range(3)
    )


def roundtrip(enc: ScreenEncoder, dec: ScreenDecoder, frame: Frame) -> tuple[int, int]:
    """``checked_update``; returns (COPY ops, bytes)."""
    data = checked_update(enc, dec, frame)
    return len(copies_in(data)), len(data)
