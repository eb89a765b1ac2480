"""What every codec declares and implements.

A codec is two stateful objects: a rect encoder on the host and an op decoder
on the viewer. Decoding is split in two phases so that an update applies
atomically: ``prepare`` validates and decompresses one op without touching the
framebuffer (it may raise DecodeError), ``apply`` writes the prepared result
and cannot fail. The decoder prepares every op of an update before applying
any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..geometry import Rect
from ..wire import EncodedOp, Op, OpView

__all__ = ["CodecSpec", "OpDecoder", "Prepared", "RectEncoder", "StreamDecoder"]

Framebuffer = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class CodecSpec:
    """Capabilities a caller scores codecs by (after Xpra's encoder specs).

    ``speed`` and ``quality`` are relative scores from 0 to 100: how fast it
    encodes a pixel and how close the result is to the source (100 =
    bit-exact).
    """

    name: str
    ops: frozenset[Op]
    lossless: bool
    speed: int
    quality: int
    min_size: tuple[int, int] = (1, 1)
    max_size: tuple[int, int] = (16384, 16384)
    requires: tuple[str, ...] = ()

    def fits(self, w: int, h: int) -> bool:
        return (
            self.min_size[0] <= w <= self.max_size[0] and self.min_size[1] <= h <= self.max_size[1]
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated op, ready to be written: ``data`` is codec-specific."""

    op: Op
    rect: Rect
    data: Any


class RectEncoder(Protocol):
    spec: CodecSpec

    def encode_rect(self, fb: Framebuffer, rect: Rect, /) -> EncodedOp:
        """Encode the rect of ``fb`` (an (H, W, 4) BGRX frame) as one op."""
        ...


class OpDecoder(Protocol):
    spec: CodecSpec

    def begin_update(self) -> None:
        """Called once before the ops of each update are prepared (a codec that
        limits work per update resets its counters here)."""
        ...

    def prepare(self, op: OpView, size: tuple[int, int], /) -> Prepared:
        """Validate and decode one op of a ``size`` = (width, height) frame;
        raise DecodeError. Must not write anywhere."""
        ...

    def apply(self, prepared: Prepared, fb: Framebuffer, /) -> None:
        """Write a prepared op into the framebuffer. Cannot fail."""
        ...


@runtime_checkable
class StreamDecoder(Protocol):
    """An op decoder with state that spans updates (codecs.history): the
    screen decoder calls ``drop_stream`` when a keyframe starts and whenever
    it refuses an update, since the host's stream went on without it."""

    def drop_stream(self) -> None: ...
