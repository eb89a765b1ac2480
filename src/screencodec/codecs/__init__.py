"""Codecs: how a rectangle of pixels becomes an op, and back."""

from __future__ import annotations

from .base import CodecSpec, OpDecoder, Prepared, RectEncoder
from .copy import COPY_SPEC, CopyDecoder, copy_op
from .lossless import LOSSLESS_SPEC, LosslessDecoder, LosslessEncoder
from .registry import CodecRegistry, default_registry

__all__ = [
    "COPY_SPEC",
    "LOSSLESS_SPEC",
    "CodecRegistry",
    "CodecSpec",
    "CopyDecoder",
    "LosslessDecoder",
    "LosslessEncoder",
    "OpDecoder",
    "Prepared",
    "RectEncoder",
    "copy_op",
    "default_registry",
]
