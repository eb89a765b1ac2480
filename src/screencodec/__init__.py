"""screencodec: the screen codec core for remote support."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import lazy_names
from .errors import (
    AccessRefusedError,
    AuthenticationError,
    CaptureError,
    CodecUnavailableError,
    ConcurrentUseError,
    ConfigError,
    ConsentCallbackError,
    ConsentDeniedError,
    DecodeError,
    FormatError,
    FrameError,
    HostFailedError,
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

if TYPE_CHECKING:
    from .capture import CursorState, open_source
    from .decoder import ScreenDecoder
    from .encoder import EncodeStats, ScreenEncoder
    from .motion import CursorEncoder

    __version__: str

#: The codec's names, each imported from its module on first use (PEP 562):
#: ``import screencodec`` stays light (no numpy, no extensions), so a command
#: (``screencodec.cli``) runs its own code, and handles a Ctrl-C, before the
#: codec loads; a Ctrl-C while the package was importing it was a traceback.
_LAZY = {
    "CursorState": ".capture",
    "open_source": ".capture",
    "ScreenDecoder": ".decoder",
    "EncodeStats": ".encoder",
    "ScreenEncoder": ".encoder",
    "CursorEncoder": ".motion",
}


_getattr, _dir = lazy_names(__name__, _LAZY, globals())

if not TYPE_CHECKING:  # mypy reads the imports above, so a misspelled name is an error (_lazy)

    def __getattr__(name: str) -> Any:
        if name == "__version__":
            globals()[name] = _version()
            return globals()[name]
        return _getattr(name)

    def __dir__() -> list[str]:
        return sorted({*_dir(), "__version__"})


def _version() -> str:
    """One source of truth: pyproject's version, as installed (looked up
    on first use: importlib.metadata alone took 30 ms of every start)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("screencodec")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"

__all__ = [
    "AccessRefusedError",
    "AuthenticationError",
    "CaptureError",
    "CodecUnavailableError",
    "ConcurrentUseError",
    "ConfigError",
    "ConsentCallbackError",
    "ConsentDeniedError",
    "CursorEncoder",
    "CursorState",
    "DecodeError",
    "EncodeStats",
    "FormatError",
    "FrameError",
    "HostFailedError",
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
