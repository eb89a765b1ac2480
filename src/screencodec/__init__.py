"""screencodec: the screen codec core for remote support."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .capture import CursorState, open_source
from .decoder import ScreenDecoder
from .encoder import EncodeStats, ScreenEncoder
from .errors import (
    AccessRefusedError,
    AuthenticationError,
    CaptureError,
    CodecUnavailableError,
    ConcurrentUseError,
    ConsentDeniedError,
    DecodeError,
    FrameError,
    IntegrityError,
    NetnsError,
    PermissionDeniedError,
    ProtocolError,
    ProxyError,
    RefuseCode,
    ScreencodecError,
    SessionClosedError,
    TransportError,
    VersionMismatchError,
)
from .geometry import Monitor, Rect
from .motion import CursorEncoder

__all__ = [
    "AccessRefusedError",
    "AuthenticationError",
    "CaptureError",
    "CodecUnavailableError",
    "ConcurrentUseError",
    "ConsentDeniedError",
    "CursorEncoder",
    "CursorState",
    "DecodeError",
    "EncodeStats",
    "FrameError",
    "IntegrityError",
    "Monitor",
    "NetnsError",
    "PermissionDeniedError",
    "ProtocolError",
    "ProxyError",
    "Rect",
    "RefuseCode",
    "ScreenDecoder",
    "ScreenEncoder",
    "ScreencodecError",
    "SessionClosedError",
    "TransportError",
    "VersionMismatchError",
    "__version__",
    "open_source",
]

try:  # one source of truth: pyproject's version, as installed
    __version__ = version("screencodec")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
