"""Codecs: how a rectangle of pixels becomes an op, and back."""

from __future__ import annotations

from .base import CodecSpec, OpDecoder, Prepared, RectEncoder, StreamDecoder
from .copy import COPY_SPEC, CopyDecoder, copy_op
from .history import HISTORY_SPEC, HistoryDecoder, HistoryEncoder
from .lossless import LOSSLESS_SPEC, LosslessDecoder, LosslessEncoder
from .registry import CodecRegistry, default_registry

__all__ = [
    "COPY_SPEC",
    "HISTORY_SPEC",
    "LOSSLESS_SPEC",
    "CodecRegistry",
    "CodecSpec",
    "CopyDecoder",
    "HistoryDecoder",
    "HistoryEncoder",
    "LosslessDecoder",
    "LosslessEncoder",
    "OpDecoder",
    "Prepared",
    "RectEncoder",
    "StreamDecoder",
    "copy_op",
    "default_registry",
]
