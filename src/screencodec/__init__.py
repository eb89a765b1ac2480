"""screencodec: the screen codec core for remote support."""

from __future__ import annotations

from .decoder import ScreenDecoder
from .encoder import EncodeStats, ScreenEncoder
from .errors import (
    CaptureError,
    CodecUnavailableError,
    DecodeError,
    FrameError,
    IntegrityError,
    ScreencodecError,
)
from .geometry import Monitor, Rect
from .motion import CursorEncoder

__all__ = [
    "CaptureError",
    "CodecUnavailableError",
    "CursorEncoder",
    "DecodeError",
    "EncodeStats",
    "FrameError",
    "IntegrityError",
    "Monitor",
    "Rect",
    "ScreenDecoder",
    "ScreenEncoder",
    "ScreencodecError",
    "__version__",
]

__version__ = "0.1.0"
