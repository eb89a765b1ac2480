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

Every exception is in :mod:`screencodec.errors` (and at the package's top level),
but the two the session layer's own sends raise, exported here:
:class:`ClipboardError` (a ``ValueError``: a clipboard text that cannot go)
and :class:`ChatBacklogError` (a ``RuntimeError``: too many chat lines not
yet acknowledged); both derive from :class:`~screencodec.errors.ScreencodecError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec._lazy import lazy_names

if TYPE_CHECKING:
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
    from screencodec.transport.session.chat import ChatBacklogError
    from screencodec.transport.session.clipboard import ClipboardError
    from screencodec.transport.session.config import HostConfig
    from screencodec.transport.session.consent import (
        ConsentCallback,
        Questions,
        allow,
        deny,
    )
    from screencodec.transport.session.encoding import session_encoder
    from screencodec.transport.session.events import (
        ChatDelivery,
        ChatReceived,
        ClipboardReceived,
        ClipboardRefused,
        ClipboardSent,
        ClipboardSet,
        CursorMoved,
        Event,
        EventsLost,
        FileCut,
        FileReceived,
        FileRefused,
        FileSent,
        FrameDecoded,
        PasswordGuessed,
        PermissionChanged,
        RelayChanged,
        SessionEnded,
        SessionRejoined,
        SessionResumed,
        SharingChanged,
        StatsUpdated,
        Subscription,
    )
    from screencodec.transport.session.extensions import ExtensionHandler
    from screencodec.transport.session.files.offers import (
        FileConsent,
        FileOfferInfo,
        safe_filename,
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
    from screencodec.transport.session.terminal_questions import (
        TerminalQuestions,
        terminal_consent,
    )
    from screencodec.transport.session.viewer import Viewer

#: Each public name, imported from its module on first use (PEP 562), as the
#: top-level package does: a module under ``screencodec.transport`` (the
#: display helpers a recording reads, the wire messages) loads without the
#: whole session layer, so ``screencodec recordings`` starts in half the time.
_LAZY = {
    "CONTROL": "screencodec.transport.session.permissions",
    "Channel": "screencodec.transport.channel.base",
    "ChatBacklogError": "screencodec.transport.session.chat",
    "ChatDelivery": "screencodec.transport.session.events",
    "ChatReceived": "screencodec.transport.session.events",
    "ClipboardError": "screencodec.transport.session.clipboard",
    "ClipboardReceived": "screencodec.transport.session.events",
    "ClipboardRefused": "screencodec.transport.session.events",
    "ClipboardSent": "screencodec.transport.session.events",
    "ClipboardSet": "screencodec.transport.session.events",
    "ConsentCallback": "screencodec.transport.session.consent",
    "ConsentRequest": "screencodec.transport.session.permissions",
    "CursorMoved": "screencodec.transport.session.events",
    "Event": "screencodec.transport.session.events",
    "EventsLost": "screencodec.transport.session.events",
    "ExtensionHandler": "screencodec.transport.session.extensions",
    "FileConsent": "screencodec.transport.session.files.offers",
    "FileCut": "screencodec.transport.session.events",
    "FileOfferInfo": "screencodec.transport.session.files.offers",
    "FileReceived": "screencodec.transport.session.events",
    "FileRefused": "screencodec.transport.session.events",
    "FileSent": "screencodec.transport.session.events",
    "FrameDecoded": "screencodec.transport.session.events",
    "Grant": "screencodec.transport.session.permissions",
    "Host": "screencodec.transport.session.host",
    "HostConfig": "screencodec.transport.session.config",
    "LinkStats": "screencodec.transport.session.stats",
    "MAX_MESSAGE_SIZE": "screencodec.transport.channel.base",
    "PasswordGuessed": "screencodec.transport.session.events",
    "Permission": "screencodec.transport.session.permissions",
    "PermissionChanged": "screencodec.transport.session.events",
    "PointerState": "screencodec.transport.session.pointer",
    "Questions": "screencodec.transport.session.consent",
    "RecordingInjector": "screencodec.transport.input",
    "Refusal": "screencodec.transport.session.refusal",
    "Relay": "screencodec.transport.relay",
    "RelayChanged": "screencodec.transport.session.events",
    "SessionCredentials": "screencodec.transport.channel.codes",
    "SessionEnded": "screencodec.transport.session.events",
    "SessionRejoined": "screencodec.transport.session.events",
    "SessionResumed": "screencodec.transport.session.events",
    "SharedScreen": "screencodec.transport.entry",
    "SharingChanged": "screencodec.transport.session.events",
    "SourceFactory": "screencodec.transport.session.screens",
    "StatsUpdated": "screencodec.transport.session.events",
    "Subscription": "screencodec.transport.session.events",
    "TerminalQuestions": "screencodec.transport.session.terminal_questions",
    "Timeouts": "screencodec.transport.channel.limits",
    "VIEW": "screencodec.transport.session.permissions",
    "Viewer": "screencodec.transport.session.viewer",
    "allow": "screencodec.transport.session.consent",
    "channel_pair": "screencodec.transport.channel.memory",
    "connect_direct": "screencodec.transport.connect",
    "connect_via_relay": "screencodec.transport.connect",
    "deny": "screencodec.transport.session.consent",
    "first_picture": "screencodec.transport.entry",
    "host_via_relay": "screencodec.transport.connect",
    "listen_direct": "screencodec.transport.connect",
    "register_permission": "screencodec.transport.session.permissions",
    "safe_filename": "screencodec.transport.session.files.offers",
    "safe_text": "screencodec.transport.channel.display",
    "session_encoder": "screencodec.transport.session.encoding",
    "share": "screencodec.transport.entry",
    "terminal_consent": "screencodec.transport.session.terminal_questions",
    "view": "screencodec.transport.entry",
}


if not TYPE_CHECKING:  # mypy reads the imports above (_lazy)
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "CONTROL",
    "MAX_MESSAGE_SIZE",
    "VIEW",
    "Channel",
    "ChatBacklogError",
    "ChatDelivery",
    "ChatReceived",
    "ClipboardError",
    "ClipboardReceived",
    "ClipboardRefused",
    "ClipboardSent",
    "ClipboardSet",
    "ConsentCallback",
    "ConsentRequest",
    "CursorMoved",
    "Event",
    "EventsLost",
    "ExtensionHandler",
    "FileConsent",
    "FileCut",
    "FileOfferInfo",
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
    "SessionRejoined",
    "SessionResumed",
    "SharedScreen",
    "SharingChanged",
    "SourceFactory",
    "StatsUpdated",
    "Subscription",
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
    "safe_filename",
    "safe_text",
    "session_encoder",
    "share",
    "terminal_consent",
    "view",
]
