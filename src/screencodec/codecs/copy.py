"""The COPY op: move pixels that are already on the viewer's screen.

Scrolls and window moves become one small op instead of re-sent pixels. Every
COPY of an update reads the framebuffer as it was before the update, so copies
never chain or depend on their order (see docs/protocol.md).
"""

from __future__ import annotations

from ..errors import DecodeError
from ..geometry import Rect
from ..wire import EncodedOp, Op, OpView
from ..wire.format import COPY_PAYLOAD
from .base import CodecSpec, Framebuffer, Prepared

__all__ = ["COPY_SPEC", "CopyDecoder", "copy_op"]

COPY_SPEC = CodecSpec(name="copy", ops=frozenset({Op.COPY}), lossless=True, speed=100, quality=100)


def copy_op(src_x: int, src_y: int, dest: Rect) -> EncodedOp:
    """An op that copies the ``dest``-sized rect at (src_x, src_y) to ``dest``."""
    return EncodedOp(Op.COPY, dest, COPY_PAYLOAD.pack(src_x, src_y))


class CopyDecoder:
    spec = COPY_SPEC

    def begin_update(self) -> None:
        """Nothing to reset: every op stands alone."""

    def prepare(self, op: OpView, size: tuple[int, int], /) -> Prepared:
        if op.flags:
            raise DecodeError(f"COPY: unknown op flags 0x{op.flags:02x}")
        if len(op.payload) != COPY_PAYLOAD.size:
            raise DecodeError(f"COPY: payload of {len(op.payload)} bytes, expected 4")
        sx, sy = COPY_PAYLOAD.unpack(op.payload)
        r = op.rect
        if sx + r.w > size[0] or sy + r.h > size[1]:
            raise DecodeError(f"COPY: source {sx},{sy} {r.w}x{r.h} outside the frame")
        return Prepared(Op.COPY, r, Rect(sx, sy, r.w, r.h))

    def apply(self, prepared: Prepared, fb: Framebuffer, /) -> None:
        """One COPY on its own. The screen decoder applies an update's copies
        together instead (every source read before any is written)."""
        src: Rect = prepared.data
        fb[prepared.rect.slices()] = fb[src.slices()].copy()
