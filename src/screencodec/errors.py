"""The exception hierarchy.

Every error screencodec raises derives from :class:`ScreencodecError`. Each
subclass also inherits the builtin it corresponds to, so callers that only know
Python's own exceptions still catch it (``except ValueError`` catches a
:class:`DecodeError`), as PyAV does.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AccessRefusedError",
    "AuthenticationError",
    "CaptureError",
    "CodecUnavailableError",
    "ConcurrentUseError",
    "ConfigError",
    "ConsentCallbackError",
    "ConsentDeniedError",
    "DecodeError",
    "FormatError",
    "FrameError",
    "HostFailedError",
    "IntegrityError",
    "NetnsError",
    "PermissionDeniedError",
    "ProtocolError",
    "ProxyError",
    "RefuseCode",
    "ScreencodecError",
    "SessionClosedError",
    "TransportError",
    "VersionMismatchError",
]


class ScreencodecError(Exception):
    """Root of every exception raised by screencodec."""


class DecodeError(ScreencodecError, ValueError):
    """Encoded data is malformed, truncated, out of bounds or of an unknown kind.

    The decoder's framebuffer is unchanged when this is raised.
    """


class IntegrityError(DecodeError):
    """An update decoded cleanly but its framebuffer hash does not match."""


class FrameError(ScreencodecError, ValueError):
    """A frame handed to the encoder has the wrong shape, dtype or layout."""


class FormatError(ScreencodecError, ValueError):
    """A value a person types is not of its form (a session code, a password,
    a ``HOST:PORT``): the message says the form. Before walk39 a plain
    ValueError, which a program catching ScreencodecError missed."""


class ConfigError(ScreencodecError, ValueError):
    """Options an object was made with cannot work: a relay's ``advertise``
    or ``public_names`` a viewer would not believe or dial, a Viewer's
    resume ticket of the wrong size or a kept picture without one. Before
    tail39 a plain ValueError, which a program catching ScreencodecError
    missed."""


class CaptureError(ScreencodecError, OSError):
    """A frame source cannot be opened or grabbed from."""


class CodecUnavailableError(ScreencodecError, RuntimeError):
    """A codec is not registered, or its library is not installed."""


class ConcurrentUseError(ScreencodecError, RuntimeError):
    """An object that serves one caller at a time was called by a second
    while the first was still inside it (a stage shared between threads)."""


class TransportError(ScreencodecError, ConnectionError):
    """The network transport failed: a peer vanished or a link broke."""


class ProtocolError(TransportError):
    """A peer sent a message that breaks the session protocol (oversized, malformed,
    tampered, replayed or out of order). The session is ended."""


class SessionClosedError(TransportError):
    """The session has ended (by either side, by timeout or by a fatal error).

    ``handed``: raised by a channel's ``send`` after the message's bytes were
    handed to the connection (the channel closed, or the line broke, while
    they waited for the socket to take them): they may reach the peer, or
    not; nothing here can tell. False when the message never left."""

    def __init__(self, *args: object, handed: bool = False) -> None:
        super().__init__(*args)
        self.handed = handed


class HostFailedError(SessionClosedError):
    """The host's program failed as the session began (at its user's yes:
    its screen could not be opened, a bug there): an error on the host's
    side, told by the host's code for it (a ``Notice`` of ``HOST_FAILED``
    before its ``Bye``, odds40), not by its words. ``Viewer.start`` and
    ``view()`` raise it; mid-session, ``Viewer.host_failed`` says it."""


class AuthenticationError(ScreencodecError, PermissionError):
    """The session code or the one-time password was wrong, or too many attempts."""


class PermissionDeniedError(ScreencodecError, PermissionError):
    """The local user has not granted what the peer asked for."""


class ConsentDeniedError(PermissionDeniedError):
    """The local user declined to share the screen, or did not answer in time."""


class ConsentCallbackError(ScreencodecError, TypeError):
    """What a host was given as its consent callback is none: a factory
    (``allow``, ``deny``, ``terminal_consent``) given where the callback it
    makes was meant (``consent=allow`` for ``consent=allow()``), or
    something that cannot be called. Raised by ``Host()`` and ``share()``:
    such a host would refuse every agent without a word."""


class VersionMismatchError(ProtocolError):
    """The peer speaks the transport protocol, but another version of it."""


class RefuseCode(IntEnum):
    """Why a host or relay refused a connection (sent in a REFUSE frame)."""

    MALFORMED = 1
    BAD_VERSION = 2
    UNKNOWN_SESSION = 3
    AUTH_FAILED = 4
    PASSWORD_INVALIDATED = 5
    RATE_LIMITED = 6
    SESSION_ENDED = 7
    CODE_IN_USE = 8
    BUSY = 9
    TIMEOUT = 10


class AccessRefusedError(AuthenticationError):
    """A host or relay refused access; ``code`` says why (a :class:`RefuseCode`)."""

    def __init__(self, code: RefuseCode, detail: str) -> None:
        super().__init__(f"{code.name}: {detail}")
        self.code = code


class NetnsError(ScreencodecError, OSError):
    """(linkbench) The namespace or its qdiscs could not be set up."""


class ProxyError(ScreencodecError, RuntimeError):
    """(linkbench) The proxy process did not start or stopped answering."""
