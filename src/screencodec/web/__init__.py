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

from screencodec.web.access import PageAccess
from screencodec.web.bridge import WebBridge, capabilities_from
from screencodec.web.playback import PlaybackOptions, RecordingPlayback
from screencodec.web.run import WebOptions, WebViewer
from screencodec.web.server import STATIC_DIR, WebServer

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
