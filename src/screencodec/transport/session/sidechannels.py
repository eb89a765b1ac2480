"""Side channels beside the screen: extension channels an application adds
(:mod:`.extensions`), and file transfer (:mod:`.files`; chat is a plain
:class:`~.messages.Chat` message handled by host and viewer).

This module hands on the public names of both, where the session and
applications import them from, and dispatches what the peer says on the
reserved file channel (:func:`file_channel`). File transfer, briefly
(docs/transport.md, "Files"): an offer is put to the receiving user
(:mod:`.files.offers`); a file said yes to is written under a temporary
name and put under its own name only when whole and checked
(:mod:`.files.receiver`, :mod:`.files.names`), the waits on the disk on the
receiver's disk thread (:mod:`.files.disk`); its sender learns what became
of it (:mod:`.files.sender`, :mod:`.files.wire`).
"""

from __future__ import annotations

from screencodec.errors import ProtocolError
from screencodec.transport.session.extensions import (
    RESERVED_PREFIX,
    ExtensionHandler,
    ExtensionRegistry,
    application_channel,
)
from screencodec.transport.session.files.disk import write_all
from screencodec.transport.session.files.offers import (
    FileConsent,
    FileOfferInfo,
    OfferDeadline,
    safe_filename,
)
from screencodec.transport.session.files.receiver import FileReceiver
from screencodec.transport.session.files.sender import FileSender
from screencodec.transport.session.files.wire import (
    ANNOUNCE,
    BEFORE_AN_ANSWER,
    BUSY,
    CUT_SHORT,
    EXPIRED,
    FILE_RESULTS_CHANNEL,
    MAX_OFFERS,
    MAX_PENDING_OFFERS,
    MAX_SAVED_AS,
    NO_FILES,
    NOT_READ,
    NOT_SAVED,
    OFFER_TIMEOUT,
    OVER_TOTAL,
    PACED,
    PROGRESS,
    REASONS,
    REFUSED,
    REFUSED_UNASKED,
    RESULT_WHY,
    SAVED_AS,
    STOPPED,
    STOPPED_HERE,
    STOPPED_THERE_WHY,
    TOO_LARGE,
    UNREAD,
    USER_SAID_NO,
    WITHDRAW,
    WITHDRAW_WHY,
    WITHDRAWN,
    WITHDRAWN_OTHER,
    WITHDRAWN_STOPPED,
    WITHDRAWN_UNREAD,
    file_progress,
    file_refusal,
    file_results_announcement,
    file_withdrawal,
    refusal_words,
)

__all__ = [
    "BEFORE_AN_ANSWER",
    "BUSY",
    "CUT_SHORT",
    "EXPIRED",
    "FILE_RESULTS_CHANNEL",
    "MAX_OFFERS",
    "MAX_PENDING_OFFERS",
    "NOT_READ",
    "NOT_SAVED",
    "NO_FILES",
    "OFFER_TIMEOUT",
    "OVER_TOTAL",
    "REFUSED_UNASKED",
    "RESERVED_PREFIX",
    "STOPPED",
    "STOPPED_HERE",
    "STOPPED_THERE_WHY",
    "TOO_LARGE",
    "UNREAD",
    "USER_SAID_NO",
    "WITHDRAWN",
    "WITHDRAWN_OTHER",
    "WITHDRAWN_STOPPED",
    "WITHDRAWN_UNREAD",
    "ExtensionHandler",
    "ExtensionRegistry",
    "FileConsent",
    "FileOfferInfo",
    "FileReceiver",
    "FileSender",
    "OfferDeadline",
    "application_channel",
    "file_channel",
    "file_progress",
    "file_refusal",
    "file_results_announcement",
    "file_withdrawal",
    "refusal_words",
    "safe_filename",
    "write_all",
]


def file_channel(receiver: FileReceiver, sender: FileSender, payload: bytes) -> None:
    """A message from the peer on :data:`FILE_RESULTS_CHANNEL`: its
    announcement (it sends and takes FileResult), or an offer of its given
    up, or withdrawn for a reason (a code of a later version reads as the
    sender having withdrawn it), how far it got with a file of this side's,
    or why it refuses one without asking its user, or why the FileResult
    that follows says "not saved" (a reason code). Another first byte is a
    later version's: ignored."""
    if payload[:1] == bytes([WITHDRAW]):
        if len(payload) != 5:
            raise ProtocolError("malformed file offer withdrawal")
        receiver.withdraw(int.from_bytes(payload[1:], "big"))
    elif payload[:1] == bytes([WITHDRAW_WHY]):
        if len(payload) != 6:
            raise ProtocolError("malformed file offer withdrawal")
        why = REASONS.get(payload[5], WITHDRAWN_OTHER)
        receiver.withdraw(int.from_bytes(payload[1:5], "big"), why)
    elif payload[:1] == bytes([PROGRESS]):
        if len(payload) != 13:
            raise ProtocolError("malformed file progress")
        sender.on_progress(int.from_bytes(payload[1:5], "big"), int.from_bytes(payload[5:], "big"))
    elif payload[:1] == bytes([REFUSED]):
        if len(payload) != 14:
            raise ProtocolError("malformed file refusal")
        why = refusal_words(payload[5], int.from_bytes(payload[6:], "big"))
        sender.on_refusal(int.from_bytes(payload[1:5], "big"), why, payload[5])
    elif payload[:1] == bytes([RESULT_WHY]):
        if len(payload) != 6:
            raise ProtocolError("malformed file result reason")
        sender.on_result_reason(int.from_bytes(payload[1:5], "big"), payload[5])
    elif payload[:1] == bytes([SAVED_AS]):
        if len(payload) < 5:
            raise ProtocolError("malformed file saved-as name")
        name = payload[5 : 5 + MAX_SAVED_AS].decode("utf-8", "replace")
        sender.on_saved_as(int.from_bytes(payload[1:5], "big"), name)
    elif payload[:1] == bytes([ANNOUNCE]):
        receiver.reports = sender.peer_reports = True
        # Flags came with paced files (the version before sent none).
        if len(payload) > 1 and payload[1] & PACED:
            receiver.confirms = True
            sender.pace()
