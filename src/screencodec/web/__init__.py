"""The web viewer: watch and control a session from a browser on this machine.

``screencodec view HOST:PORT --code ... --web`` runs :class:`WebViewer`: this
process terminates the sealed channel as the terminal viewer does, serves a
page on 127.0.0.1 that decodes the wire format itself (``static/decoder``),
and relays the host's wire messages to it unchanged over one WebSocket
(:mod:`.bridge`), behind a one-time token (:mod:`.access`).
``screencodec recordings play FILE --web`` serves the same page for a session
recording (:class:`RecordingPlayback`, :mod:`.playback`). See docs/web.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec._lazy import lazy_names

if TYPE_CHECKING:
    from screencodec.web.access import PageAccess
    from screencodec.web.bridge import WebBridge, capabilities_from
    from screencodec.web.playback import PlaybackOptions, RecordingPlayback
    from screencodec.web.run import WebOptions, WebViewer
    from screencodec.web.server import STATIC_DIR, WebServer

#: Each public name, imported from its module on first use (PEP 562), as
#: ``screencodec.transport`` does: ``view --web`` (web.run) does not load the
#: recording player (web.playback: the recording package, the encoder and
#: cryptography, 6% of the instructions of its start, time50a).
_LAZY = {
    "PageAccess": "screencodec.web.access",
    "PlaybackOptions": "screencodec.web.playback",
    "RecordingPlayback": "screencodec.web.playback",
    "STATIC_DIR": "screencodec.web.server",
    "WebBridge": "screencodec.web.bridge",
    "WebOptions": "screencodec.web.run",
    "WebServer": "screencodec.web.server",
    "WebViewer": "screencodec.web.run",
    "capabilities_from": "screencodec.web.bridge",
}

if not TYPE_CHECKING:  # mypy reads the imports above (_lazy)
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

__all__ = [
    "STATIC_DIR",
    "PageAccess",
    "PlaybackOptions",
    "RecordingPlayback",
    "WebBridge",
    "WebOptions",
    "WebServer",
    "WebViewer",
    "capabilities_from",
]
