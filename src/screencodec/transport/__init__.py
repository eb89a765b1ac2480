"""Remote-support sessions: the sealed transport and the session layer above it.

Session layer (this package's public face):

* :class:`Host` / :class:`HostConfig`: share a screen with consenting viewers;
* :class:`Viewer`: watch, ask for control, send input;
* permission levels (:data:`VIEW`, :data:`CONTROL`, :func:`register_permission`),
  the consent types (:class:`ConsentRequest`, :class:`Grant`) and helpers;
* :func:`channel_pair`: an in-memory :class:`Channel` pair for tests and
  in-process embedding.

The sealed transport (codes, handshake, secure channel, relay) lives in its
own modules and is imported from there.
"""

from __future__ import annotations

from .channel import MAX_MESSAGE_SIZE, Channel
from .consent import ConsentCallback, allow, deny, terminal_consent
from .events import (
    ChatReceived,
    CursorMoved,
    Event,
    FileReceived,
    FrameDecoded,
    PermissionChanged,
    SessionEnded,
    SharingChanged,
    StatsUpdated,
)
from .host import Host, HostConfig
from .memory import channel_pair
from .permissions import CONTROL, VIEW, ConsentRequest, Grant, Permission, register_permission
from .pointer import PointerState
from .screens import SourceFactory
from .stats import LinkStats
from .viewer import Viewer

__all__ = [
    "CONTROL",
    "MAX_MESSAGE_SIZE",
    "VIEW",
    "Channel",
    "ChatReceived",
    "ConsentCallback",
    "ConsentRequest",
    "CursorMoved",
    "Event",
    "FileReceived",
    "FrameDecoded",
    "Grant",
    "Host",
    "HostConfig",
    "LinkStats",
    "Permission",
    "PermissionChanged",
    "PointerState",
    "SessionEnded",
    "SharingChanged",
    "SourceFactory",
    "StatsUpdated",
    "Viewer",
    "allow",
    "channel_pair",
    "deny",
    "register_permission",
    "terminal_consent",
]
