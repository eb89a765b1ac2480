"""Seed messages with MED-filtered ZSTD ops (op flags MED | PLANAR = 6), for
fuzz_med.py and make_med_corpus.py, and the structure-aware mutation that
fuzz_med.py applies to them.

The seeds start from the states of seeds.SIZES: ScreenEncoder's own output
with ``photo_filter="med"`` on photo-like frames (with and without HASH), and
hand-built updates that put MED ops where the kernels are most likely to go
wrong: 1x1, one row, one column, at the frame's right and bottom edges, the
whole frame, over COPYs that chain and swap, and MED frames made of raw zstd
blocks (whose bytes any mutation keeps decodable). Everything is built from
fixed seeds, so the corpus is reproducible.
"""

from __future__ import annotations

import random

import numpy as np
import zstandard
from seeds import SIZES, frames, next_to_setup, setup_message

from screencodec.codecs import _pixels, copy_op
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.frames import framebuffer_hash
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, build_update, parse_update, split_message

__all__ = [
    "MED",
    "med_seed_messages",
    "mutate_med",
    "photo",
    "raw_frame",
    "residuals",
    "zstd_frame",
]

MED = 6
#: Op flag values a mutation may give a ZSTD op: every valid one and the
#: refused ones nearest to them.
FLAG_CHOICES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0E, 0x46, 0x86, 0xFF)


def photo(seed: int, w: int, h: int) -> np.ndarray:
    """Photo-like BGRX: gradients with grain that moves the channels together."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 5 + yy) % 256, (yy * 3 + xx) % 256, (255 - 2 * xx) % 256], axis=-1)
    grain = rng.integers(-6, 7, (h, w, 1)) + rng.integers(-2, 3, (h, w, 3))
    out = np.full((h, w, 4), 255, np.uint8)
    out[..., :3] = (base + grain) % 256
    return out


def zstd_frame(data: bytes) -> bytes:
    """One zstd frame that declares its content size."""
    return zstandard.ZstdCompressor(write_content_size=True).compress(data)


def raw_frame(data: bytes) -> bytes:
    """One zstd frame of raw blocks: any change to their bytes still decodes."""
    n = len(data)
    # magic, then a single-segment descriptor with an 8-byte content size
    out = bytearray(b"\x28\xb5\x2f\xfd\xe0" + n.to_bytes(8, "little"))
    for i in range(0, max(n, 1), 1 << 17):
        chunk = data[i : i + (1 << 17)]
        last = i + (1 << 17) >= n
        out += (int(last) | (len(chunk) << 3)).to_bytes(3, "little") + chunk
    return bytes(out)


def med_op(px: np.ndarray, rect: Rect, *, raw: bool = False) -> EncodedOp:
    packed = bytes(_pixels.pack_med(px, rect.x, rect.y, rect.w, rect.h))
    return EncodedOp(Op.ZSTD, rect, raw_frame(packed) if raw else zstd_frame(packed), MED)


def _hand_built(state: int, w: int, h: int) -> list[bytes]:
    """Deltas numbered 1 with MED ops at the awkward places of a w x h frame."""
    pic = photo(state, w, h)
    rects = [
        Rect(0, 0, 1, 1),
        Rect(w - 1, h - 1, 1, 1),
        Rect(0, h - 1, w, 1),
        Rect(w - 1, 0, 1, h),
        Rect(0, 0, w, h),
        Rect(w // 3, h // 3, max(1, w // 2), max(1, h // 2)),
    ]
    out = [build_update(1, w, h, [med_op(pic, r)]) for r in rects]
    out.append(build_update(1, w, h, [med_op(pic, r, raw=True) for r in rects[:4]]))
    hw, hh = max(1, w // 2), max(1, h // 2)
    if w >= 2 and h >= 2:
        left, right = Rect(0, 0, hw, hh), Rect(w - hw, h - hh, hw, hh)
        copies = [
            copy_op(right.x, right.y, left),  # a swap ...
            copy_op(left.x, left.y, right),
            copy_op(0, 0, Rect(1, 1, w - 1, h - 1)),  # ... and a chain through it
        ]
        out.append(build_update(1, w, h, [*copies, med_op(pic, Rect(0, 0, 1, h), raw=True)]))
        hashed = [*copies, med_op(pic, rects[5])]
        out.append(build_update(1, w, h, hashed, framebuffer_hash=1))  # a mismatch: undone
        out.append(build_update(1, w, h, hashed, framebuffer_hash=_hash_after(state, w, h, hashed)))
    return out


def _hash_after(state: int, w: int, h: int, ops: list[EncodedOp]) -> int:
    """The framebuffer hash after ``ops`` applied to ``state``'s picture."""
    dec = ScreenDecoder()
    setup = setup_message(state)
    assert setup is not None
    dec.decode(setup)
    return framebuffer_hash(np.ascontiguousarray(dec.decode(build_update(1, w, h, ops))))


def _encoded(state: int, w: int, h: int) -> list[bytes]:
    out = []
    fs = frames(w * h, w, h)
    pics = [photo(w * h + k, w, h) for k in range(3)]
    for integrity in (False, True):
        enc = ScreenEncoder(w, h, threads=1, integrity=integrity, photo_filter="med")
        enc.encode(fs[-1])  # now in step with seeds.setup_message(state)
        for p in pics:
            out.append(enc.encode(p))
        enc.request_keyframe()
        out.append(enc.encode(pics[0]))
    return out


def med_seed_messages() -> list[tuple[int, bytes]]:
    """(state, message) pairs, deltas numbered to follow the setup keyframe."""
    out: list[tuple[int, bytes]] = []
    for state, size in enumerate(SIZES):
        if size is None or state == 4:  # 4: a history encoder's picture, same as 1
            continue
        w, h = size
        msgs = _encoded(state, w, h) + _hand_built(state, w, h)
        out += [(state, next_to_setup(m)) for m in msgs]
        key = build_update(0, w, h, [med_op(photo(7, w, h), Rect(0, 0, w, h), raw=True)],
                           keyframe=True)  # fmt: skip
        out.append((0, key))
    return out


def residuals(payload: bytes, rect: Rect) -> bytes | None:
    """The bytes of a ZSTD op's frame if it declares the rect's w*h*3 and
    decodes to them (never more: a mutated frame may declare gigabytes)."""
    try:
        if zstandard.frame_content_size(payload) != rect.area * 3:
            return None
        data: bytes = zstandard.ZstdDecompressor().decompress(payload)
    except zstandard.ZstdError:
        return None
    return data if len(data) == rect.area * 3 else None


def _rebuild(msg: bytes, ops: list[EncodedOp]) -> bytes:
    u = parse_update(split_message(msg)[1])
    return build_update(
        u.sequence, u.width, u.height, ops, keyframe=u.keyframe, framebuffer_hash=u.framebuffer_hash
    )


def mutate_med(msg: bytes, rnd: random.Random) -> bytes | None:
    """A structure-aware mutation of an update's ZSTD ops, or None if ``msg``
    is no parsable update with one: the residuals of one op changed and
    compressed again (the decoder's MED inverse then sees them, past zstd),
    its flags set to a neighbouring value, its declared content size moved
    by one, or its rect's size changed under the same payload."""
    try:
        u = parse_update(split_message(msg)[1])
    except ValueError:
        return None
    ops = [EncodedOp(o.op, o.rect, bytes(o.payload), o.flags) for o in u.ops]
    zs = [i for i, o in enumerate(ops) if o.op is Op.ZSTD]
    if not zs:
        return None
    i = rnd.choice(zs)
    o = ops[i]
    kind = rnd.randrange(5)
    if kind <= 1:
        got = residuals(bytes(o.payload), o.rect)
        if got is None:
            return None
        data = bytearray(got)
        for _ in range(1 + rnd.randrange(8)):
            if data:
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        if kind == 1 and data:  # a run of extreme residuals: every clamp and wrap
            at = rnd.randrange(len(data))
            n = len(data[at : at + 64])
            data[at : at + n] = bytes(rnd.choice((0, 1, 127, 128, 255)) for _ in range(n))
        payload = raw_frame(bytes(data)) if rnd.random() < 0.5 else zstd_frame(bytes(data))
        ops[i] = EncodedOp(o.op, o.rect, payload, MED if rnd.random() < 0.8 else o.flags)
    elif kind == 2:
        ops[i] = EncodedOp(o.op, o.rect, o.payload, rnd.choice(FLAG_CHOICES))
    elif kind == 3:
        plain = residuals(bytes(o.payload), o.rect)
        if plain is None:
            return None
        body = raw_frame(plain)
        n = len(plain) + rnd.choice((-1, 1, 1 << 32, -(1 << 31)))
        head = body[:5] + (n % (1 << 64)).to_bytes(8, "little")
        ops[i] = EncodedOp(o.op, o.rect, head + body[13:], o.flags)
    else:
        r = o.rect
        w, h = (r.h, r.w) if rnd.random() < 0.5 else (max(1, r.w - 1), r.h + 1)
        if r.x + w > u.width or r.y + h > u.height:
            return None
        ops[i] = EncodedOp(o.op, Rect(r.x, r.y, w, h), o.payload, o.flags)
    return _rebuild(msg, ops)
