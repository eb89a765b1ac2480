"""Remote-support sessions: the sealed transport and the session layer above it.

The shortest way in (see :mod:`.entry`)::

    async with share(listen=7390, consent=terminal_consent()) as session: ...
    async with view("HOST:7390", code=..., password=...) as viewer: ...
    async with Relay("0.0.0.0", 7390) as relay: await relay.serve_forever()

Session layer (this package's public face):

* :class:`Host` / :class:`HostConfig`: share a screen with consenting viewers;
* :class:`Viewer`: watch, ask for control, send input;
* permission levels (:data:`VIEW`, :data:`CONTROL`, :func:`register_permission`),
  the consent types (:class:`ConsentRequest`, :class:`Grant`) and helpers;
* :func:`channel_pair`: an in-memory :class:`Channel` pair for tests and
  in-process embedding.

* :func:`listen_direct` / :func:`connect_direct` and :func:`host_via_relay` /
  :func:`connect_via_relay`: sealed channels (SPAKE2, then AEAD records) that
  :meth:`Host.serve` and :class:`Viewer` run on; :class:`SessionCredentials`
  makes the code and one-time password, :class:`Timeouts` bounds every wait.

Every exception is in :mod:`screencodec.errors` (and at the package's top level).
"""

from __future__ import annotations

from screencodec.transport.channel.base import MAX_MESSAGE_SIZE, Channel
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.memory import channel_pair
from screencodec.transport.connect import (
    connect_direct,
    connect_via_relay,
    host_via_relay,
    listen_direct,
)
from screencodec.transport.entry import SharedScreen, first_picture, share, view
from screencodec.transport.input import RecordingInjector
from screencodec.transport.relay import Relay
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import (
    ConsentCallback,
    Questions,
    TerminalQuestions,
    allow,
    deny,
    terminal_consent,
)
from screencodec.transport.session.encoding import session_encoder
from screencodec.transport.session.events import (
    ChatDelivery,
    ChatReceived,
    CursorMoved,
    Event,
    EventsLost,
    FileReceived,
    FileRefused,
    FileSent,
    FrameDecoded,
    PasswordGuessed,
    PermissionChanged,
    RelayChanged,
    SessionEnded,
    SessionResumed,
    SharingChanged,
    StatsUpdated,
)
from screencodec.transport.session.host import Host
from screencodec.transport.session.permissions import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Permission,
    register_permission,
)
from screencodec.transport.session.pointer import PointerState
from screencodec.transport.session.refusal import Refusal
from screencodec.transport.session.screens import SourceFactory
from screencodec.transport.session.stats import LinkStats
from screencodec.transport.session.viewer import Viewer

__all__ = [
    "CONTROL",
    "MAX_MESSAGE_SIZE",
    "VIEW",
    "Channel",
    "ChatDelivery",
    "ChatReceived",
    "ConsentCallback",
    "ConsentRequest",
    "CursorMoved",
    "Event",
    "EventsLost",
    "FileReceived",
    "FileRefused",
    "FileSent",
    "FrameDecoded",
    "Grant",
    "Host",
    "HostConfig",
    "LinkStats",
    "PasswordGuessed",
    "Permission",
    "PermissionChanged",
    "PointerState",
    "Questions",
    "RecordingInjector",
    "Refusal",
    "Relay",
    "RelayChanged",
    "SessionCredentials",
    "SessionEnded",
    "SessionResumed",
    "SharedScreen",
    "SharingChanged",
    "SourceFactory",
    "StatsUpdated",
    "TerminalQuestions",
    "Timeouts",
    "Viewer",
    "allow",
    "channel_pair",
    "connect_direct",
    "connect_via_relay",
    "deny",
    "first_picture",
    "host_via_relay",
    "listen_direct",
    "register_permission",
    "safe_text",
    "session_encoder",
    "share",
    "terminal_consent",
    "view",
]
