"""The base of every session message and the limits shared by all of them.

Split from ``messages.py`` to keep files small; import messages from there.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from screencodec.errors import ProtocolError
from screencodec.transport.channel.base import MAX_MESSAGE_SIZE
from screencodec.transport.session._binary import Reader, Writer

__all__ = ["MAX_CHAT_BYTES", "MAX_FILE_CHUNK", "MAX_NAME_BYTES", "MessageBase", "coord"]

MAX_CHAT_BYTES = 4096
MAX_NAME_BYTES = 255
MAX_FILE_CHUNK = 256 * 1024
MAX_MONITORS = 64
MAX_UPDATE = MAX_MESSAGE_SIZE - 16
MAX_EXT_PAYLOAD = 1024 * 1024
MAX_COORD = 1 << 20  # no screen is a million pixels wide; beyond that is garbage

_M = TypeVar("_M", bound="MessageBase")


class MessageBase:
    KIND: ClassVar[int]

    def _pack(self, w: Writer) -> None:
        """Append the payload (nothing for field-less messages)."""

    @classmethod
    def _unpack(cls: type[_M], r: Reader) -> _M:
        return cls()


def coord(v: int) -> int:
    if not -MAX_COORD <= v <= MAX_COORD:
        raise ProtocolError(f"coordinate {v} out of range")
    return v
