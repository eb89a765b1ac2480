"""Side-channel messages: chat, file transfer, extensions (re-exported by ``messages.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from screencodec.errors import ProtocolError
from screencodec.transport.session._binary import Reader, Writer
from screencodec.transport.session._msgbase import (
    MAX_CHAT_BYTES,
    MAX_EXT_PAYLOAD,
    MAX_FILE_CHUNK,
    MAX_NAME_BYTES,
    MessageBase,
)

__all__ = [
    "MAX_CURSOR_BYTES",
    "MAX_RESULT_REASON",
    "Chat",
    "Cursor",
    "Extension",
    "FileAccept",
    "FileChunk",
    "FileEnd",
    "FileOffer",
    "FileResult",
]  # fmt: skip

#: Bytes of a FileResult's reason (a short phrase such as "No space left on device").
MAX_RESULT_REASON = 255

#: A codec cursor message: a 256 x 256 BGRA shape plus headers, with room to spare.
MAX_CURSOR_BYTES = 256 * 256 * 4 + 1024


@dataclass(frozen=True, slots=True)
class Cursor(MessageBase):
    """Host -> viewer: one codec CURSOR_SHAPE or CURSOR_POSITION message (opaque
    here). Not sequenced, not acked: it bypasses the pixels' flow control."""

    KIND: ClassVar[int] = 23
    data: bytes

    def _pack(self, w: Writer) -> None:
        w.raw(self.data)  # the rest of the message

    @classmethod
    def _unpack(cls, r: Reader) -> Cursor:
        data = r.rest()
        if not data or len(data) > MAX_CURSOR_BYTES:
            raise ProtocolError(f"cursor message of {len(data)} bytes")
        return cls(data)


@dataclass(frozen=True, slots=True)
class Chat(MessageBase):
    """Either side: one chat line."""

    KIND: ClassVar[int] = 14
    text: str

    def _pack(self, w: Writer) -> None:
        w.text(self.text, MAX_CHAT_BYTES)

    @classmethod
    def _unpack(cls, r: Reader) -> Chat:
        return cls(r.text(MAX_CHAT_BYTES))


@dataclass(frozen=True, slots=True)
class FileOffer(MessageBase):
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
class FileAccept(MessageBase):
    """Receiver -> sender: the answer to :class:`FileOffer` ``transfer``."""

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
class FileChunk(MessageBase):
    """Sender -> receiver: ``data`` of file ``transfer`` at byte ``offset``."""

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
class FileEnd(MessageBase):
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
class FileResult(MessageBase):
    """Receiver -> sender: what became of an accepted transfer, ``saved``
    or not (``reason`` says why in a few words; empty when saved). Sent only
    to a peer that announced it takes them (docs/transport.md, "File
    results"): an older peer refuses an unknown kind."""

    KIND: ClassVar[int] = 29
    transfer: int
    saved: bool
    reason: str = ""

    def _pack(self, w: Writer) -> None:
        w.u32(self.transfer)
        w.flag(self.saved)
        w.text(self.reason, MAX_RESULT_REASON)

    @classmethod
    def _unpack(cls, r: Reader) -> FileResult:
        return cls(r.u32(), r.flag(), r.text(MAX_RESULT_REASON))


@dataclass(frozen=True, slots=True)
class Extension(MessageBase):
    """A message for a registered extension channel (see ``channels.py``)."""

    KIND: ClassVar[int] = 19
    channel: str
    payload: bytes

    def _pack(self, w: Writer) -> None:
        w.text(self.channel, 64)
        w.blob(self.payload, MAX_EXT_PAYLOAD)

    @classmethod
    def _unpack(cls, r: Reader) -> Extension:
        return cls(r.text(64), r.blob(MAX_EXT_PAYLOAD))
