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
from typing import ClassVar, TypeVar

from ..errors import ProtocolError
from ..geometry import Monitor
from ._wire import Reader, Writer
from .channel import MAX_MESSAGE_SIZE

__all__ = [
    "MAX_CHAT_BYTES",
    "MAX_FILE_CHUNK",
    "MAX_NAME_BYTES",
    "PROTOCOL_VERSION",
    "Ack",
    "Button",
    "Bye",
    "Chat",
    "Extension",
    "FileAccept",
    "FileChunk",
    "FileEnd",
    "FileOffer",
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
    "SelectMonitor",
    "Stats",
    "Update",
    "Wheel",
    "decode",
    "encode",
]

PROTOCOL_VERSION = 1
MAX_CHAT_BYTES = 4096
MAX_NAME_BYTES = 255
MAX_FILE_CHUNK = 256 * 1024
MAX_MONITORS = 64
_MAX_UPDATE = MAX_MESSAGE_SIZE - 16
_MAX_EXT_PAYLOAD = 1024 * 1024
_MAX_COORD = 1 << 20  # no screen is a million pixels wide; beyond that is garbage

_M = TypeVar("_M", bound="_Base")


class _Base:
    KIND: ClassVar[int]

    def _pack(self, w: Writer) -> None:
        """Append the payload (nothing for field-less messages)."""

    @classmethod
    def _unpack(cls: type[_M], r: Reader) -> _M:
        return cls()


@dataclass(frozen=True, slots=True)
class Update(_Base):
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
        if not data or len(data) > _MAX_UPDATE:
            raise ProtocolError(f"update of {len(data)} bytes")
        return cls(seq, data)


@dataclass(frozen=True, slots=True)
class Ack(_Base):
    """Cumulative: every update up to and including ``seq`` is decoded."""

    KIND: ClassVar[int] = 2
    seq: int

    def _pack(self, w: Writer) -> None:
        w.u32(self.seq)

    @classmethod
    def _unpack(cls, r: Reader) -> Ack:
        return cls(r.u32())


@dataclass(frozen=True, slots=True)
class KeyframeRequest(_Base):
    KIND: ClassVar[int] = 3


@dataclass(frozen=True, slots=True)
class PermissionRequest(_Base):
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
class PermissionGrant(_Base):
    """Host -> viewer: the full set of levels now granted."""

    KIND: ClassVar[int] = 5
    level: int

    def _pack(self, w: Writer) -> None:
        w.u64(self.level)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionGrant:
        return cls(r.u64())


@dataclass(frozen=True, slots=True)
class PermissionDeny(_Base):
    """Host -> viewer: the request for ``level`` was refused (or not answered)."""

    KIND: ClassVar[int] = 6
    level: int

    def _pack(self, w: Writer) -> None:
        w.u64(self.level)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionDeny:
        return cls(r.u64())


@dataclass(frozen=True, slots=True)
class PermissionRevoke(_Base):
    """Host -> viewer: ``revoked`` was taken back; ``level`` is what remains."""

    KIND: ClassVar[int] = 7
    revoked: int
    level: int

    def _pack(self, w: Writer) -> None:
        w.u64(self.revoked)
        w.u64(self.level)

    @classmethod
    def _unpack(cls, r: Reader) -> PermissionRevoke:
        return cls(r.u64(), r.u64())


def _coord(v: int) -> int:
    if not -_MAX_COORD <= v <= _MAX_COORD:
        raise ProtocolError(f"coordinate {v} out of range")
    return v


@dataclass(frozen=True, slots=True)
class PointerMove(_Base):
    """Pointer position in the pixels of the monitor the viewer is watching."""

    KIND: ClassVar[int] = 8
    x: int
    y: int

    def _pack(self, w: Writer) -> None:
        w.i32(self.x)
        w.i32(self.y)

    @classmethod
    def _unpack(cls, r: Reader) -> PointerMove:
        return cls(_coord(r.i32()), _coord(r.i32()))


@dataclass(frozen=True, slots=True)
class Button(_Base):
    """X button number (1 left, 2 middle, 3 right, 8/9 back/forward) down or up."""

    KIND: ClassVar[int] = 9
    button: int
    down: bool

    def _pack(self, w: Writer) -> None:
        w.u8(self.button)
        w.flag(self.down)

    @classmethod
    def _unpack(cls, r: Reader) -> Button:
        button = r.u8()
        if not 1 <= button <= 15:
            raise ProtocolError(f"button {button} out of range")
        return cls(button, r.flag())


@dataclass(frozen=True, slots=True)
class Wheel(_Base):
    """Scroll steps: positive ``dy`` scrolls down, positive ``dx`` right."""

    KIND: ClassVar[int] = 10
    dx: int
    dy: int

    def _pack(self, w: Writer) -> None:
        w.i16(self.dx)
        w.i16(self.dy)

    @classmethod
    def _unpack(cls, r: Reader) -> Wheel:
        dx, dy = r.i16(), r.i16()
        if abs(dx) > 100 or abs(dy) > 100:
            raise ProtocolError("wheel step out of range")
        return cls(dx, dy)


@dataclass(frozen=True, slots=True)
class Key(_Base):
    """An X keysym down or up, with the text it types (may be empty)."""

    KIND: ClassVar[int] = 11
    keysym: int
    down: bool
    text: str = ""

    def _pack(self, w: Writer) -> None:
        w.u32(self.keysym)
        w.flag(self.down)
        w.text(self.text, 64)

    @classmethod
    def _unpack(cls, r: Reader) -> Key:
        keysym = r.u32()
        if keysym > 0x1FFFFFFF:  # X keysyms are 29 bits
            raise ProtocolError(f"keysym {keysym:#x} out of range")
        return cls(keysym, r.flag(), r.text(64))


@dataclass(frozen=True, slots=True)
class MonitorList(_Base):
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
            index, left, top = r.u16(), _coord(r.i32()), _coord(r.i32())
            width, height = r.u32(), r.u32()
            if not (0 < width <= _MAX_COORD and 0 < height <= _MAX_COORD):
                raise ProtocolError("monitor size out of range")
            mons.append(Monitor(index, left, top, width, height, r.flag()))
        return cls(tuple(mons), r.u16())


@dataclass(frozen=True, slots=True)
class SelectMonitor(_Base):
    """Viewer -> host: show monitor ``index`` (0 = all monitors)."""

    KIND: ClassVar[int] = 13
    index: int

    def _pack(self, w: Writer) -> None:
        w.u16(self.index)

    @classmethod
    def _unpack(cls, r: Reader) -> SelectMonitor:
        return cls(r.u16())


@dataclass(frozen=True, slots=True)
class Chat(_Base):
    KIND: ClassVar[int] = 14
    text: str

    def _pack(self, w: Writer) -> None:
        w.text(self.text, MAX_CHAT_BYTES)

    @classmethod
    def _unpack(cls, r: Reader) -> Chat:
        return cls(r.text(MAX_CHAT_BYTES))


@dataclass(frozen=True, slots=True)
class FileOffer(_Base):
    """Sender proposes a file: receiver must answer with :class:`FileAccept`."""

    KIND: ClassVar[int] = 15
    transfer: int
    name: str
    size: int

    def _pack(self, w: Writer) -> None:
        w.u32(self.transfer)
        w.text(self.name, MAX_NAME_BYTES)
        w.u64(self.size)

    @classmethod
    def _unpack(cls, r: Reader) -> FileOffer:
        return cls(r.u32(), r.text(MAX_NAME_BYTES), r.u64())


@dataclass(frozen=True, slots=True)
class FileAccept(_Base):
    KIND: ClassVar[int] = 16
    transfer: int
    accepted: bool

    def _pack(self, w: Writer) -> None:
        w.u32(self.transfer)
        w.flag(self.accepted)

    @classmethod
    def _unpack(cls, r: Reader) -> FileAccept:
        return cls(r.u32(), r.flag())


@dataclass(frozen=True, slots=True)
class FileChunk(_Base):
    KIND: ClassVar[int] = 17
    transfer: int
    offset: int
    data: bytes

    def _pack(self, w: Writer) -> None:
        w.u32(self.transfer)
        w.u64(self.offset)
        w.blob(self.data, MAX_FILE_CHUNK)

    @classmethod
    def _unpack(cls, r: Reader) -> FileChunk:
        return cls(r.u32(), r.u64(), r.blob(MAX_FILE_CHUNK))


@dataclass(frozen=True, slots=True)
class FileEnd(_Base):
    """Sender is done; ``sha256`` lets the receiver check the whole file."""

    KIND: ClassVar[int] = 18
    transfer: int
    sha256: bytes

    def _pack(self, w: Writer) -> None:
        w.u32(self.transfer)
        if len(self.sha256) != 32:
            raise ValueError("sha256 must be 32 bytes")
        w.raw(self.sha256)

    @classmethod
    def _unpack(cls, r: Reader) -> FileEnd:
        return cls(r.u32(), r.raw(32))


@dataclass(frozen=True, slots=True)
class Extension(_Base):
    """A message for a registered extension channel (see ``channels.py``)."""

    KIND: ClassVar[int] = 19
    channel: str
    payload: bytes

    def _pack(self, w: Writer) -> None:
        w.text(self.channel, 64)
        w.blob(self.payload, _MAX_EXT_PAYLOAD)

    @classmethod
    def _unpack(cls, r: Reader) -> Extension:
        return cls(r.text(64), r.blob(_MAX_EXT_PAYLOAD))


@dataclass(frozen=True, slots=True)
class Stats(_Base):
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
class Notice(_Base):
    """Host -> viewer: something the agent should know (e.g. input dropped)."""

    KIND: ClassVar[int] = 21
    code: int
    text: str

    INPUT_DROPPED: ClassVar[int] = 1
    LOCAL_USER_ACTIVE: ClassVar[int] = 2
    UNKNOWN_MONITOR: ClassVar[int] = 3

    def _pack(self, w: Writer) -> None:
        w.u16(self.code)
        w.text(self.text, 1024)

    @classmethod
    def _unpack(cls, r: Reader) -> Notice:
        return cls(r.u16(), r.text(1024))


@dataclass(frozen=True, slots=True)
class Bye(_Base):
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
)  # fmt: skip

_KINDS: dict[int, type[_Base]] = {
    cls.KIND: cls
    for cls in (
        Update, Ack, KeyframeRequest, PermissionRequest, PermissionGrant, PermissionDeny,
        PermissionRevoke, PointerMove, Button, Wheel, Key, MonitorList, SelectMonitor, Chat,
        FileOffer, FileAccept, FileChunk, FileEnd, Extension, Stats, Notice, Bye,
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
