"""The session messages carried inside a :class:`~.channel.Channel`.

Layout of every message: ``version u8 | kind u8 | payload``, big-endian, no
padding. :func:`decode` validates the version, the kind, every length (before
any copy) and every field range, and rejects trailing bytes; any violation
raises :class:`~screencodec.errors.ProtocolError` and the session ends.

Forward compatibility: an unknown *kind* or *version* is a ProtocolError (the
peers agree on version 1 at the handshake, so an unknown kind is a bug or an
attack). Forward compatibility lives one level up instead: :class:`Extension`
messages naming a channel the receiver has not registered are dropped and
counted, and permission bits the receiver does not know are refused, not fatal.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from screencodec.errors import ProtocolError
from screencodec.geometry import Monitor
from screencodec.transport.channel.base import MAX_MESSAGE_SIZE
from screencodec.transport.session._binary import Reader, Writer
from screencodec.transport.session._msgbase import (
    MAX_CHAT_BYTES,
    MAX_COORD,
    MAX_FILE_CHUNK,
    MAX_MONITORS,
    MAX_NAME_BYTES,
    MAX_UPDATE,
    MessageBase,
    coord,
)
from screencodec.transport.session._msginput import Button, Key, PointerMove, Wheel
from screencodec.transport.session._msglink import (
    Capabilities,
    CompactReceipt,
    CompactUpdate,
    CompactUpdateRefs,
    Receipt,
)
from screencodec.transport.session._msgside import (
    MAX_CURSOR_BYTES,
    Chat,
    Cursor,
    Extension,
    FileAccept,
    FileChunk,
    FileEnd,
    FileOffer,
    FileResult,
)

__all__ = [
    "MAX_CHAT_BYTES",
    "MAX_CURSOR_BYTES",
    "MAX_FILE_CHUNK",
    "MAX_NAME_BYTES",
    "PROTOCOL_VERSION",
    "Ack",
    "Button",
    "Bye",
    "Capabilities",
    "Chat",
    "CompactReceipt",
    "CompactUpdate",
    "CompactUpdateRefs",
    "Cursor",
    "Extension",
    "FileAccept",
    "FileChunk",
    "FileEnd",
    "FileOffer",
    "FileResult",
    "Key",
    "KeyframeRequest",
    "Message",
    "MonitorList",
    "Notice",
    "PermissionDeny",
    "PermissionGrant",
    "PermissionRequest",
    "PermissionRevoke",
    "PointerMove",
    "Receipt",
    "SelectMonitor",
    "Stats",
    "Update",
    "Wheel",
    "decode",
    "encode",
]

PROTOCOL_VERSION = 1


@dataclass(frozen=True, slots=True)
class Update(MessageBase):
    """One encoder update (opaque bytes) with the host's sequence number."""

    KIND: ClassVar[int] = 1
    seq: int
    data: bytes

    def _pack(self, w: Writer) -> None:
        w.u32(self.seq)
        w.raw(self.data)  # the rest of the message: no length needed

    @classmethod
    def _unpack(cls, r: Reader) -> Update:
        seq = r.u32()
        data = r.rest()
        if not data or len(data) > MAX_UPDATE:
            raise ProtocolError(f"update of {len(data)} bytes")
        return cls(seq, data)


@dataclass(frozen=True, slots=True)
class Ack(MessageBase):
    """Cumulative: every update up to and including ``seq`` is decoded."""

    KIND: ClassVar[int] = 2
    seq: int

    def _pack(self, w: Writer) -> None:
        w.u32(self.seq)

    @classmethod
    def _unpack(cls, r: Reader) -> Ack:
        return cls(r.u32())


@dataclass(frozen=True, slots=True)
class KeyframeRequest(MessageBase):
    """Viewer -> host: send a whole picture next."""

    KIND: ClassVar[int] = 3


@dataclass(frozen=True, slots=True)
class PermissionRequest(MessageBase):
    """Viewer -> host: please grant ``level`` (flag bits); ``who`` names the agent."""

    KIND: ClassVar[int] = 4
    level: int
    who: str

    def _pack(self, w: Writer) -> None:
        w.u64(self.level)
        w.text(self.who, MAX_NAME_BYTES)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionRequest:
        return cls(r.u64(), r.text(MAX_NAME_BYTES))


@dataclass(frozen=True, slots=True)
class PermissionGrant(MessageBase):
    """Host -> viewer: the full set of levels now granted."""

    KIND: ClassVar[int] = 5
    level: int

    def _pack(self, w: Writer) -> None:
        w.u64(self.level)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionGrant:
        return cls(r.u64())


@dataclass(frozen=True, slots=True)
class PermissionDeny(MessageBase):
    """Host -> viewer: the request for ``level`` was refused (or not answered)."""

    KIND: ClassVar[int] = 6
    level: int

    def _pack(self, w: Writer) -> None:
        w.u64(self.level)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionDeny:
        return cls(r.u64())


@dataclass(frozen=True, slots=True)
class PermissionRevoke(MessageBase):
    """Host -> viewer: ``revoked`` was taken back; ``level`` is what remains.
    Viewer -> host: the viewer gives ``revoked`` back (not VIEW: leaving is
    ``Bye``); ``level`` is ignored. The host answers with its own."""

    KIND: ClassVar[int] = 7
    revoked: int
    level: int

    def _pack(self, w: Writer) -> None:
        w.u64(self.revoked)
        w.u64(self.level)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionRevoke:
        return cls(r.u64(), r.u64())


@dataclass(frozen=True, slots=True)
class MonitorList(MessageBase):
    """Host -> viewer: the screens on offer (index 0 = all) and the one shown."""

    KIND: ClassVar[int] = 12
    monitors: tuple[Monitor, ...]
    current: int

    def _pack(self, w: Writer) -> None:
        w.u16(len(self.monitors))
        for m in self.monitors:
            w.u16(m.index)
            w.i32(m.left)
            w.i32(m.top)
            w.u32(m.width)
            w.u32(m.height)
            w.flag(m.primary)
        w.u16(self.current)

    @classmethod
    def _unpack(cls, r: Reader) -> MonitorList:
        count = r.u16()
        if count > MAX_MONITORS:
            raise ProtocolError(f"{count} monitors")
        mons = []
        for _ in range(count):
            index, left, top = r.u16(), coord(r.i32()), coord(r.i32())
            width, height = r.u32(), r.u32()
            if not (0 < width <= MAX_COORD and 0 < height <= MAX_COORD):
                raise ProtocolError("monitor size out of range")
            mons.append(Monitor(index, left, top, width, height, r.flag()))
        return cls(tuple(mons), r.u16())


@dataclass(frozen=True, slots=True)
class SelectMonitor(MessageBase):
    """Viewer -> host: show monitor ``index`` (0 = all monitors)."""

    KIND: ClassVar[int] = 13
    index: int

    def _pack(self, w: Writer) -> None:
        w.u16(self.index)

    @classmethod
    def _unpack(cls, r: Reader) -> SelectMonitor:
        return cls(r.u16())


@dataclass(frozen=True, slots=True)
class Stats(MessageBase):
    """Host -> viewer once a second: what the link achieves (rates in milli-units)."""

    KIND: ClassVar[int] = 20
    fps_milli: int
    kbps: int
    rtt_us: int
    skipped: int
    sent: int

    def _pack(self, w: Writer) -> None:
        for v in (self.fps_milli, self.kbps, self.rtt_us, self.skipped, self.sent):
            w.u32(v)

    @classmethod
    def _unpack(cls, r: Reader) -> Stats:
        return cls(r.u32(), r.u32(), r.u32(), r.u32(), r.u32())


@dataclass(frozen=True, slots=True)
class Notice(MessageBase):
    """Host -> viewer: something the agent should know (e.g. input dropped).

    Two codes explain a refusal the local user was not asked about (the text
    says why); a refusal with neither is the local user's own. Each comes
    right before the ``PermissionDeny`` it explains, or, when it explains why
    the first ``PermissionGrant`` lacks ``CONTROL``, right after that grant
    and before the ``MonitorList``. :data:`HOST_FAILED` comes right before
    the ``Bye`` it explains, and only to a viewer that declared
    ``Capabilities.BYE_NOTICES``; :data:`TAKES_NO_FILES` only to one that
    declared ``Capabilities.FILE_NOTICES``. Viewers that know no code just
    show it.
    """

    KIND: ClassVar[int] = 21
    code: int
    text: str

    INPUT_DROPPED: ClassVar[int] = 1
    LOCAL_USER_ACTIVE: ClassVar[int] = 2
    UNKNOWN_MONITOR: ClassVar[int] = 3
    #: This host cannot grant CONTROL (it cannot inject input, or it shares
    #: for viewing only): asking again will not help.
    CONTROL_UNAVAILABLE: ClassVar[int] = 4
    #: Refused without asking, for now: the local user refused the same a
    #: moment ago, too many questions wait, or the level is one the host does not know.
    NOT_ASKED: ClassVar[int] = 5
    #: The ``Bye`` right after it ends the session because the host's
    #: program failed (its screen could not be opened, a bug there): an
    #: error on the host's side, whatever the Bye's words (odds40).
    HOST_FAILED: ClassVar[int] = 6
    #: This host takes no files (no download folder, or no one to ask):
    #: every file offered is refused unasked. Sent once per join, after
    #: its clipboard hello, only to a viewer that declared
    #: ``Capabilities.FILE_NOTICES`` (files41: a first offer said its user
    #: would be asked). Its text is only shown; the code says it.
    TAKES_NO_FILES: ClassVar[int] = 7
    #: The host let go of the keys and buttons this agent held down: nothing
    #: came from it for a few seconds (its link went silent, input44). Sent
    #: when it happens; the agent reads it once its link comes back.
    HELD_RELEASED: ClassVar[int] = 8
    #: How much of this agent's input the host has ignored on this link
    #: (its user's own mouse or keyboard, no control): the text is the
    #: counts, decimal (words45): keys, pointer moves, clicks and scrolls,
    #: space-separated, to a viewer that declared ``Capabilities.INPUT_COUNTS``,
    #: else the keys alone (input46). Only to a viewer that declared
    #: ``Capabilities.KEY_COUNTS``; at once, then at most every
    #: ``input_gate.COUNT_EVERY`` s.
    KEYS_IGNORED: ClassVar[int] = 9

    def _pack(self, w: Writer) -> None:
        w.u16(self.code)
        w.text(self.text, 1024)

    @classmethod
    def _unpack(cls, r: Reader) -> Notice:
        return cls(r.u16(), r.text(1024))


@dataclass(frozen=True, slots=True)
class Bye(MessageBase):
    """Either side: the session ends, for ``reason``."""

    KIND: ClassVar[int] = 22
    reason: str = ""

    def _pack(self, w: Writer) -> None:
        w.text(self.reason, 1024)

    @classmethod
    def _unpack(cls, r: Reader) -> Bye:
        return cls(r.text(1024))


Message = (
    Update | Ack | KeyframeRequest | PermissionRequest | PermissionGrant | PermissionDeny
    | PermissionRevoke | PointerMove | Button | Wheel | Key | MonitorList | SelectMonitor
    | Chat | FileOffer | FileAccept | FileChunk | FileEnd | Extension | Stats | Notice | Bye
    | Cursor | Capabilities | Receipt | CompactUpdate | CompactReceipt | CompactUpdateRefs
    | FileResult
)  # fmt: skip

_KINDS: dict[int, type[MessageBase]] = {
    cls.KIND: cls
    for cls in (
        Update, Ack, KeyframeRequest, PermissionRequest, PermissionGrant, PermissionDeny,
        PermissionRevoke, PointerMove, Button, Wheel, Key, MonitorList, SelectMonitor, Chat,
        FileOffer, FileAccept, FileChunk, FileEnd, Extension, Stats, Notice, Bye, Cursor,
        Capabilities, Receipt, CompactUpdate, CompactReceipt, CompactUpdateRefs, FileResult,
    )
}  # fmt: skip


def encode(message: Message) -> bytes:
    """Serialise ``message``; raises ValueError if a field is out of range."""
    w = Writer()
    w.u8(PROTOCOL_VERSION)
    w.u8(message.KIND)
    try:
        message._pack(w)
    except struct.error as exc:
        raise ValueError(f"{type(message).__name__}: {exc}") from exc
    return w.getvalue()


def decode(data: bytes) -> Message:
    """Parse one message; raises ProtocolError on anything malformed."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise ProtocolError(f"message of {len(data)} bytes is too large")
    if len(data) < 2:
        raise ProtocolError("message shorter than its header")
    if data[0] != PROTOCOL_VERSION:
        raise ProtocolError(f"unknown protocol version {data[0]}")
    cls = _KINDS.get(data[1])
    if cls is None:
        raise ProtocolError(f"unknown message kind {data[1]}")
    r = Reader(bytes(data), 2)
    msg = cls._unpack(r)
    r.finish()
    return msg  # type: ignore[return-value]
